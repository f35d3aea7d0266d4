"""What every PyInstaller build of Punchclock declares: imports, data, exclusions.

The three spec files (``punchclock-linux.spec``, ``punchclock-windows.spec``,
``punchclock-macos.spec``) import this module and differ only in packaging.
Each hidden import and data file carries the reason PyInstaller's import
analysis cannot find it on its own. Nothing here runs at import time beyond
building lists; PyInstaller's helpers are called from :func:`analysis_options`.

The self-test (``punchclock --self-test``, agent/selftest.py) loads every
part listed here from the frozen program, so a missing declaration shows up
in CI as a failed line rather than on a worker's machine.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENTRY = ROOT / "build_scripts" / "punchclock_entry.py"
APP_NAME = "punchclock"
DISPLAY_NAME = "Punchclock"
BUNDLE_ID = "org.punchclock.Punchclock"
APP_ICON_SVG = ROOT / "resources" / "icons" / "running.svg"


def version() -> str:
    """The project's version, from pyproject.toml (one source of truth)."""
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def version_tuple() -> tuple[int, int, int, int]:
    """``version()`` as four integers, as Windows version resources want it."""
    numbers = [int(n) for n in re.findall(r"\d+", version())[:4]]
    return (*numbers, 0, 0, 0, 0)[:4]  # type: ignore[return-value]


# Hidden imports: modules imported by name at run time.

COMMON_HIDDEN = [
    # Migrations are plain files that Alembic executes at run time
    # (agent/store/migrations is shipped as data); what they and env.py
    # import is invisible to the analysis. alembic.op and alembic.context are
    # proxy modules filled in when a migration runs.
    "alembic.op",
    "alembic.context",
    "alembic.runtime.environment",
    "alembic.runtime.migration",
    "alembic.script",
    "alembic.ddl.sqlite",
    "agent.store.models",
    # create_engine("sqlite://") finds its dialect through SQLAlchemy's
    # registry by name; only SQLite is used on the desktop.
    "sqlalchemy.dialects.sqlite",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "sqlalchemy.sql.default_comparator",
    # APScheduler 3 resolves "interval", "date", the thread-pool executor and
    # the memory job store through entry points (the metadata is copied
    # below); the modules themselves are loaded by name.
    "apscheduler.triggers.interval",
    "apscheduler.triggers.date",
    "apscheduler.triggers.cron",
    "apscheduler.executors.pool",
    "apscheduler.jobstores.memory",
    # Capture back ends: the factories import the one for the running desktop
    # only when it is chosen (capture/*/__init__.py).
    "capture.focus.null",
    "capture.input.listener",
    "capture.input.null",
    # Only ever named in importlib.resources.files("resources"): without the
    # package itself its data folder would import as a namespace package,
    # whose MultiplexedPath.joinpath() takes one name on Python 3.11.
    "resources",
    # The tray app is imported inside agent.cli's handler, not at the top.
    "ui.app",
    # The self-test imports its parts lazily so that one missing part fails
    # one line, not the whole program.
    "agent.selftest",
    "agent.runner",
    "sync.service",
    "sync.tokens",
    # The keyring picks its back end through entry points at run time.
    "keyring.backends.chainer",
    "keyring.backends.fail",
    "keyring.backends.null",
    # Time zones come from the tzdata package where the OS has no database
    # (Windows, and trimmed containers); zoneinfo opens them as resources.
    "tzdata",
    # mss chooses its implementation by platform when a grabber is made.
    "mss.factory",
]

LINUX_HIDDEN = [
    # pynput picks its back end when first imported, by trying X, then
    # uinput. PyInstaller's pynput hook imports pynput to list them, which
    # needs an X display: without one the X back ends are silently left out
    # (shared/TESTING.md), so they are named here.
    "pynput.keyboard._xorg",
    "pynput.mouse._xorg",
    "pynput._util.xorg",
    "pynput._util.xorg_keysyms",
    "pynput.keyboard._uinput",
    "pynput._util.uinput",
    # python-xlib loads its extensions (screen saver for idle, XTEST and
    # RECORD for pynput), connection code and keysym tables by name.
    "Xlib.ext.screensaver",
    "Xlib.ext.xtest",
    "Xlib.ext.record",
    "Xlib.ext.randr",
    "Xlib.ext.xfixes",
    "Xlib.support.unix_connect",
    "Xlib.keysymdef.latin1",
    "Xlib.keysymdef.miscellany",
    "Xlib.keysymdef.xkb",
    # X11, Wayland (D-Bus through jeepney) focus and idle back ends.
    "capture.focus.x11",
    "capture.focus.wayland",
    "capture.idle.x11",
    "capture.idle.wayland",
    "jeepney.io.blocking",
    "jeepney.bus_messages",
    # mss's X11 implementations; the default one (XShmGetImage) falls back
    # to XGetImage where shared memory is refused.
    "mss.linux",
    "mss.linux.xshmgetimage",
    "mss.linux.xgetimage",
    "mss.linux.xlib",
    # The Secret Service keyring (GNOME Keyring, KWallet's bridge).
    "keyring.backends.SecretService",
    "secretstorage",
]

WINDOWS_HIDDEN = [
    "pynput.keyboard._win32",
    "pynput.mouse._win32",
    "pynput._util.win32",
    "pynput._util.win32_vks",
    "capture.focus.windows",
    "capture.idle.windows",
    "mss.windows",
    "mss.windows.gdi",
    # The Windows Credential Locker back end and the ctypes layer it uses.
    "keyring.backends.Windows",
    "win32ctypes.core",
    "win32ctypes.pywin32.win32cred",
]

MACOS_HIDDEN = [
    "pynput.keyboard._darwin",
    "pynput.mouse._darwin",
    "pynput._util.darwin",
    "pynput._util.darwin_vks",
    "capture.focus.macos",
    "capture.idle.macos",
    # capture.focus.macos loads these pyobjc frameworks with importlib.
    "AppKit",
    "ApplicationServices",
    "CoreFoundation",
    "Foundation",
    "Quartz",
    "mss.darwin",
    "keyring.backends.macOS",
]

# Never part of the desktop app: the reference server and its stack (it
# lives in sync/server, installed with the `server` extra), test and build
# tools, GUI toolkits and Qt modules the app does not use.
EXCLUDES = [
    "sync.server",
    "fastapi",
    "starlette",
    "uvicorn",
    "pydantic",
    "pydantic_core",
    "psycopg",
    "psycopg_binary",
    "psycopg2",
    "pytest",
    "pytestqt",
    "_pytest",
    "mypy",
    "ruff",
    "alembic.testing",
    "sqlalchemy.testing",
    "tkinter",
    "IPython",
    # APScheduler's integrations with event loops and stores not used.
    "apscheduler.schedulers.qt",
    "apscheduler.schedulers.tornado",
    "apscheduler.schedulers.twisted",
    "apscheduler.schedulers.gevent",
    "apscheduler.executors.tornado",
    "apscheduler.executors.twisted",
    "apscheduler.executors.gevent",
    "apscheduler.jobstores.mongodb",
    "apscheduler.jobstores.redis",
    "apscheduler.jobstores.rethinkdb",
    "apscheduler.jobstores.zookeeper",
    "apscheduler.jobstores.sqlalchemy",
    "tornado",
    "twisted",
    "gevent",
]

# The app uses QtCore, QtGui, QtWidgets, QtSvg (tray icons) and QtNetwork
# (the single-instance socket); everything else PySide6 ships stays out.
QT_USED = {"QtCore", "QtGui", "QtWidgets", "QtSvg", "QtNetwork", "QtDBus"}
QT_MODULES = [
    "Qt3DAnimation", "Qt3DCore", "Qt3DExtras", "Qt3DInput", "Qt3DLogic",
    "Qt3DRender", "QtBluetooth", "QtCharts", "QtConcurrent",
    "QtDataVisualization", "QtDesigner", "QtGraphs", "QtGraphsWidgets",
    "QtHelp", "QtHttpServer", "QtLocation", "QtMultimedia",
    "QtMultimediaWidgets", "QtNetworkAuth", "QtNfc", "QtOpenGL",
    "QtOpenGLWidgets", "QtPdf", "QtPdfWidgets", "QtPositioning",
    "QtPrintSupport", "QtQml", "QtQuick", "QtQuick3D", "QtQuickControls2",
    "QtQuickTest", "QtQuickWidgets", "QtRemoteObjects", "QtScxml",
    "QtSensors", "QtSerialBus", "QtSerialPort", "QtSpatialAudio", "QtSql",
    "QtStateMachine", "QtSvgWidgets", "QtTest", "QtTextToSpeech",
    "QtUiTools", "QtWebChannel", "QtWebEngineCore", "QtWebEngineQuick",
    "QtWebEngineWidgets", "QtWebSockets", "QtWebView", "QtXml",
]  # fmt: skip
EXCLUDES += [f"PySide6.{name}" for name in QT_MODULES if name not in QT_USED]

# Qt plugin folders the app needs; the PySide6 hooks collect every plugin of
# the modules above, and the rest is dropped in :func:`prune_qt`.
QT_PLUGINS_KEPT = {
    # xcb for X11, wayland for Wayland sessions, offscreen for the headless
    # self-test and CI; windows and cocoa on their systems.
    "platforms": re.compile(
        r"(lib)?q(xcb|offscreen|wayland(-egl|-generic)?|windows|cocoa|minimal)\."
    ),
    # The desktop portal theme only: the GTK 3 theme would bring GTK, GDK,
    # cairo and pango along (about 15 MB) for native file dialogs the app
    # does not open.
    "platformthemes": re.compile(r"(lib)?qxdgdesktopportal\."),
    "platforminputcontexts": None,  # input methods (IBus, compose keys)
    "xcbglintegrations": None,  # the xcb plugin loads one of these
    "wayland-shell-integration": None,
    "wayland-decoration-client": None,
    "wayland-graphics-integration-client": None,
    "iconengines": None,  # the SVG icon engine (tray icons are SVG)
    "imageformats": re.compile(r"(lib)?q(svg|ico|jpeg|gif)\."),
    "styles": None,  # the native look on Windows and macOS
    "tls": None,  # QtNetwork's TLS back ends, loaded by name
    "networkinformation": None,
}


# Shared libraries that only the plugins dropped above link to (the GTK 3
# platform theme and eglfs), found by following DT_NEEDED from every file
# that stays: about 20 MB. The self-test and the 30-second run in CI show
# nothing that remains needs them.
ORPHAN_LIBRARIES = re.compile(
    r"lib(gtk-3|gdk-3|gdk_pixbuf-2\.0|cairo(-gobject)?|pango(cairo|ft2)?-1\.0|"
    r"atk(-bridge-2\.0|-1\.0)|atspi|epoxy|thai|datrie|fribidi|graphite2|harfbuzz|"
    r"pixman-1|jpeg|Qt6EglFs\w*|X(composite|cursor|damage|i|inerama|randr|render|"
    r"ext|fixes))\.so"
)


def data_files() -> list[tuple[str, str]]:
    """(source, destination folder) pairs of files the program opens."""
    from PyInstaller.utils.hooks import collect_data_files, copy_metadata

    migrations = ROOT / "agent" / "store" / "migrations"
    datas = [
        # Alembic runs env.py and versions/*.py from the filesystem (found
        # through agent.store.MIGRATIONS), and renders new revisions from the
        # mako template; the frozen .pyc in the archive are not enough.
        (str(migrations / "env.py"), "agent/store/migrations"),
        (str(migrations / "script.py.mako"), "agent/store/migrations"),
        *(
            (str(path), "agent/store/migrations/versions")
            for path in sorted((migrations / "versions").glob("*.py"))
        ),
    ]
    # Settings defaults, tray icons and the jiggler list, read through
    # importlib.resources from the `resources` package.
    datas += collect_data_files("resources", excludes=["**/__pycache__"])
    # APScheduler and keyring find their plug-ins through entry points,
    # which live in the distributions' metadata.
    datas += copy_metadata("APScheduler")
    datas += copy_metadata("keyring")
    # The IANA time-zone database, for zoneinfo where the OS has none.
    datas += collect_data_files("tzdata")
    # The CA bundle httpx verifies servers against.
    datas += collect_data_files("certifi")
    return datas


def hidden_imports(platform: str) -> list[str]:
    per_platform = {
        "linux": LINUX_HIDDEN,
        "win32": WINDOWS_HIDDEN,
        "darwin": MACOS_HIDDEN,
    }
    return COMMON_HIDDEN + per_platform[platform]


def analysis_options(platform: str) -> dict[str, Any]:
    """Keyword arguments for the spec's ``Analysis``."""
    return {
        "scripts": [str(ENTRY)],
        "pathex": [str(ROOT)],
        "datas": data_files(),
        "hiddenimports": hidden_imports(platform),
        "excludes": EXCLUDES,
        "noarchive": False,
        # The resources package sits beside its data as plain files, so that
        # importlib.resources hands out ordinary paths, as from source.
        "module_collection_mode": {"resources": "py"},
    }


def prune_qt(entries: list[Any]) -> list[Any]:
    """The TOC without Qt plugins and translations the app does not use.

    Entries are PyInstaller TOC tuples (destination, source, kind).
    """
    kept = []
    for entry in entries:
        parts = Path(entry[0]).parts
        if _is_dropped_qt_file(parts):
            continue
        kept.append(entry)
    return kept


def _is_dropped_qt_file(parts: tuple[str, ...]) -> bool:
    if len(parts) == 1 and ORPHAN_LIBRARIES.match(parts[0]):
        return True
    if "PySide6" not in parts:
        return False
    index = parts.index("PySide6")
    rest = parts[index + 1 :]
    # Qt's own translations (dialog buttons in other languages): the app's
    # text is English only.
    if "translations" in rest:
        return True
    if "plugins" not in rest or len(rest) < 3:
        return False
    folder, name = rest[rest.index("plugins") + 1], rest[-1]
    if folder not in QT_PLUGINS_KEPT:
        return True
    pattern = QT_PLUGINS_KEPT[folder]
    return pattern is not None and not pattern.match(name)


WINDOWS_VERSION_INFO = """\
# UTF-8 -- the format of PyInstaller's version files (pyi-grab_version)
VSVersionInfo(
  ffi=FixedFileInfo(
    filevers={numbers},
    prodvers={numbers},
    mask=0x3f,
    flags=0x0,
    OS=0x40004,
    fileType=0x1,
    subtype=0x0,
    date=(0, 0)
  ),
  kids=[
    StringFileInfo([
      StringTable('040904B0', [
{strings}
      ])
    ]),
    VarFileInfo([VarStruct('Translation', [0x0409, 1200])])
  ]
)
"""


def write_windows_version_file(path: Path, exe_name: str, description: str) -> Path:
    """The version resource Windows shows in Properties > Details.

    One file per program (``exe_name`` without ``.exe``), since the resource
    names the file it belongs to. Written as text: PyInstaller parses it with
    ``eval`` against its own version-info classes when it builds the EXE
    (the format ``pyi-grab_version`` writes; tests/test_build_scripts.py
    parses it the same way).
    """
    strings = {
        "CompanyName": "Punchclock",
        "FileDescription": description,
        "FileVersion": version(),
        "InternalName": exe_name,
        "LegalCopyright": "Apache-2.0",
        "OriginalFilename": f"{exe_name}.exe",
        "ProductName": DISPLAY_NAME,
        "ProductVersion": version(),
    }
    # 0409: US English; 04B0 (1200): Unicode.
    lines = ",\n".join(
        f"        StringStruct({key!r}, {value!r})" for key, value in strings.items()
    )
    text = WINDOWS_VERSION_INFO.format(numbers=version_tuple(), strings=lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# PySide6 6.11's macOS wheels are built for macOS 13 and later
# (macosx_13_0_universal2), so the bundle cannot start on anything older.
MACOS_MINIMUM = "13.0"


def macos_info_plist() -> dict[str, Any]:
    """Info.plist keys of the .app: identity, menu-bar only, and why it asks.

    Apple documents one usage-description key for what Punchclock does:
    NSAppleEventsUsageDescription (required to send Apple events, here to ask
    the browser for the page in front). Accessibility (window titles),
    Input Monitoring (activity counts) and Screen Recording (screenshots)
    have no Info.plist key: macOS words those prompts itself and the worker
    grants them in System Settings, which the capture health line names.
    NSScreenCaptureUsageDescription is not in Apple's key reference but
    recent macOS versions are reported to show it in the Screen Recording
    prompt; an unknown key is ignored, so it is kept.
    """
    return {
        "CFBundleName": DISPLAY_NAME,
        "CFBundleDisplayName": DISPLAY_NAME,
        "CFBundleIdentifier": BUNDLE_ID,
        "CFBundleShortVersionString": version(),
        "CFBundleVersion": version(),
        "LSMinimumSystemVersion": MACOS_MINIMUM,
        # A tray (menu bar) app: no Dock icon, no main menu bar.
        "LSUIElement": True,
        "NSHighResolutionCapable": True,
        "NSSupportsAutomaticGraphicsSwitching": True,
        "NSAppleEventsUsageDescription": (
            "Punchclock asks your browser for the address of the page in front "
            "while your timer runs, so time can be reported by site."
        ),
        "NSScreenCaptureUsageDescription": (
            "Punchclock takes the screenshots your organisation's policy asks "
            "for while your timer runs; you can see and delete them first."
        ),
    }
