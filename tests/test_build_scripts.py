"""What the PyInstaller builds declare, checked on any OS (issue 11).

The Windows and macOS builds only run on hosted CI; these tests read what
their specs are given here: the version resource in the format PyInstaller
parses, the macOS Info.plist, hidden imports that exist, the Qt files kept
per platform, and the icons each installer embeds.
"""

from __future__ import annotations

import importlib.util
import os
import plistlib
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from agent.selftest import _present

BUILD_SCRIPTS = Path(__file__).resolve().parent.parent / "build_scripts"
sys.path.insert(0, str(BUILD_SCRIPTS))

import freeze  # noqa: E402


def _versioninfo(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """PyInstaller's parser of version files, as the Windows build runs it.

    Its module imports pefile and win32api, which exist on Windows only;
    parsing text needs neither, so elsewhere they are stood in for.
    """
    if sys.platform != "win32":
        import PyInstaller.compat

        monkeypatch.setitem(sys.modules, "pefile", types.ModuleType("pefile"))
        monkeypatch.setattr(PyInstaller.compat, "win32api", None, raising=False)
        monkeypatch.delitem(
            sys.modules, "PyInstaller.utils.win32.versioninfo", raising=False
        )
    from PyInstaller.utils.win32 import versioninfo

    return versioninfo


def test_windows_version_file_is_what_pyinstaller_parses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versioninfo = _versioninfo(monkeypatch)
    path = freeze.write_windows_version_file(
        tmp_path / "cli.txt", "punchclock-cli", "Punchclock command line"
    )

    info = versioninfo.load_version_info_from_text_file(str(path))

    numbers = freeze.version_tuple()
    assert (info.ffi.fileVersionMS, info.ffi.fileVersionLS) == (
        numbers[0] << 16 | numbers[1],
        numbers[2] << 16 | numbers[3],
    )
    strings = {s.name: s.val for s in info.kids[0].kids[0].kids}
    assert strings["OriginalFilename"] == "punchclock-cli.exe"
    assert strings["FileDescription"] == "Punchclock command line"
    assert strings["ProductVersion"] == freeze.version()
    # The binary resource Windows reads holds the strings as UTF-16.
    assert "punchclock-cli.exe".encode("utf-16-le") in info.toRaw()


def test_info_plist_has_only_keys_macos_defines() -> None:
    plist = freeze.macos_info_plist()

    assert plistlib.loads(plistlib.dumps(plist)) == plist
    assert plist["LSUIElement"] is True
    assert plist["NSAppleEventsUsageDescription"].startswith("Punchclock")
    # Accessibility and Input Monitoring prompts have no Info.plist text.
    assert not [k for k in plist if k.startswith(("NSAccessibility", "NSInput"))]
    major = int(plist["LSMinimumSystemVersion"].split(".")[0])
    assert major >= 13  # PySide6 6.11's wheels are macosx_13_0


@pytest.mark.parametrize("platform", ["linux", "win32", "darwin"])
def test_hidden_imports_name_modules_that_exist(platform: str) -> None:
    # PyInstaller only warns about a hidden import it cannot find; a typo
    # would leave a back end out of the build without failing it. Packages
    # of another OS (pyobjc, pywin32-ctypes, python-xlib) are not installed
    # here: their names are checked on their own CI runner.
    installed = [
        name
        for name in freeze.hidden_imports(platform)
        if importlib.util.find_spec(name.split(".")[0]) is not None
    ]

    missing = [name for name in installed if not _present(name)]

    assert installed
    assert missing == []


def _toc(*names: str) -> list[tuple[str, str, str]]:
    return [(name, f"/site/{name}", "BINARY") for name in names]


@pytest.mark.parametrize(
    ("kept", "dropped"),
    [
        (
            [
                "PySide6/Qt/plugins/platforms/libqxcb.so",
                "PySide6/Qt/plugins/platforms/libqoffscreen.so",
                "PySide6/Qt/plugins/platforms/libqwayland-egl.so",
                "PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so",
                "PySide6/Qt/plugins/imageformats/libqsvg.so",
                "PySide6/Qt/lib/libQt6Widgets.so.6",
            ],
            [
                "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
                "PySide6/Qt/plugins/platforms/libqeglfs.so",
                "PySide6/Qt/plugins/sqldrivers/libqsqlite.so",
                "PySide6/Qt/translations/qtbase_de.qm",
                "libgtk-3.so.0",
            ],
        ),
        (
            [
                "PySide6\\plugins\\platforms\\qwindows.dll",
                "PySide6\\plugins\\platforms\\qoffscreen.dll",
                "PySide6\\plugins\\styles\\qmodernwindowsstyle.dll",
                "PySide6\\plugins\\imageformats\\qico.dll",
                "PySide6\\plugins\\tls\\qschannelbackend.dll",
            ],
            [
                "PySide6\\plugins\\platforms\\qdirect2d.dll",
                "PySide6\\plugins\\imageformats\\qtiff.dll",
                "PySide6\\translations\\qtbase_fr.qm",
            ],
        ),
        (
            [
                "PySide6/Qt/plugins/platforms/libqcocoa.dylib",
                "PySide6/Qt/plugins/styles/libqmacstyle.dylib",
                "PySide6/Qt/plugins/iconengines/libqsvgicon.dylib",
            ],
            [
                "PySide6/Qt/plugins/imageformats/libqmacheif.dylib",
                "PySide6/Qt/plugins/permissions/libqdarwinlocationpermission.dylib",
            ],
        ),
    ],
    ids=["linux", "windows", "macos"],
)
def test_qt_files_kept_per_platform(kept: list[str], dropped: list[str]) -> None:
    if "\\" in kept[0] and sys.platform != "win32":
        # TOC names use the build machine's separator.
        kept = [name.replace("\\", "/") for name in kept]
        dropped = [name.replace("\\", "/") for name in dropped]

    result = [entry[0] for entry in freeze.prune_qt(_toc(*kept, *dropped))]

    assert result == kept


def test_icons_for_every_installer(
    tmp_path: Path, qapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # make_icons defaults Qt to offscreen when imported; keep that to this
    # test. It draws with the application pytest-qt made.
    monkeypatch.setenv("QT_QPA_PLATFORM", os.environ.get("QT_QPA_PLATFORM", ""))
    import make_icons

    assert make_icons.main(tmp_path) == 0

    with Image.open(tmp_path / "punchclock.ico") as ico:
        assert sorted(ico.info["sizes"]) == [(s, s) for s in make_icons.ICO_SIZES]
        ico.size = (16, 16)
        ico.load()
        # Drawn at 16 px, not shrunk from 512: the corner stays transparent
        # and the middle is painted.
        assert ico.getpixel((0, 0))[3] == 0
        assert ico.getpixel((8, 8))[3] > 0
    with Image.open(tmp_path / "punchclock.icns") as icns:
        # (512, 512, 2) is the 1024 px image of a Retina display.
        assert {(512, 512, 2), (256, 256, 1), (32, 32, 2)} <= set(icns.info["sizes"])
    pngs = sorted(tmp_path.glob("punchclock-*.png"))
    assert len(pngs) == len(make_icons.PNG_SIZES)
    with Image.open(tmp_path / "punchclock-24.png") as png:
        assert png.size == (24, 24)
