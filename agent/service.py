"""The agent: what runs while Punchclock runs, with or without the tray.

:class:`Agent` owns the store, the clock watch, the timer and the scheduler.
Its jobs run on the scheduler's pool threads, never on a UI thread:

- every second, ``tick``: look for clock jumps (the timer splits entries
  there) and for changes other processes committed (the CLI's ``start`` and
  ``stop``), which it announces to its listeners;
- every few seconds, ``flush``: confirm the running entry, so a crash loses at
  most that much.

The tray app drives the same object and turns its announcements into Qt
signals.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler

from agent.clock import Clock, ClockJump, ClockWatch
from agent.errors import StoreError
from agent.instance import InstanceLock
from agent.paths import Paths
from agent.store import Store
from agent.timer import EntryView, Timer

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
DEFAULT_FLUSH_SECONDS = 5.0


@dataclass(frozen=True)
class AgentConfig:
    flush_seconds: float = DEFAULT_FLUSH_SECONDS


Listener = Callable[[EntryView | None], None]


class Agent:
    """The headless core of Punchclock; start it once per user session."""

    def __init__(
        self,
        paths: Paths,
        store: Store,
        clock: Clock,
        config: AgentConfig | None = None,
    ) -> None:
        self.paths = paths
        self.store = store
        self.clock = clock
        self.config = config or AgentConfig()
        self.timer = Timer(store, clock)
        self.watch = ClockWatch(clock)
        self.watch.subscribe(self._on_clock_jump)
        self._lock = InstanceLock(paths.lock_file)
        self._scheduler = BackgroundScheduler(
            job_defaults={"coalesce": True, "max_instances": 1}
        )
        self._listeners: list[Listener] = []
        self._data_version = -1
        self._current: EntryView | None = None
        self._state_lock = threading.Lock()

    def add_listener(self, listener: Listener) -> None:
        """Called with the running entry (or None) whenever it changes."""
        self._listeners.append(listener)

    @property
    def current(self) -> EntryView | None:
        with self._state_lock:
            return self._current

    def start(self) -> None:
        """Take the instance lock, recover from a crash, start the jobs.

        Raises :class:`~agent.instance.AlreadyRunningError` when another
        agent runs for this store.
        """
        self._lock.acquire()
        recovered = self.timer.recover()
        if recovered is not None:
            log.warning(
                "the previous agent stopped unexpectedly; entry on %r closed at %s",
                recovered.project,
                recovered.end,
            )
        self._refresh()
        self._scheduler.add_job(self.tick, "interval", seconds=TICK_SECONDS, id="tick")
        self._scheduler.add_job(
            self.flush, "interval", seconds=self.config.flush_seconds, id="flush"
        )
        self._scheduler.start()
        log.info("agent started (pid lock %s)", self.paths.lock_file)

    def stop(self, *, stop_timer: bool = True) -> None:
        """Stop the jobs; with ``stop_timer`` the running entry is closed now."""
        self._scheduler.shutdown(wait=True)
        try:
            if stop_timer:
                closed = self.timer.stop()
                if closed is not None:
                    log.info("running entry closed at shutdown")
            else:
                self.timer.flush()
        except StoreError:
            log.exception("could not close the running entry at shutdown")
        finally:
            self._lock.release()
            log.info("agent stopped")

    def tick(self) -> None:
        """Once a second: clock jumps first, then changes from other processes."""
        try:
            self.watch.tick()
            version = self.store.data_version()
            if version != self._data_version:
                self._data_version = version
                self._refresh()
        except StoreError:
            log.exception("tick failed; retrying on the next one")

    def flush(self) -> None:
        try:
            self.timer.flush()
        except StoreError:
            log.exception("flush failed; the entry stays open in memory")

    def _on_clock_jump(self, jump: ClockJump) -> None:
        self.timer.on_clock_jump(jump)
        self._refresh()

    def _refresh(self) -> None:
        current = self.timer.current()
        with self._state_lock:
            changed = _identity(current) != _identity(self._current)
            self._current = current
        if changed:
            log.info(
                "running entry: %s",
                f"{current.project!r} since {current.start}" if current else "none",
            )
            for listener in self._listeners:
                listener(current)


def _identity(entry: EntryView | None) -> tuple[object, ...] | None:
    if entry is None:
        return None
    return (entry.id, entry.project, entry.task, entry.note, entry.end)
