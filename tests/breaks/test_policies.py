"""Break policies on a manual clock: every rule, refusals, paid and unpaid
totals, overruns, resuming, a suspend during a break, idle turned into a
break."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.breaks import BreakRefusedError, Origin, break_totals
from agent.errors import ConflictError, UserError
from agent.idle import IdleAnswer
from agent.reporting import collect_report
from tests.breaks.conftest import HOUR, START, BreakWorld


def test_a_break_pauses_the_entry_and_resumes_on_the_same_project_and_task(
    world: BreakWorld,
) -> None:
    world.timer.start("Acme", task="Design", note="mockups")
    world.work(1)

    taken = world.breaks.start("coffee")
    assert world.timer.current() is None
    assert world.breaks.capture_paused
    assert (taken.project, taken.task, taken.paid) == ("Acme", "Design", True)

    world.tick(600)
    ended = world.breaks.stop()
    assert ended is not None
    assert ended.elapsed(world.clock.now()) == 600

    resumed = world.timer.current()
    assert resumed is not None
    assert (resumed.project, resumed.task, resumed.note) == (
        "Acme",
        "Design",
        "mockups",
    )
    assert resumed.start == ended.end
    assert not world.breaks.capture_paused
    first, second = world.entries()
    assert first.end == taken.start
    assert second.start == ended.end


def test_no_break_without_a_running_timer_and_none_on_top_of_another(
    world: BreakWorld,
) -> None:
    with pytest.raises(UserError, match="no timer is running"):
        world.breaks.start("coffee")

    world.timer.start("Acme")
    world.breaks.start("coffee")
    with pytest.raises(ConflictError, match="on a break already"):
        world.breaks.start("coffee")


def test_an_unknown_policy_names_the_known_ones(world: BreakWorld) -> None:
    world.timer.start("Acme")
    with pytest.raises(UserError, match="coffee, lunch"):
        world.breaks.start("siesta")


def test_any_time(world: BreakWorld) -> None:
    world.timer.start("Acme")
    for _ in range(3):
        world.breaks.start("coffee")
        world.tick(60)
        world.breaks.stop()

    assert [row.policy for row in world.rows()] == ["coffee"] * 3


def test_once_per_work_session_only_after_hours_refused_with_the_moment(
    world: BreakWorld,
) -> None:
    world.timer.start("Acme")
    world.work(2)

    with pytest.raises(BreakRefusedError) as refused:
        world.breaks.start("lunch")
    availability = refused.value.availability
    assert not availability.allowed
    assert availability.available_at == world.clock.now() + timedelta(hours=1)
    assert "1 h more in this work session" in str(refused.value)
    assert world.timer.current() is not None, "a refused break changes nothing"

    world.work(1)
    world.breaks.start("lunch")
    world.tick(1800)
    world.breaks.stop()


def test_once_per_work_session_refuses_a_second_until_a_new_session(
    world: BreakWorld,
) -> None:
    world.timer.start("Acme")
    world.breaks.start("nap")
    world.tick(60)
    world.breaks.stop()
    world.work(4)

    with pytest.raises(BreakRefusedError, match="next work session") as refused:
        world.breaks.start("nap")
    assert refused.value.availability.available_at is None

    # Off the clock for longer than the session gap: a new work session.
    world.timer.stop()
    world.clock.advance(61 * 60)
    world.timer.start("Acme")
    world.breaks.start("nap")


def test_a_paid_break_counts_toward_the_hours_an_unpaid_one_does_not(
    world: BreakWorld,
) -> None:
    world.timer.start("Acme")
    world.work(2.5)
    world.breaks.start("coffee")  # paid
    world.work(0.5)
    world.breaks.stop()

    assert world.breaks.availability("lunch").allowed  # 2.5 h + 0.5 h paid

    other = world.breaks.availability("rest")
    assert other.allowed


def test_unpaid_time_does_not_count(world: BreakWorld) -> None:
    world.timer.start("Acme")
    world.work(2.5)
    world.breaks.start("nap")  # unpaid
    world.work(0.5)
    world.breaks.stop()

    refused = world.breaks.availability("lunch")
    assert not refused.allowed
    assert refused.available_at == world.clock.now() + timedelta(minutes=30)


def test_at_most_once_every_n_hours(world: BreakWorld) -> None:
    world.timer.start("Acme")
    world.breaks.start("stretch")
    began = world.clock.now()
    world.tick(600)
    world.breaks.stop()
    world.work(1)

    with pytest.raises(BreakRefusedError, match="at most once every 2 h") as refused:
        world.breaks.start("stretch")
    assert refused.value.availability.available_at == began + timedelta(hours=2)

    world.clock.advance(2 * HOUR - (world.clock.now() - began).total_seconds())
    world.breaks.start("stretch")


def test_after_every_n_hours_of_work(world: BreakWorld) -> None:
    world.timer.start("Acme")
    world.work(1)
    refused = world.breaks.availability("rest")
    assert not refused.allowed
    assert refused.available_at == world.clock.now() + timedelta(hours=1)

    world.work(1)
    world.breaks.start("rest")  # the one earned by 2 h
    world.tick(600)  # paid: counts as work
    world.breaks.stop()

    second = world.breaks.availability("rest")
    assert not second.allowed
    assert second.available_at == world.clock.now() + timedelta(hours=2) - timedelta(
        minutes=10
    )
    world.work(2)
    assert world.breaks.availability("rest").allowed


def test_refused_when_the_timer_is_off_says_so_and_gives_no_moment(
    world: BreakWorld,
) -> None:
    world.timer.start("Acme")
    world.work(1)
    world.timer.stop()

    refused = world.breaks.availability("rest")
    assert not refused.allowed
    assert refused.available_at is None
    assert "timer is not running" in (refused.reason or "")


def test_paid_and_unpaid_totals_and_the_report_shows_breaks_apart(
    world: BreakWorld,
) -> None:
    world.timer.start("Acme")
    world.work(3)
    world.breaks.start("lunch")
    world.work(0.75)
    world.breaks.stop()
    world.work(1)
    world.breaks.start("coffee")
    world.work(0.25)
    world.breaks.stop()
    world.work(1)
    world.timer.stop()

    day_end = START + timedelta(days=1)
    totals = {
        (t.policy, t.paid): t.seconds
        for t in break_totals(world.store, START, day_end, world.clock.now())
    }
    assert totals == {("lunch", False): 0.75 * HOUR, ("coffee", True): 0.25 * HOUR}
    assert world.worked_seconds() == 5 * HOUR

    day = START.date()
    now = world.clock.now()
    report = collect_report(world.store, "project", ZoneInfo("UTC"), day, day, now)
    assert report.total_seconds == 5 * HOUR
    assert [(r.key, r.seconds) for r in report.rows] == [("Acme", 5 * HOUR)]
    assert report.paid_break_seconds == 0.25 * HOUR
    shown = report.as_json_dict()
    assert shown["breaks"] == [
        {"policy": "lunch", "paid": False, "seconds": 2700},
        {"policy": "coffee", "paid": True, "seconds": 900},
    ]


def test_an_overrun_is_warned_once(world: BreakWorld) -> None:
    warned = []
    world.breaks.add_overrun_listener(warned.append)
    world.timer.start("Acme")
    taken = world.breaks.start("coffee")

    world.tick(15 * 60)
    assert warned == []
    left = taken.remaining(world.clock.now())
    assert left == 0

    world.tick(1)
    assert [w.id for w in warned] == [taken.id]
    current = world.breaks.current()
    assert current is not None
    assert current.overrun(world.clock.now())
    world.tick(120)
    assert len(warned) == 1, "warned once per break"
    assert world.timer.current() is None, "an overrun does not end the break"


def test_a_reminder_break_ends_by_itself_after_its_length(world: BreakWorld) -> None:
    from agent.breaks import BreakPolicy

    world.timer.start("Acme", task="Design")
    taken = world.breaks.start(
        origin=Origin.REMINDER, policy=BreakPolicy("micro-break", True, 20 / 60)
    )
    world.tick(25)

    (row,) = world.rows()
    assert (row.origin, row.allotted_seconds) == ("reminder", 20)
    assert row.end == taken.start + timedelta(seconds=20)
    resumed = world.timer.current()
    assert resumed is not None
    assert resumed.start == row.end
    assert resumed.task == "Design"


def test_starting_the_timer_during_a_break_ends_the_break_there(
    world: BreakWorld,
) -> None:
    world.timer.start("Acme")
    world.breaks.start("coffee")
    world.tick(300)
    switched = world.timer.start("Globex")  # the CLI, say
    world.tick(2)

    (row,) = world.rows()
    assert row.end == switched.start
    assert world.breaks.current() is None
    current = world.timer.current()
    assert current is not None
    assert current.project == "Globex"


def test_a_suspend_during_a_break_ends_it_at_the_suspend_and_is_no_idle_period(
    world: BreakWorld,
) -> None:
    world.timer.start("Acme", task="Design")
    world.work(1)
    world.breaks.start("coffee")
    world.tick(300, typing=False)
    asleep_at = world.clock.now()

    world.clock.suspend(8 * HOUR)
    world.step()

    (row,) = world.rows()
    assert row.end == asleep_at, "ended at the suspend, not on wake"
    assert world.periods() == [], "the sleep is not also an idle period"
    resumed = world.timer.current()
    assert resumed is not None
    assert resumed.start == world.clock.now()
    assert resumed.task == "Design"
    assert world.worked_seconds() == HOUR, "sleep never counts as work"

    world.tick(5)
    assert world.monitor.pending() is None


def test_idle_time_turned_into_a_break_under_the_policy(world: BreakWorld) -> None:
    world.timer.start("Acme")
    world.work(3)
    world.tick(60)
    world.tick(30 * 60, typing=False)
    world.tick(1)
    prompt = world.monitor.pending()
    assert prompt is not None
    assert prompt.break_policy == "lunch"

    world.monitor.resolve(prompt.period_id, IdleAnswer.as_break())

    (row,) = world.rows()
    assert (row.policy, row.paid, row.origin) == ("lunch", False, "idle")
    assert (row.start, row.end) == (prompt.start, prompt.end)
    assert row.allotted_seconds == HOUR


def test_idle_turned_into_a_break_the_rule_refuses_changes_nothing(
    world: BreakWorld,
) -> None:
    world.timer.start("Acme")
    world.tick(60)
    world.tick(20 * 60, typing=False)
    world.tick(1)
    prompt = world.monitor.pending()
    assert prompt is not None

    with pytest.raises(BreakRefusedError, match="lunch is once per work session"):
        world.monitor.resolve(prompt.period_id, IdleAnswer.as_break())

    assert world.rows() == []
    assert world.monitor.pending() == prompt, "still waits for an answer"
    world.monitor.resolve(prompt.period_id, IdleAnswer.keep())
