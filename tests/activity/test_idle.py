"""Idle detection, away time and the idle prompt's answers, on a manual clock
with a fake OS idle source (idle time cannot be fast-forwarded for real)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from agent.errors import UserError
from agent.idle import (
    AlreadyResolvedError,
    AnswerPart,
    IdleAnswer,
    IdlePolicy,
    IdlePrompt,
    Resolution,
)
from agent.store.models import EntrySource
from capture.idle import IdleReading
from tests.activity.conftest import START, World


def work_then_leave(world: World, idle_minutes: int = 20) -> IdlePrompt:
    """Clock in at 9:00, type for a minute, walk away, come back, type."""
    world.timer.start("Acme", task="Design")
    world.tick(60, typing=True)
    world.tick(idle_minutes * 60)
    world.tick(1, typing=True)
    prompt = world.monitor.pending()
    assert prompt is not None
    return prompt


def test_idle_period_starts_at_the_last_input_not_at_the_threshold(
    world: World,
) -> None:
    world.timer.start("Acme")
    world.tick(60, typing=True)
    last_input = world.clock.now()

    world.tick(299)
    assert world.timer.current() is not None, "cut before the threshold"
    world.tick(1)

    assert world.timer.current() is None
    (entry,) = world.entries()
    assert entry.end == last_input
    (period,) = world.periods()
    assert (period.start, period.end, period.cause) == (last_input, None, "idle")
    assert world.monitor.away
    assert world.monitor.pending() is None, "asked before the worker is back"


def test_return_ends_the_period_and_continues_the_same_task(world: World) -> None:
    prompt = work_then_leave(world, idle_minutes=15)

    back = world.clock.now()
    assert prompt.start == START + timedelta(seconds=60)
    assert prompt.end == back
    assert (prompt.project, prompt.task, prompt.cause) == ("Acme", "Design", "idle")
    running = world.timer.current()
    assert running is not None
    assert (running.project, running.task, running.start) == ("Acme", "Design", back)
    assert "(15 min)" in prompt.message()
    assert prompt.message().startswith("You were away from ")


def test_clocked_in_and_away_before_any_input_is_asked_about_on_return(
    world: World,
) -> None:
    world.tick(30, typing=True)
    world.tick(10)
    started = world.timer.start("Acme").start  # from a script, no input after
    world.tick(600)
    world.tick(1, typing=True)

    back = world.clock.now()
    prompt = world.monitor.pending()
    assert prompt is not None
    assert (prompt.start, prompt.end) == (started, back)
    running = world.timer.current()
    assert running is not None
    assert running.start == back


def test_idle_while_stopped_cuts_nothing_and_asks_nothing(world: World) -> None:
    world.tick(60, typing=True)
    world.tick(3600)
    world.tick(1, typing=True)

    assert world.periods() == []
    assert world.entries() == []
    assert world.monitor.pending() is None


def test_eight_hour_suspend_is_no_work_and_the_prompt_starts_at_the_last_input(
    world: World,
) -> None:
    world.timer.start("Acme")
    world.tick(600, typing=True)
    last_input = world.clock.now()
    world.tick(120)  # two quiet minutes, then the lid closes
    world.clock.suspend(8 * 3600)
    world.step()
    world.tick(1, typing=True)

    prompt = world.monitor.pending()
    assert prompt is not None
    assert prompt.start == last_input
    assert prompt.cause == "suspend"
    assert prompt.seconds >= 8 * 3600 + 120
    # Worked: the ten typed minutes and the second after waking up.
    assert world.worked_seconds() == pytest.approx(601, abs=1)
    first = world.entries()[0]
    assert first.end == last_input


def test_a_short_sleep_right_after_input_is_dropped_without_a_question(
    world: World,
) -> None:
    world.timer.start("Acme")
    world.tick(60, typing=True)
    world.clock.suspend(90)
    world.step()
    world.tick(5, typing=True)

    assert world.monitor.pending() is None
    (period,) = world.periods()
    assert (period.cause, period.resolution, period.resolved_by) == (
        "suspend",
        "discard",
        "policy",
    )
    assert world.worked_seconds() == pytest.approx(65, abs=1)


def test_keep(world: World) -> None:
    prompt = work_then_leave(world)
    world.monitor.resolve(prompt.period_id, IdleAnswer.keep())

    kept = [e for e in world.entries() if e.source == EntrySource.IDLE_KEPT]
    assert [(e.start, e.end) for e in kept] == [(prompt.start, prompt.end)]
    assert kept[0].project.name == "Acme"
    assert kept[0].task is not None
    assert kept[0].task.name == "Design"
    assert world.monitor.pending() is None
    (period,) = world.periods()
    assert (period.resolution, period.resolved_by) == ("keep", "worker")


def test_discard(world: World) -> None:
    prompt = work_then_leave(world)
    before = world.worked_seconds()
    world.monitor.resolve(prompt.period_id, IdleAnswer.discard())

    assert world.worked_seconds() == before
    assert world.periods()[0].resolution == "discard"
    assert world.monitor.pending() is None


def test_reassign_to_another_project_and_task(world: World) -> None:
    prompt = work_then_leave(world)
    world.monitor.resolve(
        prompt.period_id, IdleAnswer.reassign("Globex", "Support", note="phone call")
    )

    (kept,) = [e for e in world.entries() if e.source == EntrySource.IDLE_KEPT]
    assert (kept.project.name, kept.task and kept.task.name) == ("Globex", "Support")
    assert (kept.start, kept.end) == (prompt.start, prompt.end)
    assert world.periods()[0].note == "phone call"


def test_break(world: World) -> None:
    prompt = work_then_leave(world)
    world.monitor.resolve(prompt.period_id, IdleAnswer.as_break())

    (taken,) = world.breaks()
    assert (taken.start, taken.end, taken.origin) == (prompt.start, prompt.end, "idle")
    assert (taken.policy, taken.paid) == ("idle", False)
    assert not [e for e in world.entries() if e.source == EntrySource.IDLE_KEPT]


def test_split_across_keep_break_and_discard(world: World) -> None:
    prompt = work_then_leave(world, idle_minutes=30)
    first = prompt.start + timedelta(minutes=10)
    second = first + timedelta(minutes=15)
    answer = IdleAnswer.split(
        [
            AnswerPart(Resolution.REASSIGN, first, "Globex"),
            AnswerPart(Resolution.BREAK, second),
            AnswerPart(Resolution.DISCARD),
        ]
    )
    world.monitor.resolve(prompt.period_id, answer)

    (kept,) = [e for e in world.entries() if e.source == EntrySource.IDLE_KEPT]
    assert (kept.project.name, kept.start, kept.end) == ("Globex", prompt.start, first)
    (taken,) = world.breaks()
    assert (taken.start, taken.end) == (first, second)
    (period,) = world.periods()
    assert period.resolution == "split"
    parts = json.loads(period.detail or "{}")["parts"]
    assert [p["action"] for p in parts] == ["reassign", "break", "discard"]


def test_a_split_must_cover_the_period_in_order(world: World) -> None:
    prompt = work_then_leave(world)
    late = prompt.end + timedelta(minutes=1)
    with pytest.raises(UserError):
        world.monitor.resolve(
            prompt.period_id,
            IdleAnswer.split(
                [AnswerPart(Resolution.KEEP, late), AnswerPart(Resolution.DISCARD)]
            ),
        )
    with pytest.raises(UserError):
        world.monitor.resolve(
            prompt.period_id,
            IdleAnswer.split(
                [AnswerPart(Resolution.KEEP), AnswerPart(Resolution.DISCARD)]
            ),
        )
    assert world.monitor.pending() == prompt, "a refused answer changed something"


def test_stop_timer_withdraws_the_continuation(world: World) -> None:
    prompt = work_then_leave(world)
    world.monitor.resolve(prompt.period_id, IdleAnswer.stop())

    assert world.timer.current() is None
    (entry,) = world.entries()
    assert entry.end == prompt.start
    assert world.periods()[0].resolution == "stop"


def test_an_answer_changes_the_store_exactly_once(world: World) -> None:
    prompt = work_then_leave(world)
    world.monitor.resolve(prompt.period_id, IdleAnswer.keep())
    entries = len(world.entries())

    with pytest.raises(AlreadyResolvedError):
        world.monitor.resolve(prompt.period_id, IdleAnswer.keep())
    with pytest.raises(AlreadyResolvedError):
        world.monitor.resolve(prompt.period_id, IdleAnswer.as_break())

    assert len(world.entries()) == entries
    assert world.breaks() == []


def test_answered_after_a_second_idle_period_began(world: World) -> None:
    first = work_then_leave(world, idle_minutes=10)
    world.tick(30, typing=True)
    world.tick(400)  # away again, the first question still open
    assert world.monitor.away

    world.monitor.resolve(first.period_id, IdleAnswer.keep())

    assert world.monitor.pending() is None, "the open period is not a question yet"
    world.tick(1, typing=True)
    second = world.monitor.pending()
    assert second is not None
    assert second.period_id != first.period_id
    kept = [e for e in world.entries() if e.source == EntrySource.IDLE_KEPT]
    assert [(e.start, e.end) for e in kept] == [(first.start, first.end)]


def test_an_unanswered_prompt_is_asked_again_after_a_restart(world: World) -> None:
    prompt = work_then_leave(world)

    monitor = world.restart()

    restored = monitor.pending()
    assert restored is not None
    assert (restored.period_id, restored.start, restored.end) == (
        prompt.period_id,
        prompt.start,
        prompt.end,
    )
    monitor.resolve(restored.period_id, IdleAnswer.keep())
    assert monitor.pending() is None


def test_a_period_left_open_by_a_crash_is_closed_and_asked_at_start(
    world: World,
) -> None:
    world.timer.start("Acme")
    world.tick(60, typing=True)
    world.tick(600)
    assert world.monitor.away

    world.clock.advance(3600)  # the agent died; it starts an hour later
    monitor = world.restart()

    prompt = monitor.pending()
    assert prompt is not None
    assert prompt.end == world.clock.now()
    assert world.timer.current() is None, "nobody came back to continue the entry"


@pytest.mark.parametrize(
    ("rule", "resolution"), [("keep", "keep"), ("discard", "discard")]
)
def test_no_answer_rule_applies_after_the_answer_time(
    world: World, rule: str, resolution: str
) -> None:
    world.restart(IdlePolicy(threshold_seconds=300, no_answer=rule, answer_seconds=600))
    prompt = work_then_leave(world)
    assert prompt.answer_by == prompt.end + timedelta(seconds=600)

    world.tick(599, typing=True)
    assert world.monitor.pending() is not None
    world.tick(1, typing=True)

    assert world.monitor.pending() is None
    (period,) = world.periods()
    assert (period.resolution, period.resolved_by) == (resolution, "policy")
    with pytest.raises(AlreadyResolvedError):
        world.monitor.resolve(prompt.period_id, IdleAnswer.discard())


def test_no_answer_rule_ask_waits(world: World) -> None:
    work_then_leave(world)
    world.tick(3 * 3600, typing=True)
    assert world.monitor.pending() is not None


def test_keeping_needs_a_reason_when_the_policy_says_so(world: World) -> None:
    world.restart(IdlePolicy(threshold_seconds=300, keep_needs_reason=True))
    prompt = work_then_leave(world)

    with pytest.raises(UserError, match="reason"):
        world.monitor.resolve(prompt.period_id, IdleAnswer.keep())
    world.monitor.resolve(prompt.period_id, IdleAnswer.discard())
    assert world.periods()[0].resolution == "discard"


def test_a_passive_app_in_front_keeps_the_worker_present(world: World) -> None:
    world.timer.start("Acme")
    world.tick(60, typing=True)
    world.passive = True
    world.tick(1800)

    assert world.periods() == []
    assert world.timer.current() is not None


def test_input_while_locked_does_not_count(world: World) -> None:
    world.timer.start("Acme")
    world.tick(60, typing=True)
    last_input = world.clock.now()
    world.idle.locked = True
    world.tick(400, typing=True)  # someone at the lock screen

    (period,) = world.periods()
    assert (period.start, period.cause) == (last_input, "lock")
    world.idle.locked = False
    world.tick(1, typing=True)
    assert world.monitor.pending() is not None


def test_a_forward_clock_step_is_away_time_from_the_last_input(
    world: World,
) -> None:
    world.timer.start("Acme", task="Design")
    world.tick(600, typing=True)
    last_input = world.clock.now()
    world.tick(120)  # two quiet minutes, then a sleep the OS did not announce
    world.clock.step_wall(3600)
    world.step()
    world.tick(1, typing=True)

    prompt = world.monitor.pending()
    assert prompt is not None
    assert (prompt.start, prompt.cause) == (last_input, "clock")
    assert prompt.seconds == pytest.approx(3600 + 121, abs=1)
    assert "(the clock jumped ahead)" in prompt.message()
    assert world.entries()[0].end == last_input
    assert world.worked_seconds() == pytest.approx(601, abs=1)

    world.monitor.resolve(prompt.period_id, IdleAnswer.keep())
    assert world.worked_seconds() == pytest.approx(601 + prompt.seconds, abs=1)
    assert world.monitor.pending() is None


def test_a_small_forward_step_while_typing_is_dropped_without_a_question(
    world: World,
) -> None:
    world.timer.start("Acme")
    world.tick(60, typing=True)
    world.clock.step_wall(90)  # NTP or the worker setting the clock
    world.tick(10, typing=True)

    assert world.monitor.pending() is None
    (period,) = world.periods()
    assert (period.cause, period.resolution, period.resolved_by) == (
        "clock",
        "discard",
        "policy",
    )
    assert period.note == "the clock jumped ahead by less than the idle threshold"
    assert world.worked_seconds() == pytest.approx(70, abs=1)


def test_a_backward_clock_step_is_not_away_time(world: World) -> None:
    world.timer.start("Acme")
    world.tick(60, typing=True)
    world.clock.step_wall(-3600)
    world.tick(10, typing=True)

    assert world.periods() == []
    assert world.monitor.pending() is None


def test_a_forward_step_while_stopped_cuts_nothing_and_asks_nothing(
    world: World,
) -> None:
    world.tick(60, typing=True)
    world.clock.step_wall(3600)
    world.tick(10, typing=True)

    assert world.periods() == []
    assert world.entries() == []


def test_a_working_input_source_that_saw_nothing_is_detection(world: World) -> None:
    """With the input source working, the agent takes no OS idle reading."""
    entry = world.timer.start("Acme")
    world.clock.advance(60)
    typed = world.clock.monotonic()
    world.monitor.tick(world.timer.current(), typed, None, observing=True)
    for _ in range(300):
        world.clock.advance(1)
        world.monitor.tick(world.timer.current(), typed, None, observing=True)

    (period,) = world.periods()
    assert period.start == entry.start + timedelta(seconds=60)
    world.clock.advance(1)
    back = world.clock.monotonic()
    world.monitor.tick(world.timer.current(), back, None, observing=True)
    assert world.monitor.pending() is not None


def test_no_input_source_means_no_detection(world: World) -> None:
    world.timer.start("Acme")
    for _ in range(900):
        world.clock.advance(1)
        world.monitor.tick(world.timer.current(), None, None)
    assert world.periods() == []
    assert not world.monitor.detecting


def test_idle_reading_type() -> None:
    assert IdleReading(3.0).locked is None
