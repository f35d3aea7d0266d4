"""A timer the agent recovered after a crash: told once, shown until seen.

The real agent over the test store: an entry is left open with its last
confirmation, as a killed agent leaves it, and ``Agent.start`` recovers it
the way it does after a crash. The shell then notifies once, shows a line
at the top of the tray menu and a banner in the main window, and keeps
both (across a restart of the app) until the worker presses "Got it".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from pytestqt.qtbot import QtBot

from agent.clock import ManualClock
from agent.paths import Paths
from agent.service import Agent
from tests.ui.conftest import FakeAutostart, FakeCapture
from ui.commands import CommandRunner
from ui.notices import load_notice, notice_path
from ui.services import Services
from ui.shell import Shell


@pytest.fixture
def started(agent: Agent) -> Iterator[Agent]:
    yield agent
    agent.stop(stop_timer=False)


def _crash(services: Services, clock: ManualClock) -> str:
    """An entry confirmed at 10 min and never closed; returns that time."""
    services.add_project("Acme", "Design")
    services.timer.start("Acme", "Design")
    clock.advance(600)
    services.timer.flush()
    confirmed = clock.now().astimezone(services.tz())
    clock.advance(900)  # the agent is dead meanwhile
    return f"{confirmed:%H:%M:%S}"


def _shell(
    qtbot: QtBot,
    services: Services,
    runner: CommandRunner,
    capture: FakeCapture,
    autostart: FakeAutostart,
) -> Shell:
    shell = Shell(services, runner, capture, autostart, ask_consent=False)  # type: ignore[arg-type]
    qtbot.addWidget(shell.window)
    return shell


def _close(shell: Shell) -> None:
    shell.runner.wait()
    shell._consent_poll.stop()
    shell.tray.icon.hide()
    shell.window.hide()


def _menu_line(shell: Shell) -> QAction | None:
    shell.tray.rebuild()
    return shell.tray.menu.findChild(QAction, "recovered")


def test_recovered_timer_is_told_once_and_shown_until_seen(
    qtbot: QtBot,
    services: Services,
    runner: CommandRunner,
    capture: FakeCapture,
    autostart: FakeAutostart,
    started: Agent,
    clock: ManualClock,
    paths: Paths,
    artifacts_dir: Path,
) -> None:
    confirmed = _crash(services, clock)
    started.start()
    assert started.recovered is not None
    told: list[str] = []

    shell = _shell(qtbot, services, runner, capture, autostart)
    shell.tray.notified.connect(lambda _title, text: told.append(text))
    with qtbot.waitSignal(shell.tray.notified, timeout=5000):
        shell.start()

    assert len(told) == 1
    assert "Acme / Design" in told[0]
    assert f"closed at {confirmed}" in told[0]
    line = _menu_line(shell)
    assert line is not None
    assert line.text().startswith("⚠ Punchclock stopped unexpectedly: Acme / Design")
    assert shell.tray.menu.actions()[0] is line
    qtbot.waitUntil(lambda: runner.idle)
    assert load_notice(paths) is not None

    line.trigger()
    qtbot.waitExposed(shell.window)
    assert shell.window.recovery.isVisible()
    assert f"closed at {confirmed}" in shell.window.recovery_text.text()
    shell.window.grab().save(str(artifacts_dir / "tray-recovered-after-crash.png"))
    _close(shell)

    # The app restarts before the worker saw it: shown again, not told again.
    started.stop(stop_timer=False)
    started.start()
    assert started.recovered is None
    again = _shell(qtbot, services, runner, capture, autostart)
    again.tray.notified.connect(lambda _title, text: told.append(text))
    again.start()
    qtbot.waitUntil(lambda: again.model.recovered is not None)
    assert len(told) == 1
    assert _menu_line(again) is not None

    again.window.bring_to_front()
    qtbot.mouseClick(again.window.recovery_seen, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: runner.idle)

    assert not again.window.recovery.isVisible()
    assert _menu_line(again) is None
    assert not notice_path(paths).exists()
    _close(again)


def test_a_clean_start_shows_no_recovery(
    qtbot: QtBot,
    services: Services,
    runner: CommandRunner,
    capture: FakeCapture,
    autostart: FakeAutostart,
    started: Agent,
) -> None:
    services.add_project("Acme", None)
    services.timer.start("Acme")
    services.timer.stop()
    started.start()
    told: list[str] = []

    shell = _shell(qtbot, services, runner, capture, autostart)
    shell.tray.notified.connect(lambda _title, text: told.append(text))
    shell.start()
    qtbot.waitUntil(lambda: runner.idle)

    assert told == []
    assert _menu_line(shell) is None
    assert not shell.window.recovery.isVisible()
    _close(shell)


def test_an_unreadable_notice_file_is_dropped(paths: Paths) -> None:
    notice_path(paths).write_text("{not json")

    assert load_notice(paths) is None
