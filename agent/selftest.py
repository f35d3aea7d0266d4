"""``punchclock --self-test``: can this program load every part it needs?

Written for the frozen builds (PyInstaller), where a module or data file
left out of the bundle only shows when the code that needs it runs. Each
part is loaded and exercised briefly, headless, on throw-away data, and
reported on one line::

    ok    store      schema 0003 after 3 migrations; a timer entry written and read
    FAIL  mss        ImportError: No module named 'mss.linux.xshmgetimage'

The exit status is 1 when any part failed. A desktop that refuses something
(no display, no keyring daemon, a permission not granted) is reported on the
part's line but is not a failure: it is the worker's machine that decides,
not the build. Missing code or data always fails.

The Qt part runs in a child process (``--self-test qt``): Qt aborts the
whole process when a platform plugin cannot load, and the line must still
be printed.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import io
import logging
import os
import platform as platform_module
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from agent import __version__
from agent.errors import UserError

log = logging.getLogger(__name__)

PART_TIMEOUT_S = 15.0
QT_TIMEOUT_S = 30.0
MARK_OK = "ok"
MARK_FAIL = "FAIL"


class PartFailed(Exception):
    """A part could not be loaded or did not work; the message says why."""


@dataclass(frozen=True)
class PartResult:
    name: str
    ok: bool
    detail: str
    seconds: float

    def line(self) -> str:
        mark = MARK_OK if self.ok else MARK_FAIL
        return f"{mark:<5} {self.name:<10} {self.detail}"


@dataclass
class Env:
    """What the parts may look at: environment, platform, a scratch folder."""

    environ: Mapping[str, str]
    platform: str
    scratch: Path
    in_process_qt: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def linux(self) -> bool:
        return self.platform.startswith("linux")

    @property
    def x11_display(self) -> str | None:
        """The X display on Linux outside a Wayland session, else None."""
        from capture.focus import is_wayland

        if not self.linux or is_wayland(self.environ):
            return None
        return self.environ.get("DISPLAY") or None


Check = Callable[[Env], str]


def run_self_test(
    parts: Sequence[str] = (),
    out: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Run the named parts (all when empty); print one line each; 0 if all ok.

    Raises :class:`~agent.errors.UserError` for a part that does not exist.
    """
    out = out or sys.stdout
    checks = _checks()
    unknown = [name for name in parts if name not in checks]
    if unknown:
        raise UserError(
            f"no self-test part {', '.join(unknown)}; the parts are: "
            + ", ".join(checks)
        )
    chosen = list(parts) or list(checks)

    started = time.monotonic()
    out.write(_header() + "\n")
    out.flush()
    results: list[PartResult] = []
    with tempfile.TemporaryDirectory(prefix="punchclock-selftest-") as scratch:
        env = Env(
            environ=os.environ if environ is None else environ,
            platform=sys.platform,
            scratch=Path(scratch),
            in_process_qt=list(parts) == ["qt"],
        )
        for name in chosen:
            result = _run_part(name, checks[name], env)
            results.append(result)
            out.write(result.line() + "\n")
            out.flush()

    failed = [r.name for r in results if not r.ok]
    elapsed = time.monotonic() - started
    verdict = f"{len(failed)} failed ({', '.join(failed)})" if failed else "all passed"
    out.write(f"self-test: {len(results)} parts, {verdict} in {elapsed:.1f} s\n")
    out.flush()
    return 1 if failed else 0


def _header() -> str:
    frozen = "frozen" if getattr(sys, "frozen", False) else "from source"
    return (
        f"punchclock {__version__} self-test ({frozen}; {sys.platform} "
        f"{platform_module.machine()}; Python {platform_module.python_version()})"
    )


def _checks() -> dict[str, Check]:
    return {
        "store": check_store,
        "resources": check_resources,
        "tzdata": check_tzdata,
        "capture": check_capture,
        "pynput": check_pynput,
        "mss": check_mss,
        "pillow": check_pillow,
        "httpx": check_httpx,
        "scheduler": check_scheduler,
        "keyring": check_keyring,
        "qt": check_qt,
    }


def _run_part(name: str, check: Check, env: Env) -> PartResult:
    """Run one check on a thread of its own, so a hang fails only its line."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["detail"] = check(env)
        except PartFailed as error:
            outcome["error"] = str(error)
        except Exception as error:
            log.debug("self-test part %s failed", name, exc_info=True)
            outcome["error"] = f"{type(error).__name__}: {error}"

    started = time.monotonic()
    timeout = QT_TIMEOUT_S + 5 if name == "qt" else PART_TIMEOUT_S
    if name == "qt" and env.in_process_qt:
        # A QApplication belongs on the main thread; the parent process
        # watches this one's time.
        target()
        return _result(name, outcome, time.monotonic() - started)

    thread = threading.Thread(target=target, name=f"selftest-{name}", daemon=True)
    thread.start()
    thread.join(timeout)
    seconds = time.monotonic() - started
    if thread.is_alive():
        return PartResult(name, False, f"did not finish in {timeout:.0f} s", seconds)
    return _result(name, outcome, seconds)


def _result(name: str, outcome: dict[str, Any], seconds: float) -> PartResult:
    if "error" in outcome:
        return PartResult(name, False, outcome["error"], seconds)
    return PartResult(name, True, str(outcome["detail"]), seconds)


def _import_all(modules: Sequence[str]) -> None:
    missing = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as error:
            missing.append(f"{module} ({error})")
    if missing:
        raise PartFailed("cannot import " + "; ".join(missing))


def _require_present(modules: Sequence[str]) -> None:
    """Find modules (in the bundle or on disk) without importing them."""
    missing = [module for module in modules if not _present(module)]
    if missing:
        raise PartFailed(f"missing: {', '.join(missing)}")


def _present(module: str) -> bool:
    # find_spec would import the parent packages, whose import may be what
    # cannot run here; search each package's locations instead.
    parts = module.split(".")
    spec = importlib.util.find_spec(parts[0])
    if spec is None:
        return False
    locations = list(spec.submodule_search_locations or ())
    for depth in range(1, len(parts)):
        if not locations:
            return False
        name = ".".join(parts[: depth + 1])
        spec = importlib.machinery.PathFinder.find_spec(name, locations)
        if spec is None:
            return False
        locations = list(spec.submodule_search_locations or ())
    return True


# The parts


def check_store(env: Env) -> str:
    """Create a store from nothing (every migration runs), write and read it."""
    from sqlalchemy import text

    from agent.clock import SystemClock
    from agent.paths import Paths
    from agent.projects import Projects
    from agent.store import MIGRATIONS, SCHEMA_HEAD, Store
    from agent.timer import Timer

    versions = sorted(p.name for p in (MIGRATIONS / "versions").glob("0*.py"))
    if not (MIGRATIONS / "env.py").is_file() or not versions:
        raise PartFailed(f"the migrations are missing from {MIGRATIONS}")

    paths = Paths.under(env.scratch / "home")
    paths.ensure()
    store = Store.open(paths.database)
    try:
        with store.read() as session:
            revision = session.execute(
                text("SELECT version_num FROM alembic_version")
            ).scalar()
        if revision != SCHEMA_HEAD:
            raise PartFailed(f"migrated to {revision}, expected {SCHEMA_HEAD}")

        clock = SystemClock()
        Projects(store, clock).add("self-test")
        timer = Timer(store, clock)
        timer.start("self-test")
        stopped = timer.stop()
        now = datetime.now(UTC)
        entries = timer.entries(now - timedelta(hours=1), now + timedelta(hours=1))
    finally:
        store.close()
    if stopped is None or len(entries) != 1:
        raise PartFailed("a timer entry written to the store was not read back")
    return (
        f"schema {revision} after {len(versions)} migrations; "
        "a timer entry written and read back"
    )


def check_resources(env: Env) -> str:
    """Settings defaults, tray icons and the jiggler list ship with the code."""
    from importlib import resources

    from agent.settings import default_settings

    root = resources.files("resources")
    missing = [
        n for n in ("defaults.toml", "jigglers.txt") if not root.joinpath(n).is_file()
    ]
    icons = [
        i.name for i in root.joinpath("icons").iterdir() if i.name.endswith(".svg")
    ]
    if not icons:
        missing.append("icons/*.svg")
    if missing:
        raise PartFailed(f"missing from the resources package: {', '.join(missing)}")

    settings = default_settings()
    jigglers = root.joinpath("jigglers.txt").read_text("utf-8").splitlines()
    return (
        f"defaults.toml (idle after {settings.idle.threshold_minutes} min), "
        f"{len(icons)} tray icons, {len(jigglers)} lines of jigglers.txt"
    )


def check_tzdata(env: Env) -> str:
    """Zone rules load, from the OS database or the bundled tzdata package."""
    from zoneinfo import ZoneInfo, available_timezones

    import tzdata  # type: ignore[import-untyped,unused-ignore]

    # Toronto's 1919 midnight fell into a DST gap: the rules themselves are
    # read, not just the zone's name.
    toronto = ZoneInfo("America/Toronto")
    offset = datetime(2024, 7, 1, tzinfo=toronto).utcoffset()
    if offset != timedelta(hours=-4):
        raise PartFailed(f"America/Toronto in July is UTC{offset}, expected -4 h")
    ZoneInfo("Asia/Kolkata")
    return f"{len(available_timezones())} zones; tzdata {tzdata.IANA_VERSION} bundled"


# Capture back ends, per platform: the modules the factories import lazily.
CAPTURE_MODULES = {
    "linux": (
        "capture.focus.x11",
        "capture.focus.wayland",
        "capture.idle.x11",
        "capture.idle.wayland",
        "capture.input.listener",
        "capture.input.x11_record",
        "Xlib.display",
        "Xlib.ext.screensaver",
        "Xlib.ext.xtest",
        "Xlib.ext.record",
        "jeepney.io.blocking",
    ),
    "win32": (
        "capture.focus.windows",
        "capture.idle.windows",
        "capture.input.listener",
    ),
    "darwin": (
        "capture.focus.macos",
        "capture.idle.macos",
        "capture.input.listener",
        "AppKit",
        "ApplicationServices",
        "CoreFoundation",
        "Foundation",
        "Quartz",
    ),
}


def check_capture(env: Env) -> str:
    """This platform's back ends import; the factories say what they chose.

    On an X display (the CI case) the focus source is started until its
    first sample and idle time is read: both must work there.
    """
    from agent.clock import SystemClock
    from capture.focus import create_focus_source
    from capture.idle import create_idle_source
    from capture.input import create_input_source

    key = "linux" if env.linux else env.platform
    _import_all(CAPTURE_MODULES.get(key, ()))

    clock = SystemClock()
    focus = create_focus_source(clock, environ=env.environ)
    idle = create_idle_source(environ=env.environ)
    inputs = create_input_source(clock, environ=env.environ)
    if not env.x11_display:
        return _describe(
            {"focus": focus.health(), "idle": idle.health(), "input": inputs.health()}
        )

    sampled = _focus_sample(focus)
    reading = idle.read()
    if reading is None or not idle.health().ok:
        raise PartFailed(f"idle on X11: {idle.health().reason}")
    return (
        f"{sampled}; idle {idle.health().backend} {reading.seconds:.1f} s; "
        + _describe({"input": inputs.health()})
    )


def _describe(healths: Mapping[str, Any]) -> str:
    """Sources by state, those unavailable for one reason named together."""
    ready = [f"{name} {h.backend}" for name, h in healths.items() if h.ok]
    reasons: dict[str, list[str]] = {}
    for name, health in healths.items():
        if not health.ok:
            reasons.setdefault(health.reason, []).append(name)
    words = [f"{', '.join(ready)} ready"] if ready else []
    words += [f"{', '.join(names)} off ({why})" for why, names in reasons.items()]
    return "; ".join(words)


def _focus_sample(focus: Any) -> str:
    got = threading.Event()
    samples: list[Any] = []

    def on_sample(sample: Any) -> None:
        samples.append(sample)
        got.set()

    focus.start(on_sample)
    try:
        got.wait(5.0)
    finally:
        focus.stop()
    health = focus.health()
    if not samples or not health.ok:
        raise PartFailed(f"focus on X11 gave no sample: {health.reason or 'silent'}")
    return f"focus {health.backend} sampled ({samples[0].app or 'nothing focused'})"


def check_pynput(env: Env) -> str:
    """pynput loads a real back end (not its dummy) for this desktop."""
    if env.linux and not env.x11_display:
        # pynput picks its back end at import, and on Linux that needs X:
        # only look for the modules.
        _require_present(("pynput.keyboard._xorg", "pynput.mouse._xorg"))
        return "X back ends present; not loaded without an X display"

    from pynput import keyboard, mouse

    backends = {
        type_.__module__.rsplit(".", 1)[-1]
        for type_ in (keyboard.Listener, mouse.Listener)
    }
    if "_dummy" in backends:
        raise PartFailed("pynput fell back to its dummy back end")
    return f"back end {', '.join(sorted(backends))}"


def check_mss(env: Env) -> str:
    """mss grabs a corner of the screen where there is one.

    On macOS a grab without the Screen Recording permission, and on Windows
    one outside an interactive desktop, is refused by the system: said on
    the line, not failed. On an X display a refusal is a fault.
    """
    import mss
    from mss.exception import ScreenShotError

    if env.linux and not env.x11_display:
        _import_all(("mss.linux", "mss.linux.xshmgetimage", "mss.linux.xgetimage"))
        return f"mss {mss.__version__} loaded; no X display to grab"

    try:
        return _grab_corner(mss)
    except ScreenShotError as error:
        if env.linux:
            raise PartFailed(f"mss could not grab on X11: {error}") from error
        return f"mss {mss.__version__} loaded; the desktop refused a grab ({error})"


def _grab_corner(mss: Any) -> str:
    make = getattr(mss, "MSS", None) or mss.mss
    with make() as grabber:
        monitor = (
            grabber.monitors[1] if len(grabber.monitors) > 1 else grabber.monitors[0]
        )
        region = {
            "left": monitor["left"],
            "top": monitor["top"],
            "width": 64,
            "height": 48,
        }
        shot = grabber.grab(region)
        impl = type(getattr(grabber, "_impl", grabber)).__name__
    if shot.size != (64, 48):
        raise PartFailed(f"grabbed {shot.size}, asked for 64x48")
    screens = len(grabber.monitors) - 1
    return f"mss {mss.__version__} ({impl}) grabbed 64x48 of {screens} monitor(s)"


def check_pillow(env: Env) -> str:
    """The encoders screenshots use: JPEG, PNG and WebP, round trip."""
    import PIL
    from PIL import Image

    image = Image.new("RGB", (64, 48), (21, 128, 61))
    sizes = []
    for fmt in ("JPEG", "PNG", "WEBP"):
        buffer = io.BytesIO()
        image.save(buffer, fmt)
        buffer.seek(0)
        with Image.open(buffer) as back:
            back.load()
            if back.size != image.size:
                raise PartFailed(f"{fmt} round trip changed the size to {back.size}")
        sizes.append(f"{fmt.lower()} {buffer.getbuffer().nbytes} B")
    return f"Pillow {PIL.__version__}: " + ", ".join(sizes)


def check_httpx(env: Env) -> str:
    """httpx builds its TLS context from the bundled CA file and answers."""
    import ssl

    import certifi
    import httpx

    import sync.service  # noqa: F401 (the uploader's stack loads)

    # httpx builds its SSL context up front, so a dangling SSL_CERT_FILE
    # breaks even plain-http requests (shared/TESTING.md).
    cert_file = env.environ.get("SSL_CERT_FILE")
    if cert_file and not Path(cert_file).is_file():
        raise PartFailed(
            f"SSL_CERT_FILE points at {cert_file}, which does not exist: no "
            "request can be made; unset it or point it at a CA bundle"
        )
    if not Path(certifi.where()).is_file():
        raise PartFailed(f"the CA bundle {certifi.where()} is missing")

    context = ssl.create_default_context(cafile=certifi.where())
    with httpx.Client() as real:
        del real  # building it loads the real transport and its TLS context
    transport = httpx.MockTransport(lambda request: httpx.Response(204))
    with httpx.Client(transport=transport, verify=context) as client:
        status = client.get("https://punchclock.invalid/ping").status_code
    if status != 204:
        raise PartFailed(f"the mock transport answered {status}")
    return f"httpx {httpx.__version__}; CA bundle {Path(certifi.where()).name} loaded"


def check_scheduler(env: Env) -> str:
    """APScheduler resolves its triggers and executor by name and runs a job."""
    from apscheduler.schedulers.background import BackgroundScheduler

    fired = threading.Event()
    scheduler = BackgroundScheduler()
    # The agent names its triggers ("interval"); APScheduler 3 looks such
    # names up through entry points, which a bundle may have lost.
    job = scheduler.add_job(
        fired.set, "interval", seconds=3600, next_run_time=datetime.now(UTC)
    )
    scheduler.start()
    try:
        ran = fired.wait(5.0)
    finally:
        scheduler.shutdown(wait=False)
    if not ran:
        raise PartFailed("a job due now did not run within 5 s")
    return f"an {type(job.trigger).__name__} job ran on the thread pool"


def check_keyring(env: Env) -> str:
    """The keyring finds its back ends; where tokens would be kept here."""
    from importlib.metadata import entry_points

    import keyring

    from sync.tokens import TokenStore

    plugins = sorted(ep.name for ep in entry_points(group="keyring.backends"))
    if not plugins:
        raise PartFailed("no keyring back ends registered (metadata not bundled)")
    native = {
        "win32": "keyring.backends.Windows",
        "darwin": "keyring.backends.macOS",
    }.get(env.platform, "keyring.backends.SecretService")
    _import_all((native,))

    backend = keyring.get_keyring()
    reason = TokenStore(env.scratch / "config").keyring_reason()
    if reason is not None and env.platform in ("win32", "darwin"):
        raise PartFailed(f"the system keyring is not used: {reason}")
    where = "the OS keyring" if reason is None else f"a 0600 file ({reason})"
    kind = type(backend)
    name = f"{kind.__module__.removeprefix('keyring.backends.')}.{kind.__name__}"
    return f"{name} of {len(plugins)} back ends; tokens would go to {where}"


def check_qt(env: Env) -> str:
    """Qt starts on this desktop's platform plugin and draws the tray icons."""
    if not env.in_process_qt:
        return _qt_in_child(env)

    import PySide6
    from PySide6.QtGui import QImageReader
    from PySide6.QtWidgets import QApplication, QSystemTrayIcon

    platform = qt_platform(env)
    argv = ["punchclock"] + (["-platform", platform] if platform else [])
    app = QApplication.instance() or QApplication(argv)

    import ui.app  # noqa: F401 (the whole tray app loads)
    from ui.icons import TrayState, state_icon

    blank = [state for state in TrayState if state_icon(state).pixmap(22).isNull()]
    if blank:
        raise PartFailed(f"tray icons did not render: {', '.join(blank)}")
    formats = {bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()}
    if "svg" not in formats:
        raise PartFailed("the SVG image format plugin is missing")

    tray = "a tray host" if QSystemTrayIcon.isSystemTrayAvailable() else "no tray host"
    name = QApplication.platformName()
    del app
    return (
        f"Qt {PySide6.__version__} on {name}; {len(TrayState)} tray icons drawn; {tray}"
    )


def qt_platform(env: Env) -> str | None:
    """The platform plugin to ask for, or None for Qt's own choice."""
    from capture.focus import is_wayland

    if env.environ.get("QT_QPA_PLATFORM") or not env.linux:
        return None
    if is_wayland(env.environ) and env.environ.get("WAYLAND_DISPLAY"):
        return "wayland"
    if env.environ.get("DISPLAY"):
        return "xcb"
    return "offscreen"


def self_command() -> list[str]:
    """How to run this program again: the frozen executable or the module."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "agent.cli"]


def _qt_in_child(env: Env) -> str:
    try:
        child = subprocess.run(
            [*self_command(), "--self-test", "qt"],
            env=dict(env.environ),
            capture_output=True,
            text=True,
            timeout=QT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise PartFailed(f"Qt did not start within {QT_TIMEOUT_S:.0f} s") from error

    for line in child.stdout.splitlines():
        mark, _, rest = line.partition(" ")
        name, _, detail = rest.strip().partition(" ")
        if name == "qt" and mark in (MARK_OK, MARK_FAIL):
            if mark == MARK_FAIL or child.returncode != 0:
                raise PartFailed(detail.strip())
            return detail.strip()

    # No line: Qt aborted the process, typically on a platform plugin that
    # cannot load a library; its own message names the plugin.
    errors = [line for line in child.stderr.splitlines() if line.strip()]
    tail = " | ".join(errors[-3:]) or "no output"
    raise PartFailed(
        f"Qt exited with {child.returncode}: {tail} (run with QT_DEBUG_PLUGINS=1 "
        "to see which library is missing)"
    )
