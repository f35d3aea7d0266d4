"""What the tray shows, as one QObject with a ``changed`` signal.

:class:`TrayModel` holds the last :class:`~ui.services.Snapshot` and the
running entry the agent announced since. Widgets render from it; nothing in
it blocks: snapshots are taken on the command runner's thread, and the
running entry's time is added on top of the last totals so the clock ticks
without a query per second.

The agent's live state (the open break, whether the worker is away, the
pending idle prompt and break reminder) comes from the agent's listeners
through :class:`~ui.bridge.AgentBridge`, never from a snapshot: a snapshot
read before a change and applied after it would bring an ended break back.
It is seeded once at start-up (:meth:`TrayModel.seed`) for what a previous
run left (a break still open, a prompt not yet answered).
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, QTimer, Signal

from agent.breaks import Availability, BreakView
from agent.consent import ConsentState
from agent.idle import IdlePrompt
from agent.projects import ProjectView
from agent.reminders import Reminder
from agent.timer import EntryView
from capture.base import CaptureHealth, HealthState
from ui.commands import CommandRunner
from ui.icons import TrayState
from ui.notices import RecoveryNotice
from ui.services import (
    Choice,
    LiveState,
    Services,
    Snapshot,
    SyncStatus,
    Totals,
    take_snapshot,
)

log = logging.getLogger(__name__)

# Totals, consent and capture health are re-read this often while a window
# shows them, and at least every UNWATCHED_S (and on a new day) otherwise;
# the running entry itself arrives through the agent's listener as soon as
# it changes, and opening the menu reads everything anew.
REFRESH_MS = 60_000
UNWATCHED_S = 600.0
# "Syncing…" shows this long at most after "Sync now" (an agent whose sync
# cannot run would otherwise leave it there).
SYNCING_S = 60.0


class TrayModel(QObject):
    changed = Signal()
    entry_changed_elsewhere = Signal(object)
    """The running entry changed without this app asking (the CLI, a jump)."""
    break_changed = Signal(object)
    """The open :class:`~agent.breaks.BreakView`, or None."""
    idle_prompt_changed = Signal(object)
    """The pending :class:`~agent.idle.IdlePrompt`, or None."""
    reminder_changed = Signal(object)
    """The :class:`~agent.reminders.Reminder` to show, or None."""
    capture_failed = Signal(object)
    """A source's :class:`~capture.base.CaptureHealth` as it stopped working;
    once per fault (again only after it worked, or was off, in between)."""

    def __init__(
        self, services: Services, runner: CommandRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.services = services
        self.runner = runner
        self.current: EntryView | None = None
        self.projects: tuple[ProjectView, ...] = ()
        self.recent: tuple[Choice, ...] = ()
        self.totals: Totals | None = None
        self.consent = ConsentState.NEEDED
        self.health: tuple[CaptureHealth, ...] = ()
        self.breaks: tuple[Availability, ...] = ()
        self.sync = SyncStatus()
        self.syncing_since: datetime | None = None
        self.on_break: BreakView | None = None
        self.away = False
        self.idle_prompt: IdlePrompt | None = None
        self.reminder: Reminder | None = None
        self.recovered: RecoveryNotice | None = None
        """A timer closed after a crash that the worker has not seen yet."""
        self._announced: set[str] = set()
        self._failing: frozenset[str] = frozenset()
        self._totals_at: datetime | None = None
        self._expected: list[object] = []
        self.tz: ZoneInfo = services.tz()
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._refresh_if_needed)
        self._timer.start()
        self._watchers: set[str] = set()

    def now(self) -> datetime:
        return self.services.now()

    def watch(self, who: str, watching: bool) -> None:
        """A window that shows the totals opened (True) or closed."""
        if watching:
            self._watchers.add(who)
        else:
            self._watchers.discard(who)

    def _refresh_if_needed(self) -> None:
        """The periodic read, skipped while nobody looks and nothing is due:
        the tooltip's totals move on without it (the running entry's time
        is added on top), so a snapshot is taken every 10 minutes for
        changes made elsewhere, and at midnight for the new day."""
        at = self._totals_at
        if self._watchers or at is None:
            self.refresh()
            return
        now = self.now()
        new_day = now.astimezone(self.tz).date() != at.astimezone(self.tz).date()
        if new_day or (now - at).total_seconds() >= UNWATCHED_S:
            self.refresh()

    def refresh(self) -> None:
        """Read a new snapshot off the UI thread; ``changed`` follows."""
        self.runner.run("refresh", lambda: take_snapshot(self.services), self.apply)

    def apply(self, snapshot: Snapshot) -> None:
        self.current = snapshot.current
        self.projects = snapshot.projects
        self.recent = snapshot.recent
        self.totals = snapshot.totals
        self._totals_at = snapshot.at
        self.consent = snapshot.consent
        if "health" not in self._announced:
            # The agent announces every change: once it has, a snapshot
            # read before its announcement must not bring the old one back.
            self._take_health(snapshot.health)
        self.breaks = snapshot.breaks
        self.tz = self.services.tz()
        self.apply_sync(snapshot.sync)

    # sync

    def refresh_sync(self) -> None:
        """Read only the sync state (cheap); ``changed`` follows."""
        self.runner.run("sync status", self.services.sync_status, self.apply_sync)

    def apply_sync(self, status: SyncStatus) -> None:
        self.sync = status
        started = self.syncing_since
        attempt = status.last_attempt
        if started is not None and attempt is not None and attempt >= started:
            self.syncing_since = None
        self.changed.emit()

    def mark_syncing(self) -> None:
        """ "Sync now" was asked for: the line says so until an attempt shows."""
        self.syncing_since = self.now()
        self.changed.emit()

    @property
    def syncing(self) -> bool:
        started = self.syncing_since
        if started is None:
            return False
        return (self.now() - started).total_seconds() < SYNCING_S

    # the agent's live state (slots for AgentBridge; UI thread)

    def seed(self, live: LiveState) -> None:
        """At start-up: what the agent held before any announcement came."""
        if "away" not in self._announced:
            self.away = live.away
        if "break" not in self._announced:
            self.set_break(live.on_break, announced=False)
        if "idle" not in self._announced:
            self.set_idle_prompt(live.idle_prompt, announced=False)
        if "reminder" not in self._announced:
            self.set_reminder(live.reminder, announced=False)
        self.changed.emit()

    def set_break(self, view: BreakView | None, *, announced: bool = True) -> None:
        self._note("break", announced)
        self.on_break = view
        self.break_changed.emit(view)
        self.changed.emit()

    def set_away(self, away: bool) -> None:
        self._note("away", True)
        if away != self.away:
            self.away = away
            self.changed.emit()

    def set_idle_prompt(
        self, prompt: IdlePrompt | None, *, announced: bool = True
    ) -> None:
        self._note("idle", announced)
        self.idle_prompt = prompt
        self.idle_prompt_changed.emit(prompt)
        self.changed.emit()

    def set_reminder(
        self, reminder: Reminder | None, *, announced: bool = True
    ) -> None:
        self._note("reminder", announced)
        self.reminder = reminder
        self.reminder_changed.emit(reminder)

    def set_health(self, health: tuple[CaptureHealth, ...]) -> None:
        """Slot for :attr:`AgentBridge.health_changed`: the icon follows at once."""
        self._note("health", True)
        self._take_health(tuple(health))
        self.changed.emit()

    def _take_health(self, health: tuple[CaptureHealth, ...]) -> None:
        self.health = health
        failing = {
            item.source: item
            for item in health
            if item.state is HealthState.UNAVAILABLE
        }
        new = [item for source, item in failing.items() if source not in self._failing]
        self._failing = frozenset(failing)
        for item in new:
            log.info("capture source %s stopped working: %s", item.source, item.reason)
            self.capture_failed.emit(item)

    def set_recovered(self, notice: RecoveryNotice | None) -> None:
        self.recovered = notice
        self.changed.emit()

    def _note(self, what: str, announced: bool) -> None:
        if announced:
            self._announced.add(what)

    def on_entry(self, entry: EntryView | None) -> None:
        """Slot for :attr:`AgentBridge.entry_changed` (UI thread)."""
        key = _key(entry)
        if key in self._expected:
            self._expected.remove(key)
        else:
            self.entry_changed_elsewhere.emit(entry)
        self.current = entry
        self.changed.emit()
        self.refresh()

    def expect(self, entry: EntryView | None) -> None:
        """This app caused the change to ``entry``: no notification for it."""
        self._expected.append(_key(entry))
        del self._expected[:-4]

    # derived

    def state(self) -> TrayState:
        if self.on_break is not None:
            return TrayState.BREAK
        if self.fault() is not None or self.sync_fault() is not None:
            return TrayState.FAULT
        if self.away:
            return TrayState.IDLE
        return TrayState.RUNNING if self.current is not None else TrayState.STOPPED

    def sync_fault(self) -> str | None:
        """Why uploads cannot go on until the worker acts (sign-in, address)."""
        if self.sync.configured and self.sync.needs_action:
            return self.sync.last_error or "sync needs your attention"
        return None

    def fault(self) -> CaptureHealth | None:
        if self.consent is not ConsentState.GIVEN:
            return None
        for item in self.health:
            if item.state is HealthState.UNAVAILABLE:
                return item
        return None

    def today_seconds(self) -> float:
        return self._with_running(self.totals.today_seconds if self.totals else 0.0)

    def week_seconds(self) -> float:
        return self._with_running(self.totals.week_seconds if self.totals else 0.0)

    def _with_running(self, base: float) -> float:
        if self.current is None or self._totals_at is None:
            return base
        # Since the snapshot, the running entry has gone on counting.
        start = max(self._totals_at, self.current.start)
        return base + max((self.now() - start).total_seconds(), 0.0)


def _key(entry: EntryView | None) -> object:
    if entry is None:
        return None
    return (entry.id, entry.project, entry.task, entry.note)
