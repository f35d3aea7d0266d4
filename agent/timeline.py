"""The lead's timeline of one local day, as data: lanes and totals.

Two steps, so that the same day can come from the local store or from a
review bundle (:mod:`agent.export`), and the tests can check it without
pixels:

- :func:`read_records` reads the raw rows of a time range from the store as
  plain tuples, in milliseconds since the epoch (UTC). Spans are read with
  one range scan of the table's clustered key (``start_ms``), from the start
  of the earliest entry that overlaps the range: a span never starts before
  its entry, so nothing that overlaps the range is missed, and no ORM object
  is built for any of the day's thousands of spans.
- :func:`build_timeline` turns :class:`Records` into a :class:`DayTimeline`
  for a local day in a chosen zone: the day runs from local midnight to the
  next (23 or 25 hours across a DST change, as in :mod:`agent.report`), and
  everything is clipped to it.

Lanes: entries (keyed by project, for colour), focused apps, window titles,
domains, activity % per slot, idle periods with their resolution, breaks,
unusual-activity flags, and screenshots at their moments. Totals per
project, task, app and domain carry their share of the day's tracked time;
tracked time no span covers counts as "(no app)" and "(no domain)", as in
reports, so every grouping adds up to the same total.
"""

from __future__ import annotations

import bisect
import gc
import logging
import math
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import NamedTuple, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import TextClause, text
from sqlalchemy.orm import Session

from agent.report import NO_APP, NO_DOMAIN, NO_PROJECT, NO_TASK, day_start, domain_of
from agent.store import Store
from agent.store.models import SpanFlag, from_millis, to_millis

log = logging.getLogger(__name__)

ONE_DAY = timedelta(days=1)
PRIVATE = "(private)"
UNRESOLVED = "unresolved"
# Consecutive spans of one app (or domain) closer than this merge into one
# bar on the apps (domains) lane; the titles lane keeps every span.
MERGE_GAP_MS = 1000
# Today, the first view reaches this far around now.
FOCUS_BEFORE_NOW_MS = 2 * 3_600_000
FOCUS_AFTER_NOW_MS = 30 * 60_000


# --- raw records -------------------------------------------------------------


class EntryRow(NamedTuple):
    id: int
    start_ms: int
    end_ms: int  # a running entry ends at the moment the records were read
    project: str
    task: str | None
    note: str | None
    source: str
    running: bool


class SpanRow(NamedTuple):
    start_ms: int
    end_ms: int
    entry_id: int
    app: str | None
    title: str | None
    url: str | None  # or the bare domain, where only that is known
    flags: int


class SlotRow(NamedTuple):
    start_ms: int
    end_ms: int
    entry_id: int
    tracked_seconds: float
    active_seconds: float | None
    synthetic_flags: int
    flag_reasons: str | None


class IdleRow(NamedTuple):
    id: int
    start_ms: int
    end_ms: int | None
    cause: str
    resolution: str | None
    resolved_by: str | None
    note: str | None


class BreakRow(NamedTuple):
    id: int
    start_ms: int
    end_ms: int | None
    policy: str
    paid: bool
    origin: str
    allotted_seconds: int | None


class ScreenshotRow(NamedTuple):
    id: int
    taken_ms: int
    monitor: int
    width: int
    height: int
    path: str  # relative to the screenshots directory; "" when there is none
    blurred: bool
    skipped_reason: str | None
    deleted_by: str | None


@dataclass(frozen=True)
class Records:
    """The raw rows of a time range, each kind sorted by start; UTC ms.

    ``read_ms`` is when they were read: an open idle period or break ends
    there, as a running entry does.
    """

    start_ms: int
    end_ms: int
    read_ms: int
    entries: tuple[EntryRow, ...] = ()
    spans: tuple[SpanRow, ...] = ()
    slots: tuple[SlotRow, ...] = ()
    idle: tuple[IdleRow, ...] = ()
    breaks: tuple[BreakRow, ...] = ()
    screenshots: tuple[ScreenshotRow, ...] = ()

    def within(self, start_ms: int, end_ms: int) -> Records:
        """The rows that overlap ``start_ms``..``end_ms`` (one day of many)."""
        longest = max((s.end_ms - s.start_ms for s in self.spans), default=0)
        first = bisect.bisect_left(self.spans, start_ms - longest, key=_span_start)
        last = bisect.bisect_left(self.spans, end_ms, key=_span_start)
        spans = tuple(s for s in self.spans[first:last] if s.end_ms > start_ms)
        shots = tuple(s for s in self.screenshots if start_ms <= s.taken_ms < end_ms)
        return Records(
            start_ms,
            end_ms,
            self.read_ms,
            entries=_overlapping(self.entries, start_ms, end_ms),
            spans=spans,
            slots=_overlapping(self.slots, start_ms, end_ms),
            idle=_overlapping(self.idle, start_ms, end_ms),
            breaks=_overlapping(self.breaks, start_ms, end_ms),
            screenshots=shots,
        )


def _span_start(span: SpanRow) -> int:
    return span.start_ms


class _Timed(Protocol):
    @property
    def start_ms(self) -> int: ...

    @property
    def end_ms(self) -> int | None: ...


_Row = TypeVar("_Row", bound=_Timed)


def _overlapping(rows: Iterable[_Row], start_ms: int, end_ms: int) -> tuple[_Row, ...]:
    return tuple(
        row
        for row in rows
        if row.start_ms < end_ms and (row.end_ms is None or row.end_ms > start_ms)
    )


# --- reading the store ---------------------------------------------------------

_ENTRIES_SQL = text(
    """
    SELECT e.id, e.start_ms, e.end_ms, p.name, t.name, e.note, e.source
    FROM entries e
    JOIN projects p ON p.id = e.project_id
    LEFT JOIN tasks t ON t.id = e.task_id
    WHERE e.deleted_at IS NULL AND e.start_ms < :end
      AND (e.end_ms IS NULL OR e.end_ms > :start)
    ORDER BY e.start_ms
    """
)

# Only the clustered key bounds the scan; the joins are primary-key lookups.
_SPANS_SQL = text(
    """
    SELECT s.start_ms, s.end_ms, s.entry_id, a.name, t.text,
           COALESCE(u.url, u.domain), s.flags
    FROM spans s
    LEFT JOIN apps a ON a.id = s.app_id
    LEFT JOIN titles t ON t.id = s.title_id
    LEFT JOIN urls u ON u.id = s.url_id
    WHERE s.start_ms >= :lookback AND s.start_ms < :end AND s.end_ms > :start
    ORDER BY s.start_ms
    """
)

_SLOTS_SQL = text(
    """
    SELECT start_ms, end_ms, entry_id, tracked_seconds, active_seconds,
           synthetic_flags, flag_reasons
    FROM slots WHERE start_ms < :end AND end_ms > :start
    ORDER BY start_ms
    """
)

_IDLE_SQL = text(
    """
    SELECT id, start_ms, end_ms, cause, resolution, resolved_by, note
    FROM idle_periods
    WHERE start_ms < :end AND (end_ms IS NULL OR end_ms > :start)
    ORDER BY start_ms
    """
)

_BREAKS_SQL = text(
    """
    SELECT id, start_ms, end_ms, policy, paid, origin, allotted_seconds
    FROM breaks
    WHERE start_ms < :end AND (end_ms IS NULL OR end_ms > :start)
    ORDER BY start_ms
    """
)

_SCREENSHOTS_SQL = text(
    """
    SELECT id, taken_at, monitor, width, height, path, blurred,
           skipped_reason, deleted_by
    FROM screenshots WHERE taken_at >= :start AND taken_at < :end
    ORDER BY taken_at, monitor
    """
)


def read_records(
    store: Store, start: datetime, end: datetime, now: datetime
) -> Records:
    """Every row of ``start``..``end`` the timeline and the bundle show."""
    bounds = {"start": to_millis(start), "end": to_millis(end)}
    now_ms = to_millis(now)
    with gc_paused(), store.read() as session:
        entries = tuple(_entry_rows(session, bounds, now_ms))
        lookback = min([bounds["start"], *(entry.start_ms for entry in entries)])
        spans = tuple(_rows(session, _SPANS_SQL, SpanRow, lookback=lookback, **bounds))
        slots = tuple(_rows(session, _SLOTS_SQL, SlotRow, **bounds))
        idle = tuple(_rows(session, _IDLE_SQL, IdleRow, **bounds))
        breaks = tuple(
            row._replace(paid=bool(row.paid))
            for row in _rows(session, _BREAKS_SQL, BreakRow, **bounds)
        )
        shots = tuple(
            row._replace(blurred=bool(row.blurred))
            for row in _rows(session, _SCREENSHOTS_SQL, ScreenshotRow, **bounds)
        )
    log.debug(
        "timeline records: %d entries, %d spans, %d slots, %d screenshots",
        len(entries),
        len(spans),
        len(slots),
        len(shots),
    )
    return Records(
        bounds["start"],
        bounds["end"],
        now_ms,
        entries,
        spans,
        slots,
        idle,
        breaks,
        shots,
    )


_Tuple = TypeVar("_Tuple", SpanRow, SlotRow, IdleRow, BreakRow, ScreenshotRow)


def _rows(
    session: Session, query: TextClause, kind: type[_Tuple], **params: int
) -> list[_Tuple]:
    # Straight through the driver: SQLAlchemy's per-row processing would
    # cost as much as the whole read for a day of 30k spans.
    connection = session.connection().connection.driver_connection
    assert isinstance(connection, sqlite3.Connection)
    rows = connection.execute(query.text, params).fetchall()
    return list(map(kind._make, rows))


def _entry_rows(
    session: Session, bounds: dict[str, int], now_ms: int
) -> Iterable[EntryRow]:
    for row in session.execute(_ENTRIES_SQL, bounds):
        ident, start_ms, end_ms, project, task, note, source = row
        running = end_ms is None
        end_ms = max(now_ms, start_ms) if running else end_ms
        yield EntryRow(ident, start_ms, end_ms, project, task, note, source, running)


# --- the day's model -------------------------------------------------------------


class LaneKind(StrEnum):
    ENTRIES = "entries"
    APPS = "apps"
    TITLES = "titles"
    DOMAINS = "domains"
    ACTIVITY = "activity"
    IDLE = "idle"
    BREAKS = "breaks"
    FLAGS = "flags"
    SCREENSHOTS = "screenshots"


LANE_TITLES = {
    LaneKind.ENTRIES: "Entries",
    LaneKind.APPS: "Apps",
    LaneKind.TITLES: "Titles",
    LaneKind.DOMAINS: "Domains",
    LaneKind.ACTIVITY: "Activity",
    LaneKind.IDLE: "Idle",
    LaneKind.BREAKS: "Breaks",
    LaneKind.FLAGS: "Flags",
    LaneKind.SCREENSHOTS: "Screenshots",
}


class Bar(NamedTuple):
    """One interval on a lane. ``key`` picks its colour; ``detail`` the hover."""

    start_ms: int
    end_ms: int
    label: str
    key: str
    detail: str
    value: float | None = None  # activity %: 0..100, None when unknown


class Lane(NamedTuple):
    kind: LaneKind
    bars: tuple[Bar, ...]

    @property
    def title(self) -> str:
        return LANE_TITLES[self.kind]

    def at(self, moment_ms: int) -> Bar | None:
        """The bar under ``moment_ms`` (the latest one starting before it)."""
        index = bisect.bisect_right(self.bars, moment_ms, key=_bar_start) - 1
        while index >= 0:
            bar = self.bars[index]
            if bar.end_ms > moment_ms:
                return bar
            # Bars of one lane do not overlap, except idle periods and flags;
            # look one further back for those.
            if index == 0 or self.kind not in _MAY_OVERLAP:
                return None
            index -= 1
        return None


_MAY_OVERLAP = frozenset({LaneKind.IDLE, LaneKind.FLAGS, LaneKind.BREAKS})


def _bar_start(bar: Bar) -> int:
    return bar.start_ms


class ScreenshotMark(NamedTuple):
    """A screenshot at its moment; ``image`` is empty when there is none."""

    id: int
    moment_ms: int
    monitor: int
    image: str
    thumbnail: str
    state: str  # "image", "blurred", "deleted", "skipped"
    detail: str


class Total(NamedTuple):
    key: str
    seconds: float
    share: float  # of the day's tracked time, 0..1


@dataclass(frozen=True)
class Totals:
    tracked_seconds: float
    break_seconds: float
    idle_seconds: float
    projects: tuple[Total, ...]
    tasks: tuple[Total, ...]
    apps: tuple[Total, ...]
    domains: tuple[Total, ...]

    def by(self, group: str) -> tuple[Total, ...]:
        rows: tuple[Total, ...] = getattr(self, group)
        return rows


@dataclass(frozen=True)
class DayTimeline:
    """One local day of ``tz``: ``start_ms``..``end_ms`` (UTC ms)."""

    day: date
    tz: ZoneInfo
    start_ms: int
    end_ms: int
    lanes: tuple[Lane, ...]
    screenshots: tuple[ScreenshotMark, ...]
    read_ms: int = 0
    """When the records were read: "now" for a day that is today."""
    parts: tuple[Sequence[EntryRow], Sequence[SpanRow]] = field(
        default=((), ()), repr=False, compare=False
    )
    """The day's clipped entries and its spans, for :attr:`totals`."""

    @cached_property
    def totals(self) -> Totals:
        """Computed when first asked: the window paints the lanes first."""
        entries, spans = self.parts
        with gc_paused():
            return _totals(entries, spans, self.lanes)

    def lane(self, kind: LaneKind) -> Lane:
        for lane in self.lanes:
            if lane.kind is kind:
                return lane
        raise KeyError(kind)

    @property
    def hours(self) -> float:
        return (self.end_ms - self.start_ms) / 3_600_000

    @property
    def tz_name(self) -> str:
        return self.tz.key or str(self.tz)

    def local(self, moment_ms: int) -> datetime:
        return from_millis(moment_ms).astimezone(self.tz)

    @property
    def is_today(self) -> bool:
        return self.start_ms <= self.read_ms < self.end_ms

    def focus_range(self) -> tuple[int, int]:
        """What a viewer looks at first: the recorded part of the day.

        From the first to the last recorded moment (and, today, up to now
        and a little after), widened to whole hours of the day; today with
        nothing recorded yet, the hours before and after now; another day
        with nothing, the whole day.
        """
        first = min(
            (lane.bars[0].start_ms for lane in self.lanes if lane.bars),
            default=None,
        )
        last = max(
            (max(bar.end_ms for bar in lane.bars) for lane in self.lanes if lane.bars),
            default=None,
        )
        shots = [mark.moment_ms for mark in self.screenshots]
        if shots:
            first = min(shots) if first is None else min(first, min(shots))
            last = max(shots) if last is None else max(last, max(shots))
        if self.is_today:
            now = self.read_ms
            first = now - FOCUS_BEFORE_NOW_MS if first is None else min(first, now)
            last = now + FOCUS_AFTER_NOW_MS if last is None else max(last, now)
            last = max(last, now + FOCUS_AFTER_NOW_MS)
        if first is None or last is None:
            return self.start_ms, self.end_ms

        hour = 3_600_000
        start = self.start_ms + (first - self.start_ms) // hour * hour
        end = self.start_ms - (self.start_ms - last) // hour * hour
        end = max(end, start + hour)
        return max(start, self.start_ms), min(end, self.end_ms)


def day_bounds_ms(day: date, tz: ZoneInfo) -> tuple[int, int]:
    """The local day's first and past-last instants in UTC ms."""
    return to_millis(day_start(day, tz)), to_millis(day_start(day + ONE_DAY, tz))


def build_timeline(records: Records, day: date, tz: ZoneInfo) -> DayTimeline:
    """The lanes and totals of local ``day`` in ``tz`` from ``records``."""
    with gc_paused():
        return _build(records, day, tz)


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while tens of thousands of tuples are made.

    They hold no cycles, but each allocation burst triggers collections that
    scan them all again; that doubled the time of a day of 30k spans.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build(records: Records, day: date, tz: ZoneInfo) -> DayTimeline:
    start_ms, end_ms = day_bounds_ms(day, tz)
    window = (start_ms, end_ms)
    clipped = (_clipped_entry(e, window) for e in records.entries)
    entries = [e for e in clipped if e is not None]
    spans = [s for s in records.spans if s.start_ms < end_ms and s.end_ms > start_ms]

    lanes = (
        Lane(LaneKind.ENTRIES, tuple(_entry_bars(entries))),
        Lane(LaneKind.APPS, tuple(_merged(spans, window, _app_of))),
        Lane(LaneKind.TITLES, tuple(_title_bars(spans, window))),
        Lane(LaneKind.DOMAINS, tuple(_merged(spans, window, _domain_of_span))),
        Lane(LaneKind.ACTIVITY, tuple(_activity_bars(records.slots, window))),
        Lane(LaneKind.IDLE, tuple(_idle_bars(records, window))),
        Lane(LaneKind.BREAKS, tuple(_break_bars(records, window))),
        Lane(LaneKind.FLAGS, tuple(_flag_bars(records.slots, window))),
    )
    shots = tuple(_screenshot_marks(records.screenshots, window))
    log.debug("timeline of %s (%s): %d spans", day, tz.key, len(spans))
    return DayTimeline(
        day, tz, start_ms, end_ms, lanes, shots, records.read_ms, (entries, spans)
    )


def _clipped_entry(entry: EntryRow, window: tuple[int, int]) -> EntryRow | None:
    start, end = max(entry.start_ms, window[0]), min(entry.end_ms, window[1])
    if end <= start:
        return None
    return entry._replace(start_ms=start, end_ms=end)


def _what(entry: EntryRow) -> str:
    project = entry.project or NO_PROJECT
    return f"{project} / {entry.task}" if entry.task else project


def _entry_bars(entries: Iterable[EntryRow]) -> Iterable[Bar]:
    for entry in entries:
        lines = [_what(entry), f"source: {entry.source}"]
        if entry.running:
            lines.append("running")
        if entry.note:
            lines.append(f"note: {entry.note}")
        yield Bar(
            entry.start_ms,
            entry.end_ms,
            _what(entry),
            entry.project or NO_PROJECT,
            "\n".join(lines),
        )


# Plain ints: IntFlag arithmetic costs microseconds per span.
_PRIVATE_FLAG = int(SpanFlag.PRIVATE)


def _app_of(span: SpanRow) -> str | None:
    if span.app:
        return span.app
    return PRIVATE if span.flags & _PRIVATE_FLAG else None


def _domain_of_span(span: SpanRow) -> str | None:
    return domain_of(span.url)


def _merged(
    spans: Sequence[SpanRow], window: tuple[int, int], key_of: _KeyOf
) -> Iterable[Bar]:
    """Runs of spans with the same key, merged across gaps under a second.

    Runs are clipped to the window, not each span: a day of 30k spans has
    tens of thousands of them, and this is on the way to the first paint.
    """
    starts: list[int] = []
    ends: list[int] = []
    keys: list[str] = []
    run_key: str | None = None
    run_end = 0
    for span, key in zip(spans, map(key_of, spans), strict=True):
        if key is None:
            continue
        if key == run_key and span.start_ms - run_end <= MERGE_GAP_MS:
            if span.end_ms > run_end:
                run_end = ends[-1] = span.end_ms
            continue
        run_key, run_end = key, span.end_ms
        starts.append(span.start_ms)
        ends.append(run_end)
        keys.append(key)
    first, last = window
    for run_start, run_stop, key in zip(starts, ends, keys, strict=True):
        start = run_start if run_start > first else first
        end = run_stop if run_stop < last else last
        yield Bar(start, end, key, key, key)


class _KeyOf(Protocol):
    def __call__(self, span: SpanRow, /) -> str | None: ...


def _title_bars(spans: Sequence[SpanRow], window: tuple[int, int]) -> Iterable[Bar]:
    first, last = window
    for start, end, _, app, title, url, flags in spans:
        if flags & _PRIVATE_FLAG:
            app, title = app or PRIVATE, PRIVATE
        else:
            app, title = app or NO_APP, title or "(no title)"
        detail = f"{app}\n{title}\n{url}" if url else f"{app}\n{title}"
        yield Bar(
            start if start > first else first,
            end if end < last else last,
            title,
            app,
            detail,
        )


def _activity_bars(slots: Sequence[SlotRow], window: tuple[int, int]) -> Iterable[Bar]:
    """One bar per wall-clock slot; the rows of several entries in it add up.

    Activity is unknown when any row of the slot has no active seconds (the
    input source was unavailable), never 0.
    """
    by_slot: dict[tuple[int, int], list[SlotRow]] = defaultdict(list)
    for slot in slots:
        if slot.start_ms < window[1] and slot.end_ms > window[0]:
            by_slot[(slot.start_ms, slot.end_ms)].append(slot)

    for (start, end), rows in sorted(by_slot.items()):
        tracked = math.fsum(row.tracked_seconds for row in rows)
        known = [row.active_seconds for row in rows]
        if tracked <= 0 or any(active is None for active in known):
            percent: float | None = None
            label, detail = "?", "activity unknown: no input source"
        else:
            active = math.fsum(a for a in known if a is not None)
            percent = min(100.0, 100.0 * active / tracked)
            label = f"{percent:.0f}%"
            detail = (
                f"activity {label}: {active:.0f} s active of {tracked:.0f} s tracked"
            )
        flagged = any(row.synthetic_flags for row in rows)
        key = "flagged" if flagged else "activity"
        yield Bar(
            max(start, window[0]), min(end, window[1]), label, key, detail, percent
        )


def _idle_bars(records: Records, window: tuple[int, int]) -> Iterable[Bar]:
    for period in records.idle:
        end_ms = period.end_ms if period.end_ms is not None else records.read_ms
        start, end = max(period.start_ms, window[0]), min(end_ms, window[1])
        if end <= start:
            continue
        resolution = period.resolution or UNRESOLVED
        lines = [f"idle ({period.cause}): {resolution}"]
        if period.resolved_by:
            lines.append(f"resolved by the {period.resolved_by}")
        if period.note:
            lines.append(f"note: {period.note}")
        yield Bar(start, end, resolution, resolution, "\n".join(lines))


def _break_bars(records: Records, window: tuple[int, int]) -> Iterable[Bar]:
    for pause in records.breaks:
        end_ms = pause.end_ms if pause.end_ms is not None else records.read_ms
        start, end = max(pause.start_ms, window[0]), min(end_ms, window[1])
        if end <= start:
            continue
        paid = "paid" if pause.paid else "unpaid"
        detail = f"break: {pause.policy} ({paid}, {pause.origin})"
        if pause.allotted_seconds:
            detail += f"\nallotted {pause.allotted_seconds // 60} min"
        yield Bar(start, end, pause.policy, paid, detail)


def _flag_bars(slots: Sequence[SlotRow], window: tuple[int, int]) -> Iterable[Bar]:
    seen: set[tuple[int, str]] = set()
    for slot in slots:
        if not slot.synthetic_flags:
            continue
        reasons = (slot.flag_reasons or "unusual activity").strip()
        if (slot.start_ms, reasons) in seen:
            continue
        seen.add((slot.start_ms, reasons))
        start, end = max(slot.start_ms, window[0]), min(slot.end_ms, window[1])
        if end > start:
            first = reasons.splitlines()[0]
            yield Bar(start, end, first, "flag", reasons)


def _screenshot_marks(
    shots: Sequence[ScreenshotRow], window: tuple[int, int]
) -> Iterable[ScreenshotMark]:
    for shot in shots:
        if not window[0] <= shot.taken_ms < window[1]:
            continue
        if shot.deleted_by:
            state, detail = "deleted", f"deleted by the {shot.deleted_by}"
        elif not shot.path:
            reason = shot.skipped_reason or "no image"
            state, detail = "skipped", f"not taken: {reason}"
        else:
            state = "blurred" if shot.blurred else "image"
            detail = f"monitor {shot.monitor}, {shot.width}×{shot.height}"
            detail += ", blurred" if shot.blurred else ""
        image = shot.path if state in ("image", "blurred") else ""
        thumb = thumbnail_key(image) if image else ""
        yield ScreenshotMark(
            shot.id, shot.taken_ms, shot.monitor, image, thumb, state, detail
        )


def thumbnail_key(image: str) -> str:
    """The thumbnail stored beside an image (agent.screenshots.thumbnail_path)."""
    path = PurePosixPath(image)
    return str(path.with_name(f"{path.stem}.thumb.jpg"))


# --- totals ---------------------------------------------------------------------


def _totals(
    entries: Sequence[EntryRow], spans: Sequence[SpanRow], lanes: Sequence[Lane]
) -> Totals:
    projects: dict[str, int] = defaultdict(int)
    tasks: dict[str, int] = defaultdict(int)
    apps: dict[str, int] = defaultdict(int)
    domains: dict[str, int] = defaultdict(int)

    by_entry: dict[int, list[SpanRow]] = defaultdict(list)
    for span in spans:
        by_entry[span.entry_id].append(span)

    for entry in entries:
        length = entry.end_ms - entry.start_ms
        projects[entry.project or NO_PROJECT] += length
        tasks[f"{entry.project or NO_PROJECT} / {entry.task or NO_TASK}"] += length
        _spread(entry, by_entry.get(entry.id, []), apps, domains)

    tracked = sum(projects.values())
    lane = {lane.kind: lane for lane in lanes}
    return Totals(
        tracked_seconds=tracked / 1000,
        break_seconds=_covered(lane[LaneKind.BREAKS].bars) / 1000,
        idle_seconds=_covered(lane[LaneKind.IDLE].bars) / 1000,
        projects=_ranked(projects, tracked),
        tasks=_ranked(tasks, tracked),
        apps=_ranked(apps, tracked),
        domains=_ranked(domains, tracked),
    )


def _spread(
    entry: EntryRow,
    spans: Sequence[SpanRow],
    apps: dict[str, int],
    domains: dict[str, int],
) -> None:
    """The entry's time by app and domain: its spans, clipped, and the rest."""
    cursor = entry.start_ms
    for span in spans:
        start, end = max(span.start_ms, cursor), min(span.end_ms, entry.end_ms)
        if end <= start:
            continue
        if start > cursor:
            apps[NO_APP] += start - cursor
            domains[NO_DOMAIN] += start - cursor
        apps[_app_of(span) or NO_APP] += end - start
        domains[domain_of(span.url) or NO_DOMAIN] += end - start
        cursor = end
    if cursor < entry.end_ms:
        apps[NO_APP] += entry.end_ms - cursor
        domains[NO_DOMAIN] += entry.end_ms - cursor


def _ranked(millis: dict[str, int], tracked: int) -> tuple[Total, ...]:
    rows = [
        Total(key, ms / 1000, ms / tracked if tracked else 0.0)
        for key, ms in millis.items()
        if ms > 0
    ]
    return tuple(sorted(rows, key=lambda row: (-row.seconds, row.key)))


def _covered(bars: Sequence[Bar]) -> int:
    """Milliseconds covered by the bars, overlaps counted once."""
    covered, reach = 0, None
    for bar in sorted(bars, key=_bar_start):
        start = bar.start_ms if reach is None else max(bar.start_ms, reach)
        if bar.end_ms > start:
            covered += bar.end_ms - start
        reach = bar.end_ms if reach is None else max(reach, bar.end_ms)
    return covered


# --- totals of a long range -----------------------------------------------------


def totals_of(
    records: Records, start_ms: int, end_ms: int, *, apps: bool = True
) -> Totals:
    """The totals of ``start``..``end`` from rows already read (a bundle)."""
    window = (start_ms, end_ms)
    clipped = (_clipped_entry(e, window) for e in records.entries)
    entries = [e for e in clipped if e is not None]
    spans = [s for s in records.spans if s.start_ms < end_ms and s.end_ms > start_ms]
    lanes = (
        Lane(LaneKind.IDLE, tuple(_idle_bars(records, window))),
        Lane(LaneKind.BREAKS, tuple(_break_bars(records, window))),
    )
    totals = _totals(entries, spans if apps else [], lanes)
    return totals if apps else replace(totals, apps=(), domains=())


# The spans of one entry inside its clipped bounds, summed in SQLite per app,
# page and privacy: a month of a million spans becomes a few hundred rows
# without a Python object per span. The clustered key bounds the scan.
_ENTRY_SPAN_SUMS = """
    SELECT app_id, url_id, flags & :private,
           SUM(MIN(end_ms, :end) - MAX(start_ms, :start))
    FROM spans
    WHERE start_ms >= :lookback AND start_ms < :end AND end_ms > :start
      AND entry_id = :entry
    GROUP BY 1, 2, 3
"""

_ENTRY_SPANS = """
    SELECT start_ms, end_ms, entry_id, NULL, NULL, NULL, flags, app_id, url_id
    FROM spans
    WHERE start_ms >= :lookback AND start_ms < :end AND end_ms > :start
      AND entry_id = :entry
    ORDER BY start_ms
"""


def read_range_totals(
    store: Store, start: datetime, end: datetime, now: datetime, *, apps: bool = True
) -> Totals:
    """The totals of ``start``..``end`` (any length), as a day's timeline has
    them: per project, task, app and domain with their share, and the time
    on breaks and idle.

    Spans are summed per entry in SQLite instead of read one by one. Spans of
    one entry do not overlap as the agent writes them; an entry whose summed
    spans exceed its length (overlapping spans, from an import or a bug) is
    counted span by span instead, as :func:`build_timeline` does. Without
    ``apps`` no span is read, and there are no app and domain rows.
    """
    bounds = {"start": to_millis(start), "end": to_millis(end)}
    now_ms = to_millis(now)
    window = (bounds["start"], bounds["end"])
    projects: dict[str, int] = defaultdict(int)
    tasks: dict[str, int] = defaultdict(int)
    app_ids: dict[int | None, int] = defaultdict(int)
    url_ids: dict[int | None, int] = defaultdict(int)
    with gc_paused(), store.read() as session:
        connection = session.connection().connection.driver_connection
        assert isinstance(connection, sqlite3.Connection)
        rows = list(_entry_rows(session, bounds, now_ms))
        # An entry's spans start at or after its own start, before the clip.
        originals = {row.id: row.start_ms for row in rows}
        clipped = (_clipped_entry(row, window) for row in rows)
        entries = [entry for entry in clipped if entry is not None]
        for entry in entries:
            length = entry.end_ms - entry.start_ms
            projects[entry.project or NO_PROJECT] += length
            tasks[f"{entry.project or NO_PROJECT} / {entry.task or NO_TASK}"] += length
            covered = (
                _sum_entry(connection, entry, originals[entry.id], app_ids, url_ids)
                if apps
                else length
            )
            app_ids[None] += length - covered
            url_ids[None] += length - covered
        names = _named(connection, "apps", "name", app_ids)
        urls = _named(connection, "urls", _PAGE, url_ids)
        idle = tuple(_rows(session, _IDLE_SQL, IdleRow, **bounds))
        breaks = tuple(_rows(session, _BREAKS_SQL, BreakRow, **bounds))

    domains: dict[str, int] = defaultdict(int)
    for url, millis in urls.items():
        domains[domain_of(url) or NO_DOMAIN] += millis
    records = Records(window[0], window[1], now_ms, idle=idle, breaks=breaks)
    tracked = sum(projects.values())
    return Totals(
        tracked_seconds=tracked / 1000,
        break_seconds=_covered(list(_break_bars(records, window))) / 1000,
        idle_seconds=_covered(list(_idle_bars(records, window))) / 1000,
        projects=_ranked(projects, tracked),
        tasks=_ranked(tasks, tracked),
        apps=_ranked({k or NO_APP: v for k, v in _merged_keys(names).items()}, tracked),
        domains=_ranked(domains, tracked),
    )


# A page's URL, or its domain where only that is known (from a window title).
_PAGE = "COALESCE(url, domain)"

# An app id no row has: private spans without an app, counted as "(private)".
_PRIVATE_ID = -1


def _sum_entry(
    connection: sqlite3.Connection,
    entry: EntryRow,
    lookback: int,
    app_ids: dict[int | None, int],
    url_ids: dict[int | None, int],
) -> int:
    """Add the entry's span time per app and page id; the milliseconds its
    spans cover."""
    params = {
        "start": entry.start_ms,
        "end": entry.end_ms,
        "lookback": lookback,
        "entry": entry.id,
        "private": _PRIVATE_FLAG,
    }
    sums = connection.execute(_ENTRY_SPAN_SUMS, params).fetchall()
    if sum(row[3] for row in sums) > entry.end_ms - entry.start_ms:
        sums = _spread_by_ids(connection, entry, params)
    covered = 0
    for app_id, url_id, private, millis in sums:
        app_ids[_PRIVATE_ID if app_id is None and private else app_id] += millis
        url_ids[url_id] += millis
        covered += millis
    return covered


def _spread_by_ids(
    connection: sqlite3.Connection, entry: EntryRow, params: dict[str, int]
) -> list[tuple[int | None, int | None, int, int]]:
    """One entry's spans summed the exact way (a cursor: no time twice)."""
    sums: dict[tuple[int | None, int | None, int], int] = defaultdict(int)
    cursor = entry.start_ms
    for row in connection.execute(_ENTRY_SPANS, params):
        start, end = max(row[0], cursor), min(row[1], entry.end_ms)
        if end <= start:
            continue
        sums[(row[7], row[8], row[6] & _PRIVATE_FLAG)] += end - start
        cursor = end
    return [(*key, millis) for key, millis in sums.items()]


def _named(
    connection: sqlite3.Connection,
    table: str,
    column: str,
    millis: dict[int | None, int],
) -> dict[str | None, int]:
    """``millis`` keyed by the text of each id in ``table`` (None stays None)."""
    ids = [key for key in millis if key is not None and key != _PRIVATE_ID]
    names: dict[int, str] = {}
    for first in range(0, len(ids), 500):
        chunk = ids[first : first + 500]
        marks = ",".join("?" * len(chunk))
        names.update(
            connection.execute(
                f"SELECT id, {column} FROM {table} WHERE id IN ({marks})", chunk
            ).fetchall()
        )
    named: dict[str | None, int] = defaultdict(int)
    for key, value in millis.items():
        if key == _PRIVATE_ID:
            named[PRIVATE] += value
        else:
            named[names.get(key) if key is not None else None] += value
    return named


def _merged_keys(millis: dict[str | None, int]) -> dict[str | None, int]:
    merged: dict[str | None, int] = defaultdict(int)
    for key, value in millis.items():
        merged[key or None] += value
    return merged


# --- moments for a person ----------------------------------------------------------


def moment_text(moment_ms: int, tz: ZoneInfo) -> str:
    """``HH:MM:SS`` in ``tz``."""
    local = datetime.fromtimestamp(moment_ms / 1000, UTC).astimezone(tz)
    return local.strftime("%H:%M:%S")


def duration_text(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


# --- where a timeline's records come from -------------------------------------------


class TimelineSource(Protocol):
    """Records and images for the timeline window: the store or a bundle.

    Called on the Qt thread; :meth:`records` reads one day (tens of
    milliseconds for a busy day), :meth:`image` one file.
    """

    @property
    def title(self) -> str: ...

    @property
    def worker_zone(self) -> ZoneInfo: ...

    @property
    def read_only(self) -> bool: ...

    def days(self) -> tuple[date, date] | None:
        """The first and last local day (worker's zone) it holds; None: any."""

    def records(self, start_ms: int, end_ms: int) -> Records: ...

    def changes(self) -> int | None:
        """A counter that moves when the records may have changed, cheap to
        read (polled every few seconds for today); None: they never change."""

    def totals(self, start_ms: int, end_ms: int, *, apps: bool = True) -> Totals:
        """The totals of any range (a month: well under a second); without
        ``apps``, only the entries' (no app or domain rows: much cheaper)."""

    def image(self, key: str) -> bytes | None:
        """The image (or thumbnail) stored under ``key``; None when gone."""


class StoreSource:
    """The local store: the worker's own machine, any day."""

    title = "this computer"
    read_only = False

    def __init__(
        self,
        store: Store,
        screenshots_dir: Path,
        worker_zone: ZoneInfo,
        now: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._dir = screenshots_dir
        self.worker_zone = worker_zone
        self._now = now

    def days(self) -> tuple[date, date] | None:
        return None

    def records(self, start_ms: int, end_ms: int) -> Records:
        start, end = from_millis(start_ms), from_millis(end_ms)
        return read_records(self._store, start, end, self._now())

    def totals(self, start_ms: int, end_ms: int, *, apps: bool = True) -> Totals:
        start, end = from_millis(start_ms), from_millis(end_ms)
        return read_range_totals(self._store, start, end, self._now(), apps=apps)

    def changes(self) -> int | None:
        # SQLite's data_version: one PRAGMA on a connection of its own, moved
        # by every commit of the agent, the CLI or the tray.
        return self._store.data_version()

    def image(self, key: str) -> bytes | None:
        path = (self._dir / key).resolve()
        if not key or not path.is_relative_to(self._dir.resolve()):
            log.warning("screenshot path outside the screenshots directory: %r", key)
            return None
        try:
            return path.read_bytes()
        except OSError as error:
            log.info("screenshot %s cannot be read: %s", key, error)
            return None


def load_day(source: TimelineSource, day: date, tz: ZoneInfo) -> DayTimeline:
    start_ms, end_ms = day_bounds_ms(day, tz)
    return build_timeline(source.records(start_ms, end_ms), day, tz)
