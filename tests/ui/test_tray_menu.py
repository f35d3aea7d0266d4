"""The tray menu: rebuilt when shown, and every action does what it says."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QMessageBox
from pytestqt.qtbot import QtBot

from agent.clock import ManualClock
from capture.base import CaptureHealth
from tests.ui.conftest import settle
from ui.icons import TrayState
from ui.services import Services
from ui.shell import Shell


def _open_menu(shell: Shell) -> dict[str, QAction]:
    """What the worker sees when the menu opens (aboutToShow rebuilds it)."""
    shell.tray.menu.aboutToShow.emit()
    return {a.objectName(): a for a in shell.tray.menu.actions() if a.objectName()}


def _texts(shell: Shell) -> list[str]:
    shell.tray.menu.aboutToShow.emit()
    return [a.text() for a in shell.tray.menu.actions() if a.text()]


def _clocked(services: Services, clock: ManualClock, *names: str) -> None:
    """Work done earlier on each ``Project[/Task]``, oldest first."""
    for name in names:
        project, _, task = name.partition("/")
        services.add_project(project, task or None)
        services.timer.start(project, task or None)
        clock.advance(600)
    services.timer.stop()


def test_first_menu_offers_to_pick_a_project(qtbot: QtBot, shell: Shell) -> None:
    actions = _open_menu(shell)

    assert actions["status"].text().startswith("Stopped — today 0:00")
    assert not actions["status"].isEnabled()
    assert actions["start"].text() == "Start…"
    assert not actions["note"].isEnabled()
    assert actions["sync"].text() == "Sync: not connected to a server"
    assert not actions["sync"].isEnabled()
    actions["start"].trigger()

    assert shell.picker is not None
    assert shell.picker.isVisible()
    shell.picker.reject()


def test_start_from_the_menu_clocks_in_on_the_last_project(
    qtbot: QtBot, shell: Shell, services: Services, clock: ManualClock
) -> None:
    _clocked(services, clock, "Acme/Design", "Globex")
    settle(qtbot, shell)

    actions = _open_menu(shell)
    assert actions["start"].text() == "Start Globex"
    actions["start"].trigger()
    settle(qtbot, shell)

    entry = services.current()
    assert entry is not None
    assert (entry.project, entry.task) == ("Globex", None)
    assert shell.model.state() is TrayState.RUNNING


def test_recent_projects_and_tasks_switch_the_timer(
    qtbot: QtBot, shell: Shell, services: Services, clock: ManualClock
) -> None:
    _clocked(services, clock, "Initech", "Acme/Design", "Globex")
    services.timer.start("Globex")
    settle(qtbot, shell)

    texts = _texts(shell)
    assert "Recent" in texts
    assert texts.index("Acme / Design") < texts.index("Initech")
    assert "Globex" not in texts  # it runs; the status line names it

    _open_menu(shell)["recent:Acme / Design"].trigger()
    settle(qtbot, shell)

    entry = services.current()
    assert entry is not None
    assert (entry.project, entry.task) == ("Acme", "Design")


def test_menu_is_rebuilt_when_shown(
    qtbot: QtBot, shell: Shell, services: Services, clock: ManualClock
) -> None:
    assert "stop" not in _open_menu(shell)

    _clocked(services, clock, "Acme")
    services.timer.start("Acme")
    shell.on_entry(services.current())  # what the agent bridge delivers

    actions = _open_menu(shell)
    assert actions["status"].text().startswith("Running: Acme")
    assert "start" not in actions
    with qtbot.waitSignal(shell.runner.finished):
        actions["stop"].trigger()
    settle(qtbot, shell)
    assert services.current() is None


def test_add_a_note_sets_the_running_entrys_note(
    qtbot: QtBot,
    shell: Shell,
    services: Services,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clocked(services, clock, "Acme")
    services.timer.start("Acme")
    settle(qtbot, shell)
    monkeypatch.setattr(
        QInputDialog, "getText", lambda *a, **k: ("reviewing the brief", True)
    )

    _open_menu(shell)["note"].trigger()
    settle(qtbot, shell)

    entry = services.current()
    assert entry is not None
    assert entry.note == "reviewing the brief"


def test_quit_asks_while_a_timer_runs_and_cancel_keeps_it(
    qtbot: QtBot,
    shell: Shell,
    services: Services,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clocked(services, clock, "Acme")
    services.timer.start("Acme")
    settle(qtbot, shell)
    asked: list[str] = []

    def cancel(*args: object, **_: object) -> QMessageBox.StandardButton:
        asked.append(str(args[2]))
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", cancel)
    quits: list[bool] = []
    shell.quitting.connect(lambda: quits.append(True))

    _open_menu(shell)["quit"].trigger()

    assert asked
    assert "Acme" in asked[0]
    assert quits == []
    assert services.current() is not None


def test_quit_confirmed_stops_the_timer(
    qtbot: QtBot,
    shell: Shell,
    services: Services,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _clocked(services, clock, "Acme")
    services.timer.start("Acme")
    settle(qtbot, shell)
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes
    )
    monkeypatch.setattr("ui.shell.QApplication.quit", lambda: None)

    with qtbot.waitSignal(shell.quitting):
        _open_menu(shell)["quit"].trigger()

    assert services.current() is None


def test_quit_while_stopped_does_not_ask(
    qtbot: QtBot, shell: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: object, **__: object) -> None:
        raise AssertionError("asked although no timer runs")

    monkeypatch.setattr(QMessageBox, "question", fail)
    monkeypatch.setattr("ui.shell.QApplication.quit", lambda: None)

    with qtbot.waitSignal(shell.quitting):
        _open_menu(shell)["quit"].trigger()


def test_capture_fault_shows_in_icon_tooltip_and_menu(
    qtbot: QtBot, shell: Shell, services: Services, health: list[CaptureHealth]
) -> None:
    services.consent.accept(services.collection())
    health.append(
        CaptureHealth.unavailable(
            "focus", "x11", "the X server went away", "log in again"
        )
    )
    settle(qtbot, shell)

    assert shell.model.state() is TrayState.FAULT
    assert "the X server went away" in shell.tray.tooltip()
    assert "problem" in _open_menu(shell)["collected"].text()


def test_menu_items_ask_for_their_windows(qtbot: QtBot, shell: Shell) -> None:
    actions = _open_menu(shell)
    for name, signal in (
        ("switch", shell.tray.picker_requested),
        ("settings", shell.tray.settings_requested),
        ("collected", shell.tray.collected_requested),
        ("open", shell.tray.open_requested),
    ):
        with qtbot.waitSignal(signal):
            actions[name].trigger()

    opened = [shell.picker, shell.settings_dialog, shell.collected, shell.window]
    assert all(window is not None and window.isVisible() for window in opened)
    for window in opened:
        window.close()


def test_open_timeline_shows_today_in_one_window(
    qtbot: QtBot, shell: Shell, services: Services, clock: ManualClock
) -> None:
    """From the tray menu and from the main window's button: today in the
    worker's zone, one window raised again, a new one after it was closed."""
    _clocked(services, clock, "Acme/Design", "Globex")
    settle(qtbot, shell)
    today = services.now().astimezone(services.tz()).date()
    assert shell.timeline is None

    _open_menu(shell)["timeline"].trigger()

    window = shell.timeline
    assert window is not None
    qtbot.waitUntil(lambda: window.summary.text().startswith("Tracked"))
    assert window.isVisible()
    assert window.model.day == today
    assert window.model.tz.key == services.tz().key
    projects = window.tables["projects"]
    assert sorted(projects.item(r, 0).text() for r in range(2)) == ["Acme", "Globex"]

    # Open again while it is open (the lead went to another day): raised as is.
    with qtbot.waitSignal(window.model.changed):
        window.previous_button.click()
    shell.window.bring_to_front()
    shell.window.timeline.click()
    assert shell.timeline is window
    assert window.isVisible()
    assert window.model.day < today

    # Closed: let go; the next open is a new window on today.
    window.close()
    assert shell.timeline is None
    _open_menu(shell)["timeline"].trigger()
    reopened = shell.timeline
    assert reopened is not None
    assert reopened is not window
    assert reopened.model.day == today
    reopened.close()
    shell.window.close()
