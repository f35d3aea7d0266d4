"""The timeline window's state as one QObject: which day, which zone, the data.

Widgets render :attr:`TimelineModel.timeline` and call the methods here; the
records come from a :class:`~agent.timeline.TimelineSource` (the store, or a
review bundle read-only), never from ORM queries of the window's own. A day
is read on the Qt thread: a busy day (30k spans) takes about a tenth of a
second, less than a thread hop and a "loading" paint would save.

Today's timeline follows the agent: every :data:`REFRESH_MS` the model reads
the source's change counter (one PRAGMA for the store) and reads the day
again only when it moved, emitting :attr:`TimelineModel.refreshed` so that
the window keeps its zoom and scroll. Other days, and bundles, are not
polled.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, QTimer, Signal

from agent.errors import PunchclockError
from agent.timeline import DayTimeline, TimelineSource, load_day
from agent.timeparse import local_zone

log = logging.getLogger(__name__)

REFRESH_MS = 2000


class TimelineModel(QObject):
    changed = Signal()
    """A new day or zone was loaded into :attr:`timeline`."""
    refreshed = Signal()
    """Today's records changed and :attr:`timeline` was read again."""
    failed = Signal(str)
    """A day could not be read; the message says why."""

    def __init__(
        self,
        source: TimelineSource,
        day: date,
        tz: ZoneInfo | None = None,
        *,
        refresh_ms: int = REFRESH_MS,
    ) -> None:
        super().__init__()
        self.source = source
        self.day = day
        self.tz = tz or source.worker_zone
        self.timeline: DayTimeline | None = None
        self.polls = 0
        """How often the change counter was read (for tests and logs)."""
        self.reads = 0
        """How often a day was read."""
        self._version: int | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(refresh_ms)
        self._poll.timeout.connect(self.refresh)

    def zones(self) -> list[tuple[str, ZoneInfo]]:
        """The zones offered: the worker's, the viewer's, UTC (no repeats)."""
        offered = [
            (f"Worker's zone ({self.source.worker_zone.key})", self.source.worker_zone),
            (f"My zone ({local_zone().key})", local_zone()),
            ("UTC", ZoneInfo("UTC")),
        ]
        seen: set[str] = set()
        unique = []
        for label, zone in offered:
            if zone.key not in seen:
                seen.add(zone.key)
                unique.append((label, zone))
        return unique

    def load(self) -> None:
        if self._read():
            log.info("timeline of %s in %s loaded", self.day, self.tz.key)
            self.changed.emit()

    def refresh(self) -> None:
        """Read today again if the source changed since the last read."""
        timeline = self.timeline
        self.polls += 1
        if timeline is None or not timeline.is_today:
            self._poll.stop()
            return
        version = self.source.changes()
        if version is None or version == self._version:
            return
        if self._read():
            log.debug("timeline of %s refreshed", self.day)
            self.refreshed.emit()

    def _read(self) -> bool:
        # The counter is read first: a change during the read is seen at the
        # next poll, never lost.
        self._version = self.source.changes()
        self.reads += 1
        try:
            self.timeline = load_day(self.source, self.day, self.tz)
        except PunchclockError as error:
            log.warning("timeline of %s cannot be read: %s", self.day, error)
            self.failed.emit(str(error))
            return False
        if self.timeline.is_today and self._version is not None:
            self._poll.start()
        else:
            self._poll.stop()
        return True

    def can_step(self, days: int) -> bool:
        bounds = self.source.days()
        if bounds is None:
            return True
        return bounds[0] <= self.day + timedelta(days=days) <= bounds[1]

    def step(self, days: int) -> None:
        """Previous (-1) or next (+1) day; a bundle stays inside its range."""
        if not self.can_step(days):
            return
        self.day += timedelta(days=days)
        self.load()

    def show_day(self, day: date) -> None:
        self.day = day
        self.load()

    def set_zone(self, tz: ZoneInfo) -> None:
        if tz.key == self.tz.key:
            return
        self.tz = tz
        self.load()

    def image(self, key: str) -> bytes | None:
        return self.source.image(key) if key else None
