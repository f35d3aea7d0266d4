"""Fixtures for breaks and reminders: a store, a manual clock, the timer,
the idle monitor and the break engine, ticked the way the agent's job ticks
them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from agent.breaks import Breaks
from agent.clock import ClockWatch, ManualClock
from agent.idle import IdleMonitor, IdlePolicy
from agent.projects import Projects
from agent.settings import BreakPolicySettings, BreakSettings
from agent.store import Store
from agent.store.models import Break, Entry, IdlePeriod
from agent.timer import Timer
from tests.activity.conftest import FakeIdle

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOUR = 3600

POLICIES = (
    BreakPolicySettings("coffee", paid=True, minutes=15, rule="any"),
    BreakPolicySettings("lunch", paid=False, minutes=60, rule="once", hours=3),
    BreakPolicySettings("nap", paid=False, minutes=20, rule="once"),
    BreakPolicySettings("stretch", paid=True, minutes=10, rule="every", hours=2),
    BreakPolicySettings("rest", paid=True, minutes=10, rule="after", hours=2),
)


@dataclass
class BreakWorld:
    store: Store
    clock: ManualClock
    timer: Timer
    breaks: Breaks
    idle: FakeIdle
    monitor: IdleMonitor
    watch: ClockWatch

    def tick(self, seconds: int = 1, *, typing: bool = True) -> None:
        """Let ``seconds`` pass, one agent tick each, typing by default."""
        for _ in range(seconds):
            self.clock.advance(1)
            if typing:
                self.idle.input()
            self.step()

    def step(self) -> None:
        for jump in self.watch.tick():
            self.timer.on_clock_jump(jump)
            self.monitor.on_clock_jump(jump)
            self.breaks.on_clock_jump(jump)
        self.monitor.tick(self.timer.current(), None, self.idle.read())
        self.breaks.tick()

    def work(self, hours: float) -> None:
        """Time on the clock without ticking each second (no idle check)."""
        self.clock.advance(hours * HOUR)
        self.idle.input()
        self.step()

    def entries(self) -> list[Entry]:
        with self.store.read() as session:
            query = select(Entry).where(Entry.deleted_at.is_(None))
            return list(session.scalars(query.order_by(Entry.start)))

    def rows(self) -> list[Break]:
        with self.store.read() as session:
            return list(session.scalars(select(Break).order_by(Break.start)))

    def periods(self) -> list[IdlePeriod]:
        with self.store.read() as session:
            return list(session.scalars(select(IdlePeriod)))

    def worked_seconds(self) -> float:
        now = self.clock.now()
        return sum(((e.end or now) - e.start).total_seconds() for e in self.entries())


def make_world(tmp_path: Path, policies: tuple[BreakPolicySettings, ...]) -> BreakWorld:
    store = Store.open(tmp_path / "punchclock.db")
    clock = ManualClock(START)
    Projects(store, clock).add("Acme", ["Design"])
    Projects(store, clock).add("Globex")
    breaks = Breaks(store, clock, BreakSettings(policies, session_gap_minutes=60))
    policy = IdlePolicy(threshold_seconds=300, break_policy="lunch")
    monitor = IdleMonitor(store, clock, policy, breaks)
    monitor.restore()
    idle = FakeIdle(clock)
    return BreakWorld(
        store, clock, Timer(store, clock), breaks, idle, monitor, ClockWatch(clock)
    )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[BreakWorld]:
    made = make_world(tmp_path, POLICIES)
    yield made
    made.store.close()
