"""Start Punchclock at login, through each platform's own mechanism.

- Linux and other XDG desktops: ``$XDG_CONFIG_HOME/autostart/punchclock.desktop``
  (XDG Autostart specification).
- Windows: a value named ``Punchclock`` under
  ``HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run``.
- macOS: a LaunchAgent plist in ``~/Library/LaunchAgents``, loaded with
  ``launchctl`` so it applies without logging out.

:func:`create_autostart` picks the back end; callers never branch on the OS.
The registry and ``launchctl`` are reached through small injected objects,
so tests check exactly what would be written without touching the system.
"""

from __future__ import annotations

import importlib
import logging
import os
import plistlib
import subprocess
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from agent.paths import HOME_ENV

log = logging.getLogger(__name__)

APP_ID = "punchclock"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "Punchclock"
LAUNCH_AGENT_LABEL = "org.punchclock.agent"


class AutostartError(Exception):
    """The autostart entry could not be written or removed."""


def launch_command(environ: Mapping[str, str] = os.environ) -> list[str]:
    """How to start this installation's tray app from a login session."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    script = Path(sys.executable).with_name("punchclock")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "agent.cli"]


class Autostart(ABC):
    """Whether the tray app starts at login; per user, no admin rights."""

    def __init__(self, command: Sequence[str], environ: Mapping[str, str]) -> None:
        self.command = list(command)
        # A portable install (PUNCHCLOCK_HOME) must start with the same home.
        self.home = environ.get(HOME_ENV, "").strip() or None

    @abstractmethod
    def enabled(self) -> bool: ...

    @abstractmethod
    def enable(self) -> None: ...

    @abstractmethod
    def disable(self) -> None: ...

    def set(self, on: bool) -> None:
        if on == self.enabled():
            return
        self.enable() if on else self.disable()
        log.info("autostart at login %s", "enabled" if on else "disabled")


class XdgAutostart(Autostart):
    def __init__(
        self,
        command: Sequence[str],
        environ: Mapping[str, str] = os.environ,
        config_home: Path | None = None,
    ) -> None:
        super().__init__(command, environ)
        base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        self.path = (config_home or Path(base)) / "autostart" / f"{APP_ID}.desktop"

    def enabled(self) -> bool:
        return self.path.exists()

    def enable(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(self.desktop_entry(), encoding="utf-8")
        except OSError as exc:
            raise AutostartError(f"could not write {self.path}: {exc}") from exc

    def disable(self) -> None:
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            raise AutostartError(f"could not remove {self.path}: {exc}") from exc

    def desktop_entry(self) -> str:
        command = [_desktop_quote(part) for part in self.command]
        if self.home:
            command = ["env", _desktop_quote(f"{HOME_ENV}={self.home}"), *command]
        lines = [
            "[Desktop Entry]",
            "Type=Application",
            "Name=Punchclock",
            "Comment=Time tracking from the system tray",
            f"Exec={' '.join(command)}",
            "Icon=punchclock",
            "Terminal=false",
            "X-GNOME-Autostart-enabled=true",
            "X-GNOME-Autostart-Delay=2",
        ]
        return "\n".join(lines) + "\n"


class Registry(Protocol):
    """The few calls on ``HKCU\\...\\Run`` that autostart needs."""

    def get(self, key: str, name: str) -> str | None: ...
    def put(self, key: str, name: str, value: str) -> None: ...
    def delete(self, key: str, name: str) -> None: ...


class WinRegistry:
    """:class:`Registry` over :mod:`winreg`, on the current user's hive."""

    def get(self, key: str, name: str) -> str | None:
        winreg = _winreg()
        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as handle:
                return str(winreg.QueryValueEx(handle, name)[0])
        except FileNotFoundError:
            return None

    def put(self, key: str, name: str, value: str) -> None:
        winreg = _winreg()
        with winreg.CreateKey(winreg.HKEY_CURRENT_USER, key) as handle:
            winreg.SetValueEx(handle, name, 0, winreg.REG_SZ, value)

    def delete(self, key: str, name: str) -> None:
        winreg = _winreg()
        try:
            with winreg.OpenKey(
                winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE
            ) as handle:
                winreg.DeleteValue(handle, name)
        except FileNotFoundError:
            return


def _winreg() -> Any:
    """:mod:`winreg`, which exists on Windows only."""
    return importlib.import_module("winreg")


class WindowsAutostart(Autostart):
    def __init__(
        self,
        command: Sequence[str],
        environ: Mapping[str, str] = os.environ,
        registry: Registry | None = None,
    ) -> None:
        super().__init__(command, environ)
        self.registry = registry or WinRegistry()

    def enabled(self) -> bool:
        return self.registry.get(RUN_KEY, RUN_VALUE) is not None

    def enable(self) -> None:
        try:
            self.registry.put(RUN_KEY, RUN_VALUE, self.run_value())
        except OSError as exc:
            raise AutostartError(f"could not write the Run key: {exc}") from exc

    def disable(self) -> None:
        try:
            self.registry.delete(RUN_KEY, RUN_VALUE)
        except OSError as exc:
            raise AutostartError(f"could not remove the Run key: {exc}") from exc

    def run_value(self) -> str:
        # The Run key holds one command line; a portable home goes through cmd.
        line = subprocess.list2cmdline(self.command)
        if self.home:
            return f'cmd /c "set {HOME_ENV}={self.home}&& {line}"'
        return line


Launchctl = Callable[[list[str]], None]


def _run_launchctl(args: list[str]) -> None:
    subprocess.run(["launchctl", *args], check=False, capture_output=True)


class MacAutostart(Autostart):
    def __init__(
        self,
        command: Sequence[str],
        environ: Mapping[str, str] = os.environ,
        home: Path | None = None,
        launchctl: Launchctl = _run_launchctl,
    ) -> None:
        super().__init__(command, environ)
        agents = (home or Path.home()) / "Library" / "LaunchAgents"
        self.path = agents / f"{LAUNCH_AGENT_LABEL}.plist"
        self.launchctl = launchctl

    def enabled(self) -> bool:
        return self.path.exists()

    def enable(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(plistlib.dumps(self.plist()))
        except OSError as exc:
            raise AutostartError(f"could not write {self.path}: {exc}") from exc
        self.launchctl(["load", "-w", str(self.path)])

    def disable(self) -> None:
        if not self.path.exists():
            return
        self.launchctl(["unload", "-w", str(self.path)])
        try:
            self.path.unlink()
        except OSError as exc:
            raise AutostartError(f"could not remove {self.path}: {exc}") from exc

    def plist(self) -> dict[str, object]:
        entry: dict[str, object] = {
            "Label": LAUNCH_AGENT_LABEL,
            "ProgramArguments": self.command,
            "RunAtLoad": True,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",
        }
        if self.home:
            entry["EnvironmentVariables"] = {HOME_ENV: self.home}
        return entry


def create_autostart(
    platform: str = sys.platform, environ: Mapping[str, str] = os.environ
) -> Autostart:
    command = launch_command(environ)
    if platform == "win32":
        return WindowsAutostart(command, environ)
    if platform == "darwin":
        return MacAutostart(command, environ)
    return XdgAutostart(command, environ)


def _desktop_quote(arg: str) -> str:
    """An Exec argument, quoted as the Desktop Entry specification wants."""
    if not arg or any(ch in arg for ch in " \t\n\"'\\><~|&;$*?#()`"):
        escaped = "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg)
        return f'"{escaped}"'
    return arg
