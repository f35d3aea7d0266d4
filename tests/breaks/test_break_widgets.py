"""The break countdown and the reminder dialog (pytest-qt) over the real
engines on a manual clock, and a screenshot of each on the virtual desktop."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from agent.breaks import BreakView
from agent.clock import ManualClock
from agent.reminders import Reminder, ReminderAction, ReminderKind, Reminders
from agent.settings import ReminderSettings, default_settings
from tests.breaks.conftest import START, BreakWorld
from tests.desktop import VirtualDesktop
from ui.break_countdown import BreakCountdown
from ui.break_reminder import BreakReminderDialog

SCRIPT = Path(__file__).with_name("show_break_widgets.py")


class BreakService:
    """What the tray passes in, here straight over the break engine."""

    def __init__(self, world: BreakWorld) -> None:
        self.world = world

    def current_break(self) -> BreakView | None:
        return self.world.breaks.current()

    def stop_break(self) -> BreakView | None:
        return self.world.breaks.stop()


class ReminderService:
    def __init__(self, reminders: Reminders) -> None:
        self.reminders = reminders
        self.answers: list[ReminderAction] = []

    def pending_reminder(self) -> Reminder | None:
        return self.reminders.pending()

    def answer_reminder(
        self, kind: ReminderKind, action: ReminderAction
    ) -> BreakView | None:
        self.reminders.answer(kind, action)
        self.answers.append(action)
        return None


def open_countdown(qtbot: QtBot, world: BreakWorld) -> BreakCountdown:
    world.timer.start("Acme", task="Design")
    view = world.breaks.start("nap")
    countdown = BreakCountdown(BreakService(world), view, now=world.clock.now)
    qtbot.addWidget(countdown)
    countdown.show()
    return countdown


def test_the_countdown_shows_the_time_left_and_what_is_paused(
    qtbot: QtBot, world: BreakWorld
) -> None:
    countdown = open_countdown(qtbot, world)
    world.clock.advance(5 * 60 + 30)
    countdown.refresh()

    assert countdown.headline.text() == "Nap — unpaid break"
    assert countdown.left.text() == "0:14:30 left"
    assert countdown.paused.text().startswith("Acme / Design is paused")
    assert countdown.progress.value() == 330
    assert not countdown.warning.isVisible()


def test_an_overrun_turns_into_a_warning_once(qtbot: QtBot, world: BreakWorld) -> None:
    countdown = open_countdown(qtbot, world)
    overruns: list[bool] = []
    countdown.overran.connect(lambda: overruns.append(True))
    world.clock.advance(20 * 60)
    countdown.refresh()
    assert overruns == []

    world.clock.advance(65)
    with qtbot.waitSignal(countdown.overran):
        countdown.refresh()
    countdown.refresh()

    assert overruns == [True]
    assert countdown.left.text() == "+0:01:05"
    assert countdown.warning.isVisible()
    assert "Over by 0:01:05: the 20 min allotted to nap" in countdown.warning.text()
    assert world.timer.current() is None, "the break goes on"


def test_ending_the_break_resumes_the_entry(qtbot: QtBot, world: BreakWorld) -> None:
    countdown = open_countdown(qtbot, world)
    world.clock.advance(60)
    with qtbot.waitSignal(countdown.ended):
        countdown.end_button.click()

    resumed = world.timer.current()
    assert resumed is not None
    assert (resumed.project, resumed.task) == ("Acme", "Design")
    assert not countdown.isVisible()


def test_the_countdown_closes_when_the_break_ends_elsewhere(
    qtbot: QtBot, world: BreakWorld
) -> None:
    countdown = open_countdown(qtbot, world)
    world.breaks.stop()  # `punchclock break stop`, say

    with qtbot.waitSignal(countdown.ended, timeout=5000):
        pass
    assert not countdown.isVisible()


REMINDERS = dataclasses.replace(
    default_settings().reminders,
    micro_enabled=True,
    micro_every_minutes=20,
    micro_seconds=20,
    rest_enabled=False,
    postpone_limit=1,
    skip_allowed=False,
)


def due_reminder(
    settings: ReminderSettings = REMINDERS,
) -> tuple[ReminderService, ManualClock]:
    """A micro-break reminder due after 20 min of typing."""
    clock = ManualClock(START)
    reminders = Reminders(settings, clock)
    for _ in range(20 * 60):
        clock.advance(1)
        reminders.tick(1, False)
    return ReminderService(reminders), clock


def open_reminder(qtbot: QtBot, service: ReminderService) -> BreakReminderDialog:
    reminder = service.pending_reminder()
    assert reminder is not None
    dialog = BreakReminderDialog(service, reminder)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_the_reminder_offers_take_and_postpone_and_skip_only_if_allowed(
    qtbot: QtBot,
) -> None:
    service, _ = due_reminder()
    dialog = open_reminder(qtbot, service)

    assert dialog.windowTitle() == "Punchclock — time for a micro-break"
    assert dialog.postpone_button.text() == "Postpone 5 min (1 left)"
    assert dialog.postpone_button.isEnabled()
    assert not dialog.skip_button.isVisible()
    assert dialog.take_button.isVisible()


def test_postponing_until_none_are_left(qtbot: QtBot) -> None:
    service, clock = due_reminder()
    dialog = open_reminder(qtbot, service)
    with qtbot.waitSignal(dialog.answered) as signal:
        dialog.postpone_button.click()
    assert signal.args == ["postpone"]

    for _ in range(5 * 60):
        clock.advance(1)
        service.reminders.tick(1, False)
    again = open_reminder(qtbot, service)

    assert again.postpone_button.text() == "Cannot postpone again"
    assert not again.postpone_button.isEnabled()
    again.postpone()  # what a stale click would do
    assert again.isVisible()
    assert "postponed 1 times" in again.error.text()
    with qtbot.waitSignal(again.answered) as taken:
        again.take_button.click()
    assert taken.args == ["take"]
    assert service.answers == [ReminderAction.POSTPONE, ReminderAction.TAKE]


def test_skip_where_allowed(qtbot: QtBot) -> None:
    service, _ = due_reminder(dataclasses.replace(REMINDERS, skip_allowed=True))
    dialog = open_reminder(qtbot, service)
    assert dialog.skip_button.isVisible()
    with qtbot.waitSignal(dialog.answered) as signal:
        dialog.skip_button.click()
    assert signal.args == ["skip"]


def test_the_reminder_closes_after_a_natural_break(qtbot: QtBot) -> None:
    service, clock = due_reminder()
    dialog = open_reminder(qtbot, service)
    for _ in range(20):
        clock.advance(1)
        service.reminders.tick(0, False)

    with qtbot.waitSignal(dialog.finished, timeout=5000):
        pass
    assert service.answers == []


@pytest.mark.x11
@pytest.mark.parametrize("kind", ["countdown", "overrun", "reminder"])
def test_screenshot_on_the_virtual_desktop(
    desktop: VirtualDesktop, artifacts_dir: Path, kind: str
) -> None:
    name = "break_reminder" if kind == "reminder" else f"break_{kind}"
    grab = artifacts_dir / f"{name}.png"
    screen = artifacts_dir / f"{name}_desktop.png"
    grab.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), kind, str(grab)],
        env={**desktop.env, "QT_QPA_PLATFORM": "xcb"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "shown"
        title = "rest break" if kind == "reminder" else "on a break"
        desktop.find_window(title)
        _wait_for_paint(desktop, screen)
    finally:
        proc.communicate("", timeout=10)

    from PIL import Image

    with Image.open(grab) as image:
        assert image.width > 250
        colours = image.convert("L").getcolors(maxcolors=65536) or []
        assert len(colours) > 10, "a blank grab"
    assert screen.stat().st_size > 0


def _wait_for_paint(desktop: VirtualDesktop, screen: Path) -> None:
    """Screenshot the desktop once the framed window has repainted (the
    window manager's reparenting exposes it again): until the middle of the
    screen is no longer only the black root window."""
    from PIL import Image

    for _ in range(100):
        desktop.screenshot(screen)
        with Image.open(screen) as image:
            # Inside the window's body, below its title bar: centred on screen.
            body = image.crop((860, 500, 1060, 580)).convert("L")
            if (body.getextrema()[1] or 0) > 200:
                return
        time.sleep(0.05)
    pytest.fail("the window never painted on the virtual desktop")
