"""Clocks: wall time for the record, monotonic time for durations.

Everything that needs the time gets a :class:`Clock` injected, so tests can
step, jump and suspend time without sleeping. Three readings are kept apart:

- ``now()`` — wall time, timezone-aware UTC. What gets stored.
- ``monotonic()`` — seconds that never go back and stop while the machine
  sleeps (Linux ``CLOCK_MONOTONIC``, macOS ``mach_absolute_time``). Running
  work is measured with it, so a wall-clock step cannot stretch an entry.
- ``boottime()`` — seconds that never go back and keep counting through a
  suspend (Linux ``CLOCK_BOOTTIME``). With it a suspend can be told apart from
  a wall-clock step.

:class:`ClockWatch` compares the three on every tick and reports a
:class:`ClockJump` to its subscribers: the timer splits entries there, idle
detection turns a suspend into away time.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

log = logging.getLogger(__name__)

# A difference between the clocks below this is drift or scheduling noise.
JUMP_TOLERANCE = 2.0


class Clock(Protocol):
    """The time source. Every method may be called from any thread."""

    def now(self) -> datetime:
        """Wall time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds that never go back and stop during a suspend."""
        ...

    def boottime(self) -> float:
        """Seconds that never go back and count through a suspend."""
        ...


class SystemClock:
    """The machine's clocks."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def boottime(self) -> float:
        if _BOOTTIME is not None:
            return time.clock_gettime(_BOOTTIME)

        # Windows' monotonic clock already counts through sleep; on macOS
        # the wall-minus-monotonic check still flags the gap as a jump.
        return time.monotonic()


_BOOTTIME: int | None = getattr(time, "CLOCK_BOOTTIME", None)


class ManualClock:
    """A clock that moves only when told to: the test double for :class:`Clock`.

    ``advance`` is time passing normally, ``step_wall`` an administrator or NTP
    setting the wall clock, ``suspend`` the machine sleeping.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._wall = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        if self._wall.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start time")
        self._mono = 1000.0
        self._boot = 1000.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._wall.astimezone(UTC)

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def boottime(self) -> float:
        with self._lock:
            return self._boot

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._wall += timedelta(seconds=seconds)
            self._mono += seconds
            self._boot += seconds

    def step_wall(self, seconds: float) -> None:
        with self._lock:
            self._wall += timedelta(seconds=seconds)

    def suspend(self, seconds: float) -> None:
        with self._lock:
            self._wall += timedelta(seconds=seconds)
            self._boot += seconds


class JumpKind(enum.StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"
    SUSPEND = "suspend"


@dataclass(frozen=True)
class ClockJump:
    """A break in the wall clock's continuity, seen between two ticks.

    ``before`` is the wall time the last tick would have reached just before
    the break; ``after`` the wall time now. For a suspend, ``seconds`` is how
    long the machine slept; for a step, how far the wall clock moved.
    """

    kind: JumpKind
    before: datetime
    after: datetime
    seconds: float


@dataclass
class _Reading:
    wall: datetime
    mono: float
    boot: float


class ClockWatch:
    """Detects wall-clock steps and suspends by comparing the clocks.

    Call :meth:`tick` regularly (the agent does, once a second); it returns
    the jumps found since the previous tick and hands each to every
    subscriber. Subscribers run on the ticking thread and must not block.
    """

    def __init__(self, clock: Clock, tolerance: float = JUMP_TOLERANCE) -> None:
        self._clock = clock
        self._tolerance = tolerance
        self._last = self._read()
        self._subscribers: list[Callable[[ClockJump], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Callable[[ClockJump], None]) -> None:
        with self._lock:
            self._subscribers.append(callback)

    def tick(self) -> list[ClockJump]:
        reading = self._read()
        with self._lock:
            previous, self._last = self._last, reading
            subscribers = list(self._subscribers)

        jumps = self._compare(previous, reading)
        for jump in jumps:
            log.warning(
                "clock %s of %.1f s: wall %s -> %s",
                jump.kind,
                jump.seconds,
                jump.before.isoformat(),
                jump.after.isoformat(),
            )
            for callback in subscribers:
                callback(jump)
        return jumps

    def _read(self) -> _Reading:
        return _Reading(
            self._clock.now(), self._clock.monotonic(), self._clock.boottime()
        )

    def _compare(self, old: _Reading, new: _Reading) -> list[ClockJump]:
        mono = new.mono - old.mono
        slept = (new.boot - old.boot) - mono
        wall = (new.wall - old.wall).total_seconds()
        stepped = wall - mono - max(slept, 0.0)
        before = old.wall + timedelta(seconds=mono)
        jumps: list[ClockJump] = []

        if slept > self._tolerance:
            after_sleep = before + timedelta(seconds=slept)
            jumps.append(ClockJump(JumpKind.SUSPEND, before, after_sleep, slept))
            before = after_sleep
        if abs(stepped) > self._tolerance:
            kind = JumpKind.FORWARD if stepped > 0 else JumpKind.BACKWARD
            jumps.append(ClockJump(kind, before, new.wall, stepped))
        return jumps
