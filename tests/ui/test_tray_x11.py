"""End to end on a virtual desktop: the real ``punchclock`` process in a tray.

Xvfb + openbox + trayer (tests/desktop.py). The test launches the tray app
with its own PUNCHCLOCK_HOME, waits until trayer has embedded its icon,
opens the icon's menu with a right click (xdotool), starts the timer with
the menu's first item, switches windows, stops it the same way, and reads
the result back with ``punchclock report --format json``.

The menu is driven as a worker would drive it by keyboard: Down selects
the first enabled item ("Start <last project>" when stopped, "Stop timer"
while running; the status line above them is disabled), Return triggers it.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("Xlib", reason="X11 tests run on Linux only (python-xlib)")

from tests.desktop import VirtualDesktop
from tests.ui.tray_probe import (
    IconGeometry,
    find_app_popup,
    find_tray_icon,
    wait_for_tray_icon,
)

pytestmark = [pytest.mark.x11, pytest.mark.slow]

PUNCHCLOCK = str(Path(sys.executable).with_name("punchclock"))


@pytest.fixture
def app_env(desktop: VirtualDesktop, punchclock_home: Path) -> dict[str, str]:
    env = desktop.env
    env["PUNCHCLOCK_HOME"] = str(punchclock_home)
    env["QT_QPA_PLATFORM"] = "xcb"
    return env


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PUNCHCLOCK, *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def tray_app(
    app_env: dict[str, str], tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    stderr = tmp_path / "tray-stderr.txt"
    with stderr.open("wb") as sink:
        proc = subprocess.Popen(
            [PUNCHCLOCK], env=app_env, stdout=subprocess.DEVNULL, stderr=sink
        )
    yield proc
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
    print(stderr.read_text(errors="replace")[-4000:])


def _wait(what: str, check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _open_menu(desktop: VirtualDesktop, icon: IconGeometry) -> None:
    x, y = icon.center
    desktop.xdotool("mousemove", str(x), str(y), "click", "3")
    _wait("the tray menu", lambda: find_app_popup(desktop.display))


def _choose_first_item(desktop: VirtualDesktop) -> None:
    desktop.xdotool("key", "Down", "Return")
    _wait("the menu to close", lambda: find_app_popup(desktop.display) is None)


def _status(env: dict[str, str]) -> dict[str, Any]:
    return dict(json.loads(_cli(env, "status", "--json")))


def test_clock_in_and_out_from_the_tray_menu(
    desktop: VirtualDesktop,
    app_env: dict[str, str],
    tray_app: subprocess.Popen[bytes],
    artifacts_dir: Path,
) -> None:
    # Earlier work on Acme makes "Start Acme" the menu's first item.
    _cli(app_env, "start", "Acme", "--create")
    _cli(app_env, "stop")
    icon = wait_for_tray_icon(desktop.display)
    _cli(app_env, "consent", "accept")
    _wait("the consent dialog to close", lambda: not _consent_dialog(desktop))
    before = _report(app_env)

    _open_menu(desktop, icon)
    desktop.screenshot(artifacts_dir / "tray-menu-x11.png")
    _choose_first_item(desktop)
    started = time.monotonic()
    _wait("the timer to run", lambda: _status(app_env)["state"] == "running")

    first = desktop.open_xterm("Punchclock e2e one")
    second = desktop.open_xterm("Punchclock e2e two")
    for window in (first, second, first):
        desktop.activate(window)
        time.sleep(0.7)

    _open_menu(desktop, icon)
    desktop.screenshot(artifacts_dir / "tray-menu-running-x11.png")
    _choose_first_item(desktop)
    _wait("the timer to stop", lambda: _status(app_env)["state"] == "stopped")
    worked = time.monotonic() - started

    after = _report(app_env)
    assert after["Acme"] - before.get("Acme", 0) >= int(worked) - 2
    # Consent given from the terminal turned capture on in the running app.
    apps = _report(app_env, "app")
    assert any("xterm" in app.lower() for app in apps), apps
    assert tray_app.poll() is None


def test_second_launch_raises_the_first(
    desktop: VirtualDesktop,
    app_env: dict[str, str],
    tray_app: subprocess.Popen[bytes],
) -> None:
    _cli(app_env, "consent", "accept")
    wait_for_tray_icon(desktop.display)

    second = subprocess.run(
        [PUNCHCLOCK], env=app_env, capture_output=True, text=True, timeout=30
    )

    assert second.returncode == 0
    _wait("the main window", lambda: _main_window(desktop))
    assert tray_app.poll() is None


def test_sigterm_quits_cleanly_and_removes_the_icon(
    desktop: VirtualDesktop,
    app_env: dict[str, str],
    tray_app: subprocess.Popen[bytes],
) -> None:
    _cli(app_env, "consent", "accept")
    wait_for_tray_icon(desktop.display)

    tray_app.send_signal(signal.SIGTERM)

    assert tray_app.wait(timeout=15) == 0
    assert find_tray_icon(desktop.display) is None


def _report(env: dict[str, str], by: str = "project") -> dict[str, int]:
    report = json.loads(_cli(env, "report", "--format", "json", "--by", by))
    return {row["key"]: row["seconds"] for row in report["rows"]}


def _main_window(desktop: VirtualDesktop) -> bool:
    found = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", "^Punchclock$"],
        env=desktop.env,
        capture_output=True,
        text=True,
    )
    return bool(found.stdout.strip())


def _consent_dialog(desktop: VirtualDesktop) -> bool:
    found = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", "what is collected$"],
        env=desktop.env,
        capture_output=True,
        text=True,
    )
    return bool(found.stdout.strip())


def test_a_break_from_the_cli_while_the_tray_app_runs(
    desktop: VirtualDesktop,
    app_env: dict[str, str],
    tray_app: subprocess.Popen[bytes],
    artifacts_dir: Path,
) -> None:
    icon = wait_for_tray_icon(desktop.display)
    _cli(app_env, "consent", "accept")
    _wait("the consent dialog to close", lambda: not _consent_dialog(desktop))
    _cli(app_env, "start", "Acme", "--task", "Design", "--create")

    _cli(app_env, "break", "start", "--policy", "lunch")
    on_break = _wait(
        "the break", lambda: (s := _status(app_env))["state"] == "break" and s
    )
    assert on_break["project"] == "Acme"

    # The app takes the break in (its menu offers to end it) and keeps it.
    time.sleep(2.5)
    _open_menu(desktop, icon)
    desktop.screenshot(artifacts_dir / "tray-menu-on-break-x11.png")
    desktop.xdotool("key", "Escape")
    _wait("the menu to close", lambda: find_app_popup(desktop.display) is None)
    assert _status(app_env)["state"] == "break"

    _cli(app_env, "break", "stop")
    resumed = _wait(
        "the timer to resume",
        lambda: (s := _status(app_env))["state"] == "running" and s,
    )
    assert (resumed["project"], resumed["task"]) == ("Acme", "Design")
    assert tray_app.poll() is None


def _log_says(home: Path, text: str) -> bool:
    log = home / "logs" / "punchclock.log"
    return log.exists() and text in log.read_text(errors="replace")


def test_the_global_shortcut_starts_and_stops_the_timer_from_another_app(
    desktop: VirtualDesktop,
    app_env: dict[str, str],
    punchclock_home: Path,
    tray_app: subprocess.Popen[bytes],
) -> None:
    _cli(app_env, "start", "Acme", "--create")
    _cli(app_env, "stop")
    wait_for_tray_icon(desktop.display)
    _cli(app_env, "consent", "accept")
    _wait("the consent dialog to close", lambda: not _consent_dialog(desktop))
    _wait(
        "the shortcut's grab",
        lambda: _log_says(punchclock_home, "global shortcut Ctrl+Alt+P registered"),
    )
    desktop.activate(desktop.open_xterm("someone else's window"))

    desktop.xdotool("key", "ctrl+alt+p")
    running = _wait(
        "the timer to run", lambda: (s := _status(app_env))["state"] == "running" and s
    )
    assert running["project"] == "Acme"

    desktop.xdotool("key", "ctrl+alt+p")
    _wait("the timer to stop", lambda: _status(app_env)["state"] == "stopped")
    assert tray_app.poll() is None


def test_a_timer_recovered_after_a_crash_is_told_after_the_restart(
    desktop: VirtualDesktop,
    app_env: dict[str, str],
    punchclock_home: Path,
    tmp_path: Path,
    artifacts_dir: Path,
) -> None:
    first = subprocess.Popen(
        [PUNCHCLOCK], env=app_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_tray_icon(desktop.display)
        _cli(app_env, "consent", "accept")
        _cli(app_env, "start", "Acme", "--task", "Design", "--create")
        time.sleep(6)  # one flush (every 5 s) confirms the running entry
    finally:
        first.kill()  # as a crash would end it: no clean stop
        first.wait(timeout=15)
    assert find_tray_icon(desktop.display) is None or _wait(
        "the dead icon to go", lambda: find_tray_icon(desktop.display) is None
    )

    notice = punchclock_home / "data" / "tray-recovered.json"
    assert not notice.exists()
    second = subprocess.Popen(
        [PUNCHCLOCK], env=app_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        icon = wait_for_tray_icon(desktop.display)
        _wait("the recovery notice", notice.exists)
        _wait(
            "the notification",
            lambda: _log_says(punchclock_home, "timer recovered after a crash"),
        )
        assert json.loads(notice.read_text())["project"] == "Acme"
        assert _status(app_env)["state"] == "stopped"
        _open_menu(desktop, icon)
        desktop.screenshot(artifacts_dir / "tray-menu-recovered-x11.png")
        desktop.xdotool("key", "Escape")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=15)
