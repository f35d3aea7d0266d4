"""The agent's announcements reach the tray: dialogs shown and closed, the
break menu, the icon, and capture started by consent mid-session.

The real :class:`~agent.service.Agent` over the test store, never started:
the test calls ``agent.tick()`` where the scheduler would (listeners then
run on the test's thread, and still reach the widgets through queued
signals); commands from the tray run on the command runner's thread.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QColor, QPainter, QPixmap
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from agent.breaks import Breaks
from agent.capturing import CaptureSet
from agent.clock import ManualClock
from agent.consent import ConsentState
from agent.idle import IdleAnswer
from agent.reminders import ReminderAction
from agent.service import Agent, AgentConfig
from agent.settings import BreakSettings, Settings, default_settings
from agent.store import Store
from capture.base import CaptureHealth, HealthState
from capture.focus.null import NullFocusSource
from capture.idle import IdleReading, IdleSource
from tests.screenshots.conftest import FakeScreen
from tests.ui.conftest import BREAK_POLICIES, FakeAutostart, settle
from ui.capture_switch import CaptureSwitch
from ui.commands import CommandRunner
from ui.icons import TrayState
from ui.services import Services
from ui.shell import Shell

IDLE_MINUTES = 5


class FakeIdleSource(IdleSource):
    """The OS idle time as the test sets it."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.last_input = clock.boottime()
        self.closed = False

    def input(self) -> None:
        self.last_input = self.clock.boottime()

    def read(self) -> IdleReading:
        return IdleReading(self.clock.boottime() - self.last_input, False)

    def health(self) -> CaptureHealth:
        return CaptureHealth.working("idle", "fake")

    def close(self) -> None:
        self.closed = True


@dataclass
class Sources:
    """What a test hands the agent as its capture set, and what it saw."""

    clock: ManualClock
    idle: FakeIdleSource = field(init=False)
    screen: FakeScreen = field(default_factory=FakeScreen)
    made: list[CaptureSet] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.idle = FakeIdleSource(self.clock)

    def make(self, *_: object) -> CaptureSet:
        focus = NullFocusSource("no desktop in this test", state=HealthState.OFF)
        capture = CaptureSet(focus, None, None, self.idle, self.screen)
        self.made.append(capture)
        return capture


@pytest.fixture
def agent_config() -> AgentConfig:
    settings = default_settings()
    return AgentConfig(
        idle=dataclasses.replace(settings.idle, threshold_minutes=IDLE_MINUTES),
        breaks=BreakSettings(BREAK_POLICIES, session_gap_minutes=60),
        screenshots=dataclasses.replace(settings.screenshots, per_slot=1),
    )


@pytest.fixture
def sources(clock: ManualClock) -> Sources:
    return Sources(clock)


@pytest.fixture
def wired(
    qtbot: QtBot,
    services: Services,
    runner: CommandRunner,
    agent: Agent,
    sources: Sources,
    autostart: FakeAutostart,
) -> Iterator[Shell]:
    """A shell following the real agent, with the real capture switch."""
    switch = CaptureSwitch(agent, services.settings, make=sources.make)
    shell = Shell(services, runner, switch, autostart, ask_consent=False)
    qtbot.addWidget(shell.window)
    shell.listen(agent)
    settle(qtbot, shell)
    yield shell
    runner.wait()
    shell._consent_poll.stop()
    shell.dialogs.close_all()
    shell.tray.icon.hide()


def open_menu(shell: Shell) -> dict[str, QAction]:
    shell.tray.menu.aboutToShow.emit()
    menus = (shell.tray.menu, shell.tray.break_menu)
    return {a.objectName(): a for m in menus for a in m.actions() if a.objectName()}


def start_timer(qtbot: QtBot, shell: Shell, agent: Agent, project: str) -> None:
    shell.services.add_project(project, None)
    agent.timer.start(project)
    agent.tick()
    settle(qtbot, shell)


def visible(widget: object) -> bool:
    return widget is not None and widget.isVisible()  # type: ignore[attr-defined]


# breaks


def test_break_menu_lists_policies_disabled_with_their_reason(
    qtbot: QtBot, wired: Shell, agent: Agent
) -> None:
    start_timer(qtbot, wired, agent, "Acme")
    actions = open_menu(wired)

    menu = actions["take-break"].menu()
    assert isinstance(menu, QMenu)
    assert menu.title() == "Take a break"
    coffee, lunch = actions["break:coffee"], actions["break:lunch"]
    assert coffee.text() == "coffee (paid, 15 min, any time)"
    assert coffee.isEnabled()
    assert not lunch.isEnabled()
    assert "3 h" in lunch.toolTip()
    assert "end-break" not in actions


def test_taking_a_break_shows_the_countdown_and_ending_it_resumes(
    qtbot: QtBot, wired: Shell, agent: Agent
) -> None:
    start_timer(qtbot, wired, agent, "Acme")
    open_menu(wired)["break:coffee"].trigger()
    qtbot.waitUntil(lambda: visible(wired.dialogs.countdown))
    settle(qtbot, wired)

    assert wired.dialogs.countdown is not None
    assert wired.dialogs.countdown.view.policy == "coffee"
    assert wired.model.state() is TrayState.BREAK
    assert "on a break (coffee)" in wired.tray.icon.toolTip()
    actions = open_menu(wired)
    assert actions["status"].text().startswith("On a break: coffee")
    assert "take-break" not in actions

    actions["end-break"].trigger()
    qtbot.waitUntil(lambda: not visible(wired.dialogs.countdown))
    settle(qtbot, wired)
    assert wired.model.state() is TrayState.RUNNING
    entry = agent.timer.current()
    assert entry is not None
    assert entry.project == "Acme"


def test_a_break_ended_elsewhere_closes_the_countdown(
    qtbot: QtBot, wired: Shell, agent: Agent, services: Services
) -> None:
    start_timer(qtbot, wired, agent, "Acme")
    # Another process (the CLI) takes and ends the break; the tick sees it.
    other = Breaks(agent.store, agent.clock, agent.config.breaks)
    other.start("coffee")
    agent.tick()
    qtbot.waitUntil(lambda: visible(wired.dialogs.countdown))

    other.stop()
    agent.tick()
    qtbot.waitUntil(lambda: not visible(wired.dialogs.countdown))
    assert wired.model.on_break is None


def test_a_break_left_open_before_a_restart_shows_at_start(
    qtbot: QtBot,
    services: Services,
    runner: CommandRunner,
    agent: Agent,
    autostart: FakeAutostart,
) -> None:
    services.add_project("Acme", None)
    agent.timer.start("Acme")
    agent.start_break("coffee")
    shell = Shell(services, runner, None, autostart, ask_consent=False)
    qtbot.addWidget(shell.window)

    shell.listen(agent)
    qtbot.waitUntil(lambda: visible(shell.dialogs.countdown))
    assert shell.model.state() is TrayState.BREAK
    runner.wait()
    shell.dialogs.close_all()


# reminders


def test_a_reminder_is_shown_and_taking_it_starts_its_break(
    qtbot: QtBot, wired: Shell, agent: Agent
) -> None:
    start_timer(qtbot, wired, agent, "Acme")
    agent.reminders.tick(3600, holding=False, counting=True)
    qtbot.waitUntil(lambda: visible(wired.dialogs.reminder_dialog))

    dialog = wired.dialogs.reminder_dialog
    assert dialog is not None
    dialog.take_button.click()
    qtbot.waitUntil(lambda: visible(wired.dialogs.countdown))
    assert not dialog.isVisible()
    assert wired.model.on_break is not None
    assert wired.model.on_break.origin == "reminder"


def test_a_reminder_answered_elsewhere_closes_its_dialog(
    qtbot: QtBot, wired: Shell, agent: Agent
) -> None:
    start_timer(qtbot, wired, agent, "Acme")
    agent.reminders.tick(3600, holding=False, counting=True)
    qtbot.waitUntil(lambda: visible(wired.dialogs.reminder_dialog))
    reminder = agent.pending_reminder()
    assert reminder is not None

    agent.reminders.answer(reminder.kind, ReminderAction.SKIP)
    qtbot.waitUntil(lambda: not visible(wired.dialogs.reminder_dialog))


# idle: consent turns on capture, the idle source sees the worker leave


def give_consent(qtbot: QtBot, shell: Shell) -> None:
    shell._change_consent(True, confirmed=True)
    settle(qtbot, shell)
    assert shell.model.consent is ConsentState.GIVEN


def walk_away(agent: Agent, clock: ManualClock, minutes: int) -> None:
    for _ in range(minutes * 2):
        clock.advance(30)
        agent.tick()


def test_away_shows_idle_and_the_prompt_on_return(
    qtbot: QtBot, wired: Shell, agent: Agent, clock: ManualClock, sources: Sources
) -> None:
    give_consent(qtbot, wired)
    start_timer(qtbot, wired, agent, "Acme")

    walk_away(agent, clock, IDLE_MINUTES + 10)
    qtbot.waitUntil(lambda: wired.model.away)
    settle(qtbot, wired)
    assert wired.model.state() is TrayState.IDLE
    assert open_menu(wired)["status"].text().startswith("Away")

    sources.idle.input()
    clock.advance(1)
    agent.tick()
    qtbot.waitUntil(lambda: visible(wired.dialogs.idle_dialog))
    dialog = wired.dialogs.idle_dialog
    assert dialog is not None
    assert "You were away" in dialog.prompt.message()
    assert not wired.model.away

    dialog.apply_button.click()  # keep, the default
    assert not dialog.isVisible()
    qtbot.waitUntil(lambda: wired.model.idle_prompt is None)
    assert agent.pending_idle() is None


def test_an_idle_prompt_answered_elsewhere_closes_its_dialog(
    qtbot: QtBot, wired: Shell, agent: Agent, clock: ManualClock, sources: Sources
) -> None:
    give_consent(qtbot, wired)
    start_timer(qtbot, wired, agent, "Acme")
    walk_away(agent, clock, IDLE_MINUTES + 10)
    sources.idle.input()
    agent.tick()
    qtbot.waitUntil(lambda: visible(wired.dialogs.idle_dialog))
    prompt = agent.pending_idle()
    assert prompt is not None

    agent.resolve_idle(prompt.period_id, IdleAnswer.discard())
    qtbot.waitUntil(lambda: not visible(wired.dialogs.idle_dialog))
    assert "idle-prompt" not in open_menu(wired)


def test_a_dismissed_idle_prompt_waits_in_the_menu(
    qtbot: QtBot, wired: Shell, agent: Agent, clock: ManualClock, sources: Sources
) -> None:
    give_consent(qtbot, wired)
    start_timer(qtbot, wired, agent, "Acme")
    walk_away(agent, clock, IDLE_MINUTES + 10)
    sources.idle.input()
    agent.tick()
    qtbot.waitUntil(lambda: visible(wired.dialogs.idle_dialog))
    first = wired.dialogs.idle_dialog
    assert first is not None
    first.reject()

    item = open_menu(wired)["idle-prompt"]
    assert item.text().startswith("You were away")
    item.trigger()
    assert visible(wired.dialogs.idle_dialog)
    assert wired.dialogs.idle_dialog is not first


# consent mid-session: focus, input, idle and screenshots start


def test_consent_mid_session_starts_capture_and_screenshots(
    qtbot: QtBot, wired: Shell, agent: Agent, clock: ManualClock, sources: Sources
) -> None:
    assert (agent.capture, agent.screenshots) == (None, None)

    give_consent(qtbot, wired)
    assert sources.made
    assert agent.capture is sources.made[0]
    assert agent.screenshots is not None

    start_timer(qtbot, wired, agent, "Acme")
    notices = wired.dialogs.notices
    with qtbot.waitSignal(notices.bridge.shot_taken, timeout=10_000):
        for _ in range(70):  # up to a whole slot; its screenshot comes in it
            clock.advance(10)
            sources.idle.input()
            agent.tick()
            # The capture runs on the screenshot worker: give it a moment
            # to begin, so the clock stops well inside the grace period.
            if sources.screen.grabbing.wait(0.05):
                break
    qtbot.waitUntil(lambda: visible(notices.current))
    assert sources.screen.grabs == 1

    assert notices.current is not None
    failures: list[str] = []
    wired.runner.failed.connect(lambda _name, message: failures.append(message))
    with qtbot.waitSignal(notices.current.deleted, timeout=5000):
        notices.current.delete_button.click()
    assert failures == []


def test_withdrawn_consent_stops_capture_and_screenshots(
    qtbot: QtBot, wired: Shell, agent: Agent, sources: Sources
) -> None:
    give_consent(qtbot, wired)
    screenshots = agent.screenshots
    assert screenshots is not None

    wired._change_consent(False, confirmed=True)
    settle(qtbot, wired)
    assert agent.capture is None
    assert agent.screenshots is None
    assert sources.idle.closed
    assert sources.screen.closed


# sync


def test_sync_now_asks_the_agent_off_the_ui_thread(
    qtbot: QtBot, wired: Shell, agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    monkeypatch.setattr(
        agent, "sync_now", lambda: threads.append(threading.current_thread())
    )
    server = "https://time.example.com"
    wired.services.settings = _with_server(wired.services.settings, server)
    settle(qtbot, wired)

    actions = open_menu(wired)
    assert actions["sync-now"].isEnabled()
    actions["sync-now"].trigger()
    assert open_menu(wired)["sync"].text() == "Syncing…"
    wired.runner.wait()
    assert threads
    assert threads[0] is not threading.main_thread()


def _with_server(settings: Settings, server: str) -> Settings:
    sync = dataclasses.replace(settings.sync, server_url=server)
    return dataclasses.replace(settings, sync=sync)


# a picture of the menu for people


def test_tray_menu_with_breaks_and_sync_line_screenshot(
    qtbot: QtBot, wired: Shell, agent: Agent, store: Store, artifacts_dir: Path
) -> None:
    from sync.service import StoreSink
    from sync.uploader import SyncState
    from tests.sync.queueing import queue_uploads

    queue_uploads(store)  # signed in: the entry below waits for upload
    synced = agent.clock.now() - timedelta(minutes=2)
    StoreSink(store).publish(SyncState(last_success=synced.isoformat()))
    wired.services.settings = _with_server(wired.services.settings, "https://t.example")
    start_timer(qtbot, wired, agent, "Acme")

    menu, breaks = wired.tray.menu, wired.tray.break_menu
    menu.aboutToShow.emit()
    settle(qtbot, wired)
    menu.popup(QPoint(0, 0))
    qtbot.waitExposed(menu)
    breaks.popup(QPoint(menu.width(), 0))
    qtbot.waitExposed(breaks)
    texts = [a.text() for a in menu.actions()]
    assert "Synced 2 min ago — " in next(t for t in texts if t.startswith("Synced"))
    assert any(a.text().startswith("coffee") for a in breaks.actions())

    image = side_by_side(menu.grab(), breaks.grab())
    path = artifacts_dir / "tray-menu-breaks-sync.png"
    assert image.save(str(path))
    menu.hide()
    breaks.hide()


def side_by_side(left: QPixmap, right: QPixmap) -> QPixmap:
    width = left.width() + right.width()
    image = QPixmap(width, max(left.height(), right.height()))
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.drawPixmap(0, 0, left)
    painter.drawPixmap(left.width(), 0, right)
    painter.end()
    return image


def test_main_window_on_a_break_says_so_and_its_button_ends_the_break(
    qtbot: QtBot, wired: Shell, agent: Agent
) -> None:
    start_timer(qtbot, wired, agent, "Acme")
    agent.start_break("coffee")
    agent.tick()
    qtbot.waitUntil(lambda: wired.model.on_break is not None)
    window = wired.window
    window.refresh_view()

    assert window.state.text().startswith("On a break (coffee) since")
    assert "Acme is paused" in window.state.text()
    assert window.start_stop.text() == "End &break and resume"

    qtbot.mouseClick(window.start_stop, Qt.MouseButton.LeftButton)
    agent.tick()
    settle(qtbot, wired)
    resumed = agent.timer.current()
    assert resumed is not None
    assert resumed.project == "Acme"
    assert agent.breaks.current() is None
