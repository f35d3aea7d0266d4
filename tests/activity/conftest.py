"""Fixtures for idle and activity logic: a store, a manual clock, a fake idle
source, and a driver that ticks the monitor the way the agent's job does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from agent.clock import ClockWatch, ManualClock
from agent.idle import IdleMonitor, IdlePolicy
from agent.projects import Projects
from agent.store import Store
from agent.store.models import Break, Entry, IdlePeriod
from agent.timer import Timer
from capture.idle import IdleReading

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@dataclass
class FakeIdle:
    """The OS idle time as a test sets it: input happens when told."""

    clock: ManualClock
    last_input: float = field(init=False)
    locked: bool = False

    def __post_init__(self) -> None:
        self.last_input = self.clock.boottime()

    def input(self) -> None:
        self.last_input = self.clock.boottime()

    def read(self) -> IdleReading:
        return IdleReading(self.clock.boottime() - self.last_input, self.locked)


@dataclass
class World:
    store: Store
    clock: ManualClock
    timer: Timer
    idle: FakeIdle
    monitor: IdleMonitor
    watch: ClockWatch
    passive: bool = False

    def tick(self, seconds: int = 1, *, typing: bool = False) -> None:
        """Let ``seconds`` pass, one agent tick per second."""
        for _ in range(seconds):
            self.clock.advance(1)
            if typing:
                self.idle.input()
            self.step()

    def step(self) -> None:
        for jump in self.watch.tick():
            self.timer.on_clock_jump(jump)
            self.monitor.on_clock_jump(jump)
        self.monitor.tick(self.timer.current(), None, self.idle.read(), self.passive)

    def restart(self, policy: IdlePolicy | None = None) -> IdleMonitor:
        self.monitor = IdleMonitor(
            self.store, self.clock, policy or self.monitor.policy
        )
        self.monitor.restore()
        return self.monitor

    def entries(self) -> list[Entry]:
        with self.store.read() as session:
            query = (
                select(Entry)
                .options(joinedload(Entry.project), joinedload(Entry.task))
                .where(Entry.deleted_at.is_(None))
            )
            return list(session.scalars(query.order_by(Entry.start)))

    def periods(self) -> list[IdlePeriod]:
        with self.store.read() as session:
            return list(session.scalars(select(IdlePeriod).order_by(IdlePeriod.start)))

    def breaks(self) -> list[Break]:
        with self.store.read() as session:
            return list(session.scalars(select(Break)))

    def worked_seconds(self) -> float:
        now = self.clock.now()
        return sum(((e.end or now) - e.start).total_seconds() for e in self.entries())


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    store = Store.open(tmp_path / "punchclock.db")
    clock = ManualClock(START)
    projects = Projects(store, clock)
    projects.add("Acme", ["Design"])
    projects.add("Globex", ["Support"])
    monitor = IdleMonitor(store, clock, IdlePolicy(threshold_seconds=300))
    monitor.restore()
    yield World(
        store, clock, Timer(store, clock), FakeIdle(clock), monitor, ClockWatch(clock)
    )
    store.close()
