"""Ergonomic reminders on a manual clock: counted on active time, natural
breaks, postpone limits, skipping, held back in front of full-screen and
call apps; and through the agent, a reminder taken records a break."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from agent.clock import ManualClock
from agent.errors import UserError
from agent.reminders import (
    Reminder,
    ReminderAction,
    ReminderKind,
    Reminders,
    is_hold_app,
)
from agent.settings import ReminderSettings, default_settings
from tests.breaks.conftest import START

SETTINGS = dataclasses.replace(
    default_settings().reminders,
    micro_enabled=True,
    micro_every_minutes=20,
    micro_seconds=20,
    rest_enabled=True,
    rest_every_minutes=60,
    rest_minutes=10,
    postpone_limit=2,
    postpone_minutes=5,
    skip_allowed=False,
)


class Desk:
    """A worker at the keyboard: each second typed or not."""

    def __init__(self, settings: ReminderSettings = SETTINGS) -> None:
        self.clock = ManualClock(START)
        self.reminders = Reminders(settings, self.clock)
        self.shown: list[Reminder | None] = []
        self.reminders.add_listener(self.shown.append)
        self.holding = False

    def type(self, seconds: int) -> None:
        for _ in range(seconds):
            self.clock.advance(1)
            self.reminders.tick(1, self.holding)

    def read(self, seconds: int) -> None:
        """Present without input (reading): wall time, no active time."""
        for _ in range(seconds):
            self.clock.advance(1)
            self.reminders.tick(0, self.holding)

    def answer(self, action: ReminderAction) -> Reminder:
        shown = self.reminders.pending()
        assert shown is not None
        return self.reminders.answer(shown.kind, action)


def test_counted_on_active_time_not_wall_time() -> None:
    desk = Desk()
    # 19 min of typing with a 15 s read (shorter than the micro-break) in
    # between: 19 min of activity over 19 min 15 s of wall time.
    desk.type(10 * 60)
    desk.read(15)
    desk.type(9 * 60)
    assert desk.reminders.pending() is None

    desk.type(59)
    assert desk.reminders.pending() is None
    desk.type(1)

    shown = desk.reminders.pending()
    assert shown is not None
    assert shown.kind is ReminderKind.MICRO
    assert shown.seconds == 20
    assert shown.active_seconds == 20 * 60
    assert desk.shown == [shown], "announced once"


def test_a_natural_break_resets_the_count() -> None:
    desk = Desk()
    desk.type(15 * 60)
    desk.read(20)  # idle as long as a micro-break
    desk.type(15 * 60)
    assert desk.reminders.pending() is None
    assert desk.reminders.active_seconds(ReminderKind.MICRO) == 15 * 60
    assert desk.reminders.active_seconds(ReminderKind.REST) == 30 * 60

    desk.read(10 * 60)  # as long as a rest break: both start again
    assert desk.reminders.active_seconds(ReminderKind.REST) == 0
    assert desk.reminders.active_seconds(ReminderKind.MICRO) == 0


def test_a_suspend_is_a_natural_break() -> None:
    desk = Desk()
    desk.type(50 * 60)
    desk.clock.suspend(15 * 60)
    desk.type(1)
    assert desk.reminders.active_seconds(ReminderKind.REST) == 1


def test_idle_while_a_reminder_shows_takes_it_and_closes_it() -> None:
    desk = Desk()
    desk.type(20 * 60)
    assert desk.reminders.pending() is not None
    desk.read(20)
    assert desk.reminders.pending() is None
    assert desk.shown[-1] is None


def test_the_rest_break_comes_before_the_micro_break_and_resets_both() -> None:
    desk = Desk(dataclasses.replace(SETTINGS, micro_every_minutes=60))
    desk.type(60 * 60)
    shown = desk.reminders.pending()
    assert shown is not None
    assert shown.kind is ReminderKind.REST
    desk.answer(ReminderAction.TAKE)
    assert desk.reminders.active_seconds(ReminderKind.MICRO) == 0


def test_postpone_is_limited() -> None:
    desk = Desk()
    desk.type(20 * 60)
    first = desk.answer(ReminderAction.POSTPONE)
    assert first.postpones_left == 2
    assert desk.reminders.pending() is None

    desk.type(5 * 60 - 1)
    assert desk.reminders.pending() is None, "postponed by 5 min of active time"
    desk.type(1)
    second = desk.answer(ReminderAction.POSTPONE)
    assert second.postpones_left == 1

    desk.type(5 * 60)
    third = desk.reminders.pending()
    assert third is not None
    assert third.postpones_left == 0
    with pytest.raises(UserError, match="postponed 2 times"):
        desk.reminders.answer(third.kind, ReminderAction.POSTPONE)
    assert desk.reminders.pending() == third, "still shown"


def test_skip_only_where_policy_allows() -> None:
    desk = Desk()
    desk.type(20 * 60)
    with pytest.raises(UserError, match="does not allow skipping"):
        desk.answer(ReminderAction.SKIP)

    allowed = Desk(dataclasses.replace(SETTINGS, skip_allowed=True))
    allowed.type(20 * 60)
    assert allowed.reminders.pending() is not None
    allowed.answer(ReminderAction.SKIP)
    assert allowed.reminders.pending() is None
    assert allowed.reminders.active_seconds(ReminderKind.MICRO) == 0


def test_held_back_in_front_of_a_full_screen_or_call_app_and_shown_after() -> None:
    desk = Desk()
    desk.holding = True
    desk.type(25 * 60)
    assert desk.reminders.pending() is None
    assert desk.reminders.held
    assert desk.shown == []

    desk.holding = False
    desk.type(1)
    shown = desk.reminders.pending()
    assert shown is not None
    assert shown.kind is ReminderKind.MICRO
    assert not desk.reminders.held


def test_hold_apps_match_the_app_or_the_window_class_ignoring_case() -> None:
    apps = SETTINGS.hold_apps
    assert is_hold_app(apps, "zoom", None)
    assert is_hold_app(apps, None, "ZOOM")
    assert is_hold_app(apps, "soffice.bin", "libreoffice-impress")
    assert not is_hold_app(apps, "xterm", "XTerm")


def test_input_off_the_clock_does_not_count() -> None:
    desk = Desk()
    for _ in range(30 * 60):
        desk.clock.advance(1)
        desk.reminders.tick(1, False, counting=False)
    assert desk.reminders.active_seconds(ReminderKind.MICRO) == 0


def test_a_policy_break_as_long_as_a_rest_break_counts_as_one() -> None:
    desk = Desk()
    desk.type(50 * 60)
    desk.reminders.on_break_ended(15 * 60)
    assert desk.reminders.active_seconds(ReminderKind.REST) == 0


def test_the_agent_records_a_reminder_taken_as_a_paid_break(tmp_path: Path) -> None:
    from agent.paths import Paths
    from agent.service import Agent, AgentConfig
    from agent.store import Store

    paths = Paths.from_env()
    paths.ensure()
    store = Store.open(paths.database)
    clock = ManualClock(START)
    config = AgentConfig(reminders=SETTINGS)
    agent = Agent(paths, store, clock, config)
    try:
        agent.project_choices()
        from agent.projects import Projects

        Projects(store, clock).add("Acme")
        agent.timer.start("Acme")
        agent.reminders.tick(0, False)
        for _ in range(20 * 60):
            clock.advance(1)
            agent.reminders.tick(1, False)
        shown = agent.pending_reminder()
        assert shown is not None

        taken = agent.answer_reminder(shown.kind, ReminderAction.TAKE)

        assert taken is not None
        assert (taken.policy, taken.paid, taken.origin) == (
            "micro-break",
            True,
            "reminder",
        )
        assert taken.allotted_seconds == 20
        assert agent.timer.current() is None
    finally:
        store.close()
