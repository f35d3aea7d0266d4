"""Autostart at login: the files and registry calls each platform gets."""

from __future__ import annotations

import configparser
import plistlib
from pathlib import Path

from ui.autostart import (
    LAUNCH_AGENT_LABEL,
    RUN_KEY,
    RUN_VALUE,
    MacAutostart,
    WindowsAutostart,
    XdgAutostart,
    create_autostart,
)

COMMAND = ["/opt/Punch Clock/bin/punchclock"]


class FakeRegistry:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}
        self.calls: list[tuple[str, ...]] = []

    def get(self, key: str, name: str) -> str | None:
        return self.values.get((key, name))

    def put(self, key: str, name: str, value: str) -> None:
        self.calls.append(("put", key, name, value))
        self.values[(key, name)] = value

    def delete(self, key: str, name: str) -> None:
        self.calls.append(("delete", key, name))
        self.values.pop((key, name), None)


def test_xdg_entry_is_written_and_removed(tmp_path: Path) -> None:
    autostart = XdgAutostart(COMMAND, {}, config_home=tmp_path)

    autostart.set(True)

    path = tmp_path / "autostart" / "punchclock.desktop"
    assert autostart.enabled()
    entry = configparser.ConfigParser(interpolation=None)
    entry.read(path)
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Exec"] == '"/opt/Punch Clock/bin/punchclock"'
    assert desktop["Terminal"] == "false"

    autostart.set(False)
    assert not path.exists()


def test_xdg_entry_follows_xdg_config_home_and_keeps_a_portable_home(
    tmp_path: Path,
) -> None:
    environ = {"XDG_CONFIG_HOME": str(tmp_path), "PUNCHCLOCK_HOME": "/srv/my pc"}
    autostart = XdgAutostart(["punchclock"], environ)

    autostart.enable()

    text = (tmp_path / "autostart" / "punchclock.desktop").read_text()
    assert 'Exec=env "PUNCHCLOCK_HOME=/srv/my pc" punchclock\n' in text


def test_windows_run_key_gets_one_quoted_command_line() -> None:
    registry = FakeRegistry()
    autostart = WindowsAutostart(
        [r"C:\Program Files\Punchclock\punchclock.exe"], {}, registry
    )

    autostart.set(True)
    autostart.set(True)  # already on: nothing written twice
    autostart.set(False)

    assert registry.calls == [
        (
            "put",
            RUN_KEY,
            RUN_VALUE,
            r'"C:\Program Files\Punchclock\punchclock.exe"',
        ),
        ("delete", RUN_KEY, RUN_VALUE),
    ]
    assert RUN_KEY == r"Software\Microsoft\Windows\CurrentVersion\Run"


def test_macos_launch_agent_plist_and_launchctl(tmp_path: Path) -> None:
    calls: list[list[str]] = []
    autostart = MacAutostart(
        COMMAND, {"PUNCHCLOCK_HOME": "/Users/w/pc"}, tmp_path, calls.append
    )

    autostart.set(True)

    path = tmp_path / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
    plist = plistlib.loads(path.read_bytes())
    assert plist["Label"] == LAUNCH_AGENT_LABEL
    assert plist["ProgramArguments"] == COMMAND
    assert plist["RunAtLoad"] is True
    assert plist["EnvironmentVariables"] == {"PUNCHCLOCK_HOME": "/Users/w/pc"}
    assert calls == [["load", "-w", str(path)]]

    autostart.set(False)
    assert not path.exists()
    assert calls[-1] == ["unload", "-w", str(path)]


def test_factory_picks_the_platforms_mechanism() -> None:
    assert isinstance(create_autostart("linux", {}), XdgAutostart)
    assert isinstance(create_autostart("darwin", {}), MacAutostart)
    assert isinstance(create_autostart("win32", {}), WindowsAutostart)
