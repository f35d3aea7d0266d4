"""The random schedule: how many shots per slot, where, and when none."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from agent.screenshots import (
    SKIP_BREAK,
    SKIP_IDLE,
    SKIP_PRIVATE_APP,
    SKIP_PRIVATE_WINDOW,
    Conditions,
    ShotSchedule,
    break_open,
    conditions,
    draw_moments,
    focus_key,
)
from agent.store.models import Break
from capture.base import FocusSample
from tests.screenshots.conftest import START, ShotWorld

SLOT = timedelta(minutes=10)


@pytest.mark.parametrize("count", [1, 2, 3])
def test_moments_fall_inside_the_slot_one_per_part(count: int) -> None:
    rng = random.Random(3)
    for _ in range(200):
        moments = draw_moments(START, 600, count, rng)
        assert len(moments) == count
        assert moments == sorted(moments)
        for index, moment in enumerate(moments):
            part = SLOT / count
            assert START + part * index <= moment < START + part * (index + 1)


def test_zero_per_slot_draws_nothing() -> None:
    assert draw_moments(START, 600, 0, random.Random(1)) == []


def test_schedule_takes_the_count_per_slot_inside_each_slot(
    shot_world: ShotWorld,
) -> None:
    schedule = ShotSchedule(10, 3, random.Random(11))
    clock = shot_world.clock
    due_by_slot: dict[object, list[object]] = {}
    for _ in range(3 * 600):
        for moment in schedule.due(clock.now()):
            assert moment <= clock.now()
            due_by_slot.setdefault(schedule.slot, []).append(moment)
        clock.advance(1)

    assert len(due_by_slot) == 3
    for slot, moments in due_by_slot.items():
        assert len(moments) == 3
        assert all(slot <= m < slot + SLOT for m in moments)  # type: ignore[operator]


def test_each_slot_draws_new_moments(shot_world: ShotWorld) -> None:
    schedule = ShotSchedule(10, 2, random.Random(5))
    offsets = []
    clock = shot_world.clock
    for _ in range(4):
        schedule.due(clock.now())
        slot = schedule.slot
        assert slot is not None
        offsets.append(tuple(m - slot for m in schedule.moments))
        clock.advance(600)
    assert len(set(offsets)) == 4


def test_moments_of_a_slot_slept_through_are_dropped(shot_world: ShotWorld) -> None:
    schedule = ShotSchedule(10, 3, random.Random(5))
    clock = shot_world.clock
    schedule.due(clock.now())
    clock.suspend(3600)
    due = schedule.due(clock.now())
    assert all(m >= schedule.slot for m in due)  # type: ignore[operator]
    assert len(due) <= 3


def _sample(**flags: bool) -> FocusSample:
    return FocusSample(at=START, mono=0.0, app="KeePassXC", **flags)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"away": True, "on_break": False, "focus": None}, Conditions(1, SKIP_IDLE)),
        ({"away": False, "on_break": True, "focus": None}, Conditions(1, SKIP_BREAK)),
        (
            {"away": False, "on_break": False, "focus": _sample(private=True)},
            Conditions(1, SKIP_PRIVATE_APP),
        ),
        (
            {"away": False, "on_break": False, "focus": _sample(incognito=True)},
            Conditions(1, SKIP_PRIVATE_WINDOW),
        ),
        (
            {"away": False, "on_break": False, "focus": _sample()},
            Conditions(1, focus=focus_key(_sample())),
        ),
        ({"away": False, "on_break": False, "focus": None}, Conditions(1)),
    ],
)
def test_conditions_name_the_reason(
    kwargs: dict[str, object], expected: Conditions
) -> None:
    assert conditions(1, **kwargs) == expected  # type: ignore[arg-type]


def test_stopped_timer_means_no_shot_and_no_record() -> None:
    state = conditions(None, away=False, on_break=False, focus=_sample())
    assert state == Conditions(None)


def test_an_open_break_is_seen_in_the_store(shot_world: ShotWorld) -> None:
    assert not break_open(shot_world.store)
    with shot_world.store.write() as session:
        session.add(Break(policy="lunch", paid=False, start=START, origin="taken"))
    assert break_open(shot_world.store)


@pytest.mark.parametrize(
    "reason", [SKIP_IDLE, SKIP_BREAK, SKIP_PRIVATE_APP, SKIP_PRIVATE_WINDOW]
)
def test_a_blocked_moment_is_recorded_without_an_image(
    shot_world: ShotWorld, reason: str
) -> None:
    entry_id = shot_world.start()
    shot_world.state = Conditions(entry_id, reason)
    service = shot_world.service()

    taken = _run_slot(shot_world, service)

    assert taken == 3
    shots = shot_world.shots()
    assert [s.skipped_reason for s in shots] == [reason] * 3
    assert all(s.path == "" and s.size_bytes == 0 for s in shots)
    assert shot_world.screen.grabs == 0
    assert list(shot_world.directory.rglob("*.*")) == []


def test_stopped_timer_takes_and_records_nothing(shot_world: ShotWorld) -> None:
    service = shot_world.service()
    _run_slot(shot_world, service)
    assert shot_world.shots() == []
    assert shot_world.screen.grabs == 0


def test_a_running_timer_gets_per_slot_shots_inside_the_slot(
    shot_world: ShotWorld,
) -> None:
    shot_world.start()
    service = shot_world.service(per_slot=2)

    assert _run_slot(shot_world, service) == 2

    shots = shot_world.shots()
    assert len(shots) == 2
    for shot in shots:
        assert shot.skipped_reason is None
        assert shot.slot_start == START
        assert START <= shot.taken_at < START + SLOT


def _run_slot(world: ShotWorld, service: object) -> int:
    """Ticks once a second through one slot; returns the captures run."""
    runs = 0
    for _ in range(600):
        for future in service.tick():  # type: ignore[attr-defined]
            future.result(timeout=30)
            runs += 1
        world.clock.advance(1)
    return runs
