"""The main window and the "what is collected now" window, with screenshots."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from agent.clock import ManualClock
from agent.consent import ConsentState
from capture.base import CaptureHealth
from tests.ui.conftest import settle
from ui.collected import CollectedNow
from ui.services import Services
from ui.shell import Shell


def _work(services: Services, clock: ManualClock) -> None:
    services.add_project("Acme", "Design")
    services.add_project("Acme", "Invoices")
    services.add_project("Globex", None)
    services.timer.start("Globex")
    clock.advance(3600)
    services.timer.stop()
    services.timer.start("Acme", "Design", "wireframes for the intake form")
    clock.advance(1500)


def test_main_window_shows_the_running_timer_and_totals(
    qtbot: QtBot,
    shell: Shell,
    services: Services,
    clock: ManualClock,
    artifacts_dir: Path,
) -> None:
    _work(services, clock)
    settle(qtbot, shell)
    window = shell.window
    window.show()

    assert window.state.text().startswith("Running since")
    assert "Acme / Design" in window.state.text()
    assert window.elapsed.text() == "0:25:00"
    assert window.totals.text() == "Today 1:25 · this week 1:25"
    assert window.project.currentText() == "Acme"
    assert window.task.currentText() == "Design"
    assert window.note.text() == "wireframes for the intake form"
    assert window.start_stop.text() == "St&op"
    window.grab().save(str(artifacts_dir / "tray-main-window.png"))


def test_main_window_starts_switches_and_stops(
    qtbot: QtBot, shell: Shell, services: Services, clock: ManualClock
) -> None:
    _work(services, clock)
    services.timer.stop()
    settle(qtbot, shell)
    window = shell.window
    window.show()
    window.project.setCurrentText("Acme")
    window.task.setCurrentText("Invoices")
    assert window.start_stop.text() == "&Start"

    qtbot.mouseClick(window.start_stop, Qt.MouseButton.LeftButton)
    settle(qtbot, shell)
    entry = services.current()
    assert entry is not None
    assert (entry.project, entry.task) == ("Acme", "Invoices")

    window.project.setCurrentText("Globex")
    assert window.start_stop.text() == "S&witch to Globex"
    qtbot.mouseClick(window.start_stop, Qt.MouseButton.LeftButton)
    settle(qtbot, shell)
    entry = services.current()
    assert entry is not None
    assert entry.project == "Globex"

    qtbot.mouseClick(window.start_stop, Qt.MouseButton.LeftButton)
    settle(qtbot, shell)
    assert services.current() is None


def test_main_window_is_keyboard_reachable(
    qtbot: QtBot, shell: Shell, services: Services, clock: ManualClock
) -> None:
    _work(services, clock)
    services.timer.stop()
    settle(qtbot, shell)
    window = shell.window
    window.show()
    window.activateWindow()
    window.project.setFocus()

    order = [window.project]
    for _ in range(6):
        order.append(order[-1].nextInFocusChain())
    assert order[:5] == [
        window.project,
        window.task,
        window.note,
        window.start_stop,
        window.switch,
    ]

    window.project.setCurrentText("Globex")
    with qtbot.waitActive(window):
        window.activateWindow()
    qtbot.keyClick(
        window.project, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier
    )
    settle(qtbot, shell)
    entry = services.current()
    assert entry is not None
    assert entry.project == "Globex"


def test_note_enter_saves_the_running_entrys_note(
    qtbot: QtBot, shell: Shell, services: Services, clock: ManualClock
) -> None:
    _work(services, clock)
    settle(qtbot, shell)
    window = shell.window
    window.show()
    window.note.clear()

    qtbot.keyClicks(window.note, "call with the client")
    qtbot.keyClick(window.note, Qt.Key.Key_Return)
    settle(qtbot, shell)

    entry = services.current()
    assert entry is not None
    assert entry.note == "call with the client"


def test_closing_the_main_window_keeps_the_app(qtbot: QtBot, shell: Shell) -> None:
    QApplication.instance().setQuitOnLastWindowClosed(False)  # as the app does
    shell.window.show()

    shell.window.close()

    assert not shell.window.isVisible()


def test_collected_rows_follow_health_policy_and_consent(
    services: Services,
) -> None:
    collection = services.collection()
    focus = CaptureHealth.working("focus", "x11")
    broken = CaptureHealth.unavailable(
        "browser", "receiver", "port 5600 is in use", "close the other tracker"
    )

    given = CollectedNow(collection, ConsentState.GIVEN, (focus, broken)).rows()
    declined = CollectedNow(collection, ConsentState.DECLINED, (focus,)).rows()

    states = {row.name: (row.state, row.detail) for row in given}
    assert states["Focused app and window title"] == ("on", "through x11")
    assert states["Browser address (from the extension)"][0] == "unavailable"
    assert (
        "close the other tracker" in states["Browser address (from the extension)"][1]
    )
    assert states["Screenshots"] == ("off", "off by policy")
    assert states["Keyboard and mouse activity"][0] == "not running"
    assert {row.state for row in declined} == {"off"}
    assert all("declined" in row.detail for row in declined)


def test_collected_window_renders_and_offers_withdrawal(
    qtbot: QtBot,
    shell: Shell,
    services: Services,
    health: list[CaptureHealth],
    artifacts_dir: Path,
) -> None:
    services.consent.accept(services.collection())
    health.append(CaptureHealth.working("focus", "x11"))
    health.append(
        CaptureHealth.unavailable(
            "browser", "receiver", "port 5600 is in use", "close the other tracker"
        )
    )
    health.append(CaptureHealth.working("input", "pynput"))
    health.append(CaptureHealth.working("idle", "x11-screensaver"))

    shell.open_collected()
    window = shell.collected
    assert window is not None
    qtbot.waitUntil(lambda: window.table.rowCount() == 5)

    assert window.consent_button.text() == "Withdraw consent"
    assert window.table.item(0, 1).text() == "on"
    assert "not connected to a server" in window.upload.text()
    window.grab().save(str(artifacts_dir / "tray-what-is-collected.png"))
    window.close()
