"""Wall-clock steps and suspends: detected, and never counted as work."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.clock import (
    JUMP_TOLERANCE,
    ClockJump,
    ClockWatch,
    JumpKind,
    ManualClock,
    SystemClock,
)
from agent.paths import Paths
from agent.projects import Projects
from agent.reporting import collect_report
from agent.service import Agent
from agent.store import Store
from agent.store.models import IdlePeriod
from agent.timer import EntryView, Timer

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
EIGHT_HOURS = 8 * 3600.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "store.db")
    yield opened
    opened.close()


@pytest.fixture
def timer(store: Store, clock: ManualClock) -> Timer:
    Projects(store, clock).add("Acme", ["Design"])
    return Timer(store, clock)


def _all_entries(timer: Timer) -> list[EntryView]:
    return timer.entries(START - timedelta(days=2), START + timedelta(days=2))


def _worked(entries: list[EntryView], now: datetime) -> float:
    return sum(entry.seconds(now) for entry in entries)


def _assert_sane(entries: list[EntryView]) -> None:
    for entry in entries:
        if entry.end is not None:
            assert entry.end >= entry.start, entry


def _idle(store: Store) -> list[IdlePeriod]:
    with store.read() as session:
        return list(session.query(IdlePeriod).order_by(IdlePeriod.start))


# ManualClock and SystemClock


def test_manual_clock_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ManualClock(datetime(2026, 1, 5, 9, 0))


def test_manual_clock_moves_only_when_told(clock: ManualClock) -> None:
    clock.advance(10)
    clock.step_wall(-5)
    clock.suspend(100)

    assert clock.now() == START + timedelta(seconds=105)
    assert clock.monotonic() == 1010
    assert clock.boottime() == 1110


def test_system_clock_readings() -> None:
    clock = SystemClock()
    now = clock.now()

    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert clock.boottime() >= clock.monotonic() - 1
    assert ClockWatch(clock).tick() == []


# ClockWatch


def test_time_passing_normally_is_no_jump(clock: ManualClock) -> None:
    watch = ClockWatch(clock)
    for _ in range(10):
        clock.advance(1)
        assert watch.tick() == []


def test_small_drift_below_tolerance_is_ignored(clock: ManualClock) -> None:
    watch = ClockWatch(clock)
    clock.advance(1)
    clock.step_wall(JUMP_TOLERANCE * 0.9)
    assert watch.tick() == []
    clock.advance(1)
    clock.step_wall(-JUMP_TOLERANCE * 0.9)
    assert watch.tick() == []
    clock.suspend(JUMP_TOLERANCE * 0.9)
    assert watch.tick() == []


def test_wall_step_forward(clock: ManualClock) -> None:
    watch = ClockWatch(clock)
    clock.advance(1)
    clock.step_wall(3600)

    jumps = watch.tick()

    assert jumps == [
        ClockJump(
            JumpKind.FORWARD,
            before=START + timedelta(seconds=1),
            after=START + timedelta(seconds=3601),
            seconds=3600,
        )
    ]


def test_wall_step_back(clock: ManualClock) -> None:
    watch = ClockWatch(clock)
    clock.advance(1)
    clock.step_wall(-3600)

    [jump] = watch.tick()

    assert jump.kind is JumpKind.BACKWARD
    assert jump.seconds == -3600
    assert jump.before == START + timedelta(seconds=1)
    assert jump.after == START + timedelta(seconds=1 - 3600)


def test_suspend(clock: ManualClock) -> None:
    watch = ClockWatch(clock)
    clock.advance(1)
    clock.suspend(EIGHT_HOURS)
    clock.advance(1)

    [jump] = watch.tick()

    # Which side of the sleep the awake seconds of the tick fell on cannot be
    # known; they are counted before it, and the sleep is exact.
    assert jump.kind is JumpKind.SUSPEND
    assert jump.seconds == EIGHT_HOURS
    assert jump.before == START + timedelta(seconds=2)
    assert jump.after == START + timedelta(seconds=2 + EIGHT_HOURS)


def test_suspend_and_step_in_one_tick(clock: ManualClock) -> None:
    watch = ClockWatch(clock)
    clock.suspend(EIGHT_HOURS)
    clock.step_wall(-600)

    kinds = [(jump.kind, jump.seconds) for jump in watch.tick()]

    assert kinds == [(JumpKind.SUSPEND, EIGHT_HOURS), (JumpKind.BACKWARD, -600)]


def test_subscribers_hear_each_jump_once(clock: ManualClock) -> None:
    watch = ClockWatch(clock)
    heard: list[ClockJump] = []
    watch.subscribe(heard.append)

    clock.step_wall(120)
    watch.tick()
    watch.tick()

    assert [jump.kind for jump in heard] == [JumpKind.FORWARD]


# The timer at a jump


def test_suspend_splits_the_entry_and_is_never_work(
    timer: Timer, store: Store, clock: ManualClock
) -> None:
    watch = ClockWatch(clock)
    watch.subscribe(timer.on_clock_jump)
    first = timer.start("Acme", task="Design", note="n")
    clock.advance(1800)
    watch.tick()

    clock.suspend(EIGHT_HOURS)
    clock.advance(1)
    watch.tick()
    clock.advance(1799)

    entries = _all_entries(timer)
    assert len(entries) == 2
    closed, follow = entries
    assert closed.id == first.id
    assert closed.end == START + timedelta(seconds=1801)
    assert follow.start == closed.end + timedelta(seconds=EIGHT_HOURS)
    assert (follow.project, follow.task, follow.note) == ("Acme", "Design", "n")
    assert follow.running
    assert _worked(entries, clock.now()) == 3600
    _assert_sane(entries)

    [away] = _idle(store)
    assert away.cause == "suspend"
    assert away.entry_id == first.id
    assert (away.start, away.end) == (closed.end, follow.start)


def test_wall_step_back_gives_no_negative_or_doubled_time(
    timer: Timer, clock: ManualClock
) -> None:
    watch = ClockWatch(clock)
    watch.subscribe(timer.on_clock_jump)
    timer.start("Acme")
    clock.advance(600)
    watch.tick()

    clock.step_wall(-3600)
    watch.tick()
    clock.advance(600)
    timer.stop()

    entries = _all_entries(timer)
    _assert_sane(entries)
    assert [e.seconds(clock.now()) for e in entries] == [600, 600]
    assert _worked(entries, clock.now()) == 1200


def test_wall_step_forward_gives_no_invented_time(
    timer: Timer, clock: ManualClock, store: Store
) -> None:
    watch = ClockWatch(clock)
    watch.subscribe(timer.on_clock_jump)
    timer.start("Acme")
    clock.advance(600)

    clock.step_wall(2 * 3600)
    watch.tick()
    clock.advance(600)
    timer.stop()

    entries = _all_entries(timer)
    _assert_sane(entries)
    assert len(entries) == 2
    assert _worked(entries, clock.now()) == 1200
    # The step's gap is not work; it is put to the worker as away time
    # (agent.idle), like a suspend the OS did not announce.
    (gap,) = _idle(store)
    assert (gap.cause, gap.start, gap.end, gap.resolved_at) == (
        "clock",
        START + timedelta(seconds=600),
        START + timedelta(seconds=600 + 2 * 3600),
        None,
    )

    day = START.date()
    report = collect_report(store, "day", ZoneInfo("UTC"), day, day, clock.now())
    assert report.total_seconds == 1200


def test_many_jumps_add_up_to_the_monotonic_time(
    timer: Timer, clock: ManualClock
) -> None:
    watch = ClockWatch(clock)
    watch.subscribe(timer.on_clock_jump)
    timer.start("Acme")
    moves = [
        ("advance", 300),
        ("step_wall", 7200),
        ("advance", 60),
        ("suspend", EIGHT_HOURS),
        ("advance", 120),
        ("step_wall", -5400),
        ("advance", 45),
        ("suspend", 90),
        ("advance", 30),
    ]
    for method, seconds in moves:
        getattr(clock, method)(seconds)
        watch.tick()
    timer.stop()

    entries = _all_entries(timer)
    _assert_sane(entries)
    assert len(entries) == 5
    assert _worked(entries, clock.now()) == 300 + 60 + 120 + 45 + 30


def test_jump_while_stopped_changes_nothing(
    timer: Timer, store: Store, clock: ManualClock
) -> None:
    watch = ClockWatch(clock)
    watch.subscribe(timer.on_clock_jump)

    clock.suspend(EIGHT_HOURS)
    watch.tick()

    assert _all_entries(timer) == []
    assert _idle(store) == []


# Through the agent's tick


@pytest.fixture
def agent(store: Store, clock: ManualClock, punchclock_home: Path) -> Agent:
    Projects(store, clock).add("Acme")
    return Agent(Paths.under(punchclock_home), store, clock)


def test_agent_tick_splits_at_a_suspend(
    agent: Agent, store: Store, clock: ManualClock
) -> None:
    heard: list[EntryView | None] = []
    agent.add_listener(heard.append)
    first = agent.timer.start("Acme")
    agent.tick()
    clock.advance(900)
    agent.tick()

    clock.suspend(EIGHT_HOURS)
    agent.tick()
    clock.advance(900)
    agent.flush()

    entries = _all_entries(agent.timer)
    assert entries[0].id == first.id
    assert len(entries) == 2
    assert _worked(entries, clock.now()) == 1800
    assert agent.current is not None
    assert agent.current.id == entries[1].id
    assert [entry.id if entry else None for entry in heard] == [
        first.id,
        entries[1].id,
    ]
    assert entries[1].flushed_at == clock.now()
    [away] = _idle(store)
    assert (away.cause, away.end) == ("suspend", entries[1].start)


def test_agent_tick_notices_another_process(
    agent: Agent, store: Store, clock: ManualClock
) -> None:
    agent.tick()
    assert agent.current is None

    # The CLI: its own store and timer on the same file.
    cli_store = Store.open(store.path)
    started = Timer(cli_store, clock).start("Acme")
    agent.tick()
    assert agent.current == started

    Timer(cli_store, clock).stop()
    agent.tick()
    assert agent.current is None
    cli_store.close()
