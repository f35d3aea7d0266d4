"""The main window and the "what is collected now" window, with screenshots."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from agent.clock import ManualClock
from agent.consent import Collection, ConsentState
from agent.screenshots import DELETED, KEPT, PRUNED, WAITING, LastCapture
from agent.store import Store
from capture.base import CaptureHealth, HealthState
from tests.timeline.synth import add_screenshot
from tests.ui.conftest import settle
from ui.collected import THUMBNAIL_HEIGHT, CollectedNow
from ui.services import Services, SyncStatus
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


def test_closing_the_main_window_keeps_the_app(
    qtbot: QtBot, shell: Shell, monkeypatch: pytest.MonkeyPatch
) -> None:
    QApplication.instance().setQuitOnLastWindowClosed(False)  # as the app does
    # With a tray to keep it in (without one: test_main_window_close.py).
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", lambda: True)
    shell.window.show()

    shell.window.close()

    assert not shell.window.isVisible()


def test_collected_rows_follow_health_policy_and_consent(
    services: Services,
) -> None:
    collection = services.collection()
    focus = CaptureHealth.working("focus", "x11")
    broken = _port_in_use()

    given = CollectedNow(collection, ConsentState.GIVEN, (focus, broken)).rows()
    declined = CollectedNow(collection, ConsentState.DECLINED, (focus,)).rows()

    states = {row.name: (row.state, row.detail) for row in given}
    assert states["Which app is in front"] == (
        "Recording",
        "App names and window titles; read from your desktop",
    )
    page = states["Web page in your browser"]
    assert page[0] == "Not working"
    assert page[1].startswith(
        "Punchclock cannot receive pages from the browser extension: port 5600"
    )
    assert page[1].endswith("To fix it: close the other tracker.")
    assert states["Screenshots"] == ("Off", "Your organisation's policy turns it off")
    assert states["Keyboard and mouse activity"][0] == "Not started"
    assert {row.state for row in declined} == {"Off"}
    assert all("declined" in row.detail for row in declined)


def _port_in_use() -> CaptureHealth:
    return CaptureHealth.unavailable(
        "browser-url",
        "aw-receiver",
        "port 5600 is in use (Address already in use)",
        "close the other tracker",
    )


# What a worker should never have to read in "what is collected now".
JARGON = ("browser-url", "aw-", "x11", "xtest", "mss", "pynput", "backend", "wayland")


def _every_source(on: bool) -> tuple[CaptureHealth, ...]:
    """Each source as the real back ends report it, working or off."""
    from capture.input.listener import X11_NOTE

    if not on:
        return (
            CaptureHealth.off("focus", "x11", "not started"),
            CaptureHealth.off("browser-url", "aw-receiver", "receiver not started"),
            CaptureHealth.off("input", "null", "input capture is off by policy"),
            CaptureHealth.off("idle", "null", "input capture is off by policy"),
            CaptureHealth.off("screenshot", "null", "screenshots are off"),
        )
    return (
        CaptureHealth.working("focus", "wayland-gnome"),
        CaptureHealth.working("browser-url", "aw-receiver"),
        CaptureHealth("input", "x11", HealthState.WORKING, X11_NOTE),
        CaptureHealth.working("idle", "x11"),
        CaptureHealth.working("screenshot", "mss"),
    )


@pytest.mark.parametrize("on", [True, False])
@pytest.mark.parametrize("title_level", ["full", "domain-only", "app-only"])
def test_collected_rows_are_in_plain_words(
    services: Services, on: bool, title_level: str
) -> None:
    settings = services.settings
    capture = dataclasses.replace(
        settings.capture, title_level=title_level, private_apps=("KeePassXC",)
    )
    collection = Collection.from_settings(
        dataclasses.replace(settings, capture=capture)
    )
    health = (*_every_source(on), _port_in_use())
    consented = CollectedNow(collection, ConsentState.GIVEN, health).rows()
    withheld = [
        row
        for state in (ConsentState.NEEDED, ConsentState.STALE)
        for row in CollectedNow(collection, state, health).rows()
    ]

    for row in consented + withheld:
        text = f"{row.name} {row.state} {row.detail}".lower()
        assert not [word for word in JARGON if word in text], row
        assert row.state in ("Recording", "Off", "Not working", "Not started")
        assert row.detail, row
    if on:
        focus = next(r for r in consented if r.name == "Which app is in front")
        assert "(never in KeePassXC)" in focus.detail
        assert ("and window titles" in focus.detail) is (title_level == "full")


def test_upload_line_says_what_waits_and_where(services: Services) -> None:
    collection = services.collection()

    def upload(sync: SyncStatus | None) -> str:
        return CollectedNow(collection, ConsentState.GIVEN, (), sync).upload_text()

    assert "no server is set up" in upload(None)
    server = "https://time.example.com"
    assert upload(SyncStatus(server=server, waiting=312)) == (
        f"Waiting for upload to {server}: 312 items."
    )
    assert upload(SyncStatus(server=server)) == (
        f"Waiting for upload: nothing — all is on {server}."
    )


def test_collected_window_renders_and_offers_withdrawal(
    qtbot: QtBot,
    shell: Shell,
    services: Services,
    health: list[CaptureHealth],
    artifacts_dir: Path,
) -> None:
    services.consent.accept(services.collection())
    health.append(CaptureHealth.working("focus", "x11"))
    health.append(_port_in_use())
    health.append(CaptureHealth.working("input", "x11"))
    health.append(CaptureHealth.working("idle", "x11"))

    shell.open_collected()
    window = shell.collected
    assert window is not None
    qtbot.waitUntil(lambda: window.table.rowCount() == 5)

    assert window.consent_button.text() == "Withdraw consent"
    assert window.table.item(0, 1).text() == "Recording"
    assert "no server is set up" in window.upload.text()
    window.grab().save(str(artifacts_dir / "tray-what-is-collected-fault.png"))
    window.close()


def test_collected_window_shows_the_last_screenshot(
    qtbot: QtBot,
    shell: Shell,
    services: Services,
    store: Store,
    clock: ManualClock,
    health: list[CaptureHealth],
    artifacts_dir: Path,
) -> None:
    settings = services.settings
    capture = dataclasses.replace(settings.capture, screenshots_enabled=True)
    services.settings = dataclasses.replace(settings, capture=capture)
    services.consent.accept(services.collection())
    for source, backend in WORKING:
        health.append(CaptureHealth.working(source, backend))
    services.add_project("Acme", None)
    services.timer.start("Acme")
    taken = clock.now() - timedelta(minutes=3)
    add_screenshot(store, services.paths.screenshots_dir, None, taken)

    shell.open_collected()
    window = shell.collected
    assert window is not None
    qtbot.waitUntil(window.thumbnail.isVisible)

    local = taken.astimezone(services.tz())
    assert window.screenshot.text() == (
        f"Last screenshot: today at {local:%H:%M}. Kept on this computer only."
    )
    picture = window.thumbnail.pixmap().toImage()
    assert picture.height() == THUMBNAIL_HEIGHT
    corner = picture.pixelColor(3, 3)
    assert abs(corner.blue() - 160) < 12
    assert abs(corner.red() - 40) < 12
    assert [window.table.item(r, 1).text() for r in range(5)] == ["Recording"] * 5
    window.grab().save(str(artifacts_dir / "tray-what-is-collected.png"))
    window.close()


WORKING = (
    ("focus", "x11"),
    ("browser-url", "aw-receiver"),
    ("input", "x11"),
    ("idle", "x11"),
    ("screenshot", "mss"),
)


def test_last_screenshot_sentence_says_what_became_of_it() -> None:
    collection = Collection(("screenshots",), (), "this computer")
    taken = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
    now = taken + timedelta(minutes=5)

    def said(shot: LastCapture | None, sync: SyncStatus | None = None) -> str:
        snapshot = CollectedNow(
            collection, ConsentState.GIVEN, (), sync, shot, (), UTC, now
        )
        return snapshot.screenshot_text()

    shot = LastCapture(taken, (1, 2), (), True, None, None, KEPT)
    waiting = dataclasses.replace(shot, state=WAITING)
    server = SyncStatus(server="https://time.example.com")
    assert said(None) == "Last screenshot: none taken yet."
    assert said(shot) == (
        "Last screenshot: today at 09:15, 2 monitors, blurred. "
        "Kept on this computer only."
    )
    assert said(waiting, server).endswith("blurred. Waiting for upload.")
    deleted = dataclasses.replace(
        shot, deleted_at=now, deleted_by="worker", state=DELETED
    )
    assert said(deleted).endswith(". Deleted by you today at 09:20.")
    pruned = dataclasses.replace(shot, state=PRUNED)
    assert "removed from this computer" in said(pruned, server)
    yesterday = dataclasses.replace(shot, taken_at=taken - timedelta(days=1))
    assert said(yesterday).startswith("Last screenshot: Sun 01 Mar at 09:15")
