"""What the tray shows, as one QObject with a ``changed`` signal.

:class:`TrayModel` holds the last :class:`~ui.services.Snapshot` and the
running entry the agent announced since. Widgets render from it; nothing in
it blocks: snapshots are taken on the command runner's thread, and the
running entry's time is added on top of the last totals so the clock ticks
without a query per second.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, QTimer, Signal

from agent.consent import ConsentState
from agent.projects import ProjectView
from agent.timer import EntryView
from capture.base import CaptureHealth, HealthState
from ui.commands import CommandRunner
from ui.icons import TrayState
from ui.services import Choice, Services, Snapshot, Totals, take_snapshot

log = logging.getLogger(__name__)

# Totals, consent and capture health are re-read this often; the running
# entry itself arrives through the agent's listener as soon as it changes.
REFRESH_MS = 60_000


class TrayModel(QObject):
    changed = Signal()
    entry_changed_elsewhere = Signal(object)
    """The running entry changed without this app asking (the CLI, a jump)."""

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
        self._totals_at: datetime | None = None
        self._expected: list[object] = []
        self.tz: ZoneInfo = services.tz()
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()

    def now(self) -> datetime:
        return self.services.now()

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
        self.health = snapshot.health
        self.tz = self.services.tz()
        self.changed.emit()

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
        if self.fault() is not None:
            return TrayState.FAULT
        return TrayState.RUNNING if self.current is not None else TrayState.STOPPED

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
