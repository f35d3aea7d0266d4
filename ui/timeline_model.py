"""The timeline window's state as one QObject: which day, which zone, the data.

Widgets render :attr:`TimelineModel.timeline` and call the methods here; the
records come from a :class:`~agent.timeline.TimelineSource` (the store, or a
review bundle read-only), never from ORM queries of the window's own. A day
is read on the Qt thread: a busy day (30k spans) takes about a tenth of a
second, less than a thread hop and a "loading" paint would save.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, Signal

from agent.errors import PunchclockError
from agent.timeline import DayTimeline, TimelineSource, load_day
from agent.timeparse import local_zone

log = logging.getLogger(__name__)


class TimelineModel(QObject):
    changed = Signal()
    """A new day or zone was loaded into :attr:`timeline`."""
    failed = Signal(str)
    """A day could not be read; the message says why."""

    def __init__(
        self, source: TimelineSource, day: date, tz: ZoneInfo | None = None
    ) -> None:
        super().__init__()
        self.source = source
        self.day = day
        self.tz = tz or source.worker_zone
        self.timeline: DayTimeline | None = None

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
        try:
            self.timeline = load_day(self.source, self.day, self.tz)
        except PunchclockError as error:
            log.warning("timeline of %s cannot be read: %s", self.day, error)
            self.failed.emit(str(error))
            return
        log.info("timeline of %s in %s loaded", self.day, self.tz.key)
        self.changed.emit()

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
