"""Reports: tracked time totalled by day, project, task, app, title or domain,
or apps and domains per project; and the time away from it: idle time by how
it was resolved, break time by policy.

Pure functions over what the store hands in — no database here. Entries
come as :class:`Interval` objects (a running entry ends at *now*) and slots
as :class:`ActivitySlot` objects; :func:`build_report` totals them. Spans are
too many for an object each (a month holds a million): the store sums them
per key itself, sharing activity through :class:`ActivityGrid`, and
:func:`build_key_report` finishes those totals the same way. The
``render_*`` functions print the result in the formats of ``punchclock
report`` (BRIEF.md, "Command-line contract").

How time is counted:

- The range ``date_from``..``date_to`` is inclusive, in *local* dates of the
  report's time zone. Local day *D* runs from :func:`day_start` of *D* to
  :func:`day_start` of *D + 1*: 24 hours on most days, 23 or 25 around a DST
  change, 23.5 or 24.5 on Lord Howe Island, none at all for a date a zone
  skipped (Samoa's 2011-12-30). Where local midnight does not exist (Havana
  springs forward at 00:00) the day starts at the transition; where midnight
  happens twice (Havana falls back to 00:00) it starts at the first one.
- Intervals are clipped to the range; by day they are also split at each
  local midnight. Overlapping intervals are summed as given: the store
  guarantees entries do not overlap, and a report does not second-guess it.
- Activity: each slot's active seconds are shared among the intervals that
  overlap it, in proportion to each one's overlap with the tracked part of the
  slot. A row's active seconds are known only when slot data covers every
  second of the row; otherwise they are ``None`` (unknown), never 0 — a row
  half covered would otherwise show half the activity it had.
- Breaks are not tracked time: the entry is paused while one lasts. They are
  handed in apart (:class:`BreakRow`, per policy and paid flag) and shown
  apart, below the total; paid ones add to the worked time, unpaid ones do
  not. The JSON object carries them as ``breaks`` (with
  ``paid_break_seconds``) only when the range holds any.
- Idle and break reports (``--by idle``, ``--by break``) total time away,
  not tracked time: idle periods by resolution (a split answer by its parts;
  an unresolved one as "unanswered"), breaks by policy with the paid and
  unpaid parts. Their rows have no activity (``active_seconds`` null).
- Rounding: rows keep exact seconds; output rounds each figure half to even.
  The total is the exact total rounded, so the rounded rows may differ from
  it by up to half a second per row.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import json
import logging
import math
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from agent.csvsafe import to_csv

log = logging.getLogger(__name__)

NO_PROJECT = "(no project)"
NO_TASK = "(no task)"
NO_APP = "(no app)"
NO_TITLE = "(no title)"
NO_DOMAIN = "(no domain)"

ONE_DAY = timedelta(days=1)
ZERO = timedelta(0)

# Widest key the table shows, in terminal cells; CSV and JSON keep it whole.
TABLE_KEY_WIDTH = 60
UNKNOWN = "—"


class GroupBy(StrEnum):
    DAY = "day"
    PROJECT = "project"
    TASK = "task"
    APP = "app"
    TITLE = "title"
    DOMAIN = "domain"
    PROJECT_APP = "project-app"
    PROJECT_DOMAIN = "project-domain"
    IDLE = "idle"
    BREAK = "break"


# Groupings inside each project: ``project-app`` is ``app`` per project.
PER_PROJECT = {GroupBy.PROJECT_APP: GroupBy.APP, GroupBy.PROJECT_DOMAIN: GroupBy.DOMAIN}
# Not tracked time but time away from it: idle periods by how they were
# resolved, breaks by policy. Their rows have no activity.
AWAY_GROUPINGS = frozenset({GroupBy.IDLE, GroupBy.BREAK})

# How an idle period was resolved (agent.idle.Resolution), as a report says it.
IDLE_RESOLUTIONS = {
    "keep": "kept",
    "discard": "discarded",
    "reassign": "reassigned",
    "break": "break",
    "split": "split",
    "stop": "stopped",
}
UNANSWERED = "unanswered"


@dataclass(frozen=True)
class Interval:
    """One piece of tracked time and what it was spent on.

    ``start`` and ``end`` are timezone-aware; a running entry arrives with
    ``end`` set to now. ``url`` is reduced to its domain by :func:`domain_of`.
    """

    start: datetime
    end: datetime
    project: str | None = None
    task: str | None = None
    app: str | None = None
    title: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class ActivitySlot:
    """Activity measured over one slot.

    ``tracked_seconds`` is how much of the slot was tracked, ``active_seconds``
    how many of those seconds had any input. A slot whose input source was
    unavailable is not handed in at all: its activity is unknown.
    """

    start: datetime
    end: datetime
    active_seconds: float
    tracked_seconds: float


@dataclass(frozen=True)
class ReportRow:
    """Exact seconds tracked under ``key``; active seconds, None if unknown."""

    key: str
    seconds: float
    active_seconds: float | None


@dataclass(frozen=True)
class BreakRow:
    """Break time under one policy in the range; ``paid`` counts as worked."""

    policy: str
    paid: bool
    seconds: float


@dataclass(frozen=True)
class Report:
    """Totals for a local date range, rows largest first (ties by key).

    ``total_seconds`` is the exact time inside the range, whatever the
    grouping; figures are rounded only when rendered.
    """

    date_from: date
    date_to: date
    by: GroupBy
    tz: ZoneInfo
    total_seconds: float
    rows: tuple[ReportRow, ...]
    breaks: tuple[BreakRow, ...] = ()

    @property
    def paid_break_seconds(self) -> float:
        return math.fsum(row.seconds for row in self.breaks if row.paid)

    @property
    def unpaid_break_seconds(self) -> float:
        return math.fsum(row.seconds for row in self.breaks if not row.paid)

    @property
    def tz_name(self) -> str:
        return self.tz.key or str(self.tz)

    @property
    def total_active_seconds(self) -> float | None:
        """Active seconds over all rows; unknown if any row's are unknown."""
        known = [row.active_seconds for row in self.rows]
        if not known or any(seconds is None for seconds in known):
            return None
        return math.fsum(seconds for seconds in known if seconds is not None)

    def as_json_dict(self) -> dict[str, object]:
        """The object ``punchclock report --format json`` prints."""
        shown = self._core_json()
        if self.breaks:
            shown["breaks"] = [
                {"policy": row.policy, "paid": row.paid, "seconds": round(row.seconds)}
                for row in self.breaks
            ]
            shown["paid_break_seconds"] = round(self.paid_break_seconds)
        if self.by is GroupBy.BREAK:
            shown["paid_break_seconds"] = round(self.paid_break_seconds)
            shown["unpaid_break_seconds"] = round(self.unpaid_break_seconds)
        return shown

    def _core_json(self) -> dict[str, object]:
        return {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "by": self.by.value,
            "tz": self.tz_name,
            "total_seconds": round(self.total_seconds),
            "rows": [
                {
                    "key": row.key,
                    "seconds": round(row.seconds),
                    "active_seconds": _rounded(row.active_seconds),
                }
                for row in self.rows
            ],
        }


# --- local days ------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the local date in ``tz`` is ``day``.

    That is local midnight; its first occurrence when a zone repeats
    midnight, and the transition itself when a zone skips it. For a date the
    zone skipped entirely it equals the next day's start.
    """
    wall = datetime.combine(day, time())
    candidates = sorted(
        {wall.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1)}
    )
    existing = [instant for instant in candidates if _wall(instant, tz) == wall]
    if existing:
        return existing[0]

    # Midnight falls in a gap: fold=1 reads it with the offset after the
    # change (an instant before it), fold=0 with the one before (after it).
    return _first_instant_of(day, tz, candidates[0], candidates[-1])


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.astimezone(tz).replace(tzinfo=None)


def _first_instant_of(
    day: date, tz: ZoneInfo, before: datetime, after: datetime
) -> datetime:
    """Bisect to the second at which the local date reaches ``day``.

    tz data puts transitions on whole seconds, so the search is exact.
    """
    low, high = 0, math.ceil((after - before).total_seconds())
    while high - low > 1:
        middle = (low + high) // 2
        if (before + timedelta(seconds=middle)).astimezone(tz).date() >= day:
            high = middle
        else:
            low = middle
    return before + timedelta(seconds=high)


def local_day_of(instant: datetime, tz: ZoneInfo) -> date:
    """The local day, as bounded by :func:`day_start`, that holds ``instant``."""
    day = instant.astimezone(tz).date()
    while day_start(day, tz) > instant:
        day -= ONE_DAY
    while day_start(day + ONE_DAY, tz) <= instant:
        day += ONE_DAY
    return day


def split_local_days(
    start: datetime, end: datetime, tz: ZoneInfo
) -> list[tuple[date, datetime, datetime]]:
    """Split ``start``..``end`` at each local midnight in ``tz``.

    Returns ``(local date, start, end)`` pieces in order, in UTC, each with a
    positive length; an empty or reversed interval gives no pieces.
    """
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return []

    pieces: list[tuple[date, datetime, datetime]] = []
    day = local_day_of(start, tz)
    while start < end:
        piece_end = min(end, day_start(day + ONE_DAY, tz))
        if piece_end > start:
            pieces.append((day, start, piece_end))
        start = piece_end
        day += ONE_DAY
    return pieces


# --- grouping keys -----------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def domain_of(url: str | None) -> str | None:
    """The domain a URL points at: lower-case host, no ``www.``, no port.

    Internationalised names come out in Unicode whether the URL carried them
    as Unicode or as punycode, so both land on one row. A URL without a host
    (``about:blank``, ``file:///``) or one that cannot be parsed gives None.
    """
    host = _hostname(url.strip()) if url else None
    if not host or any(_is_control_or_space(char) for char in host):
        return None

    host = _idna_to_unicode(host.rstrip(".")).lower()
    if host.startswith("www.") and len(host) > len("www."):
        host = host[len("www.") :]
    return host or None


def _hostname(text: str) -> str | None:
    try:
        parts = urlsplit(text)
        # "example.com/x" has no scheme; "localhost:8080" reads as scheme
        # "localhost". Both are hosts a browser would accept.
        if not parts.netloc and (not parts.scheme or parts.path[:1].isdigit()):
            parts = urlsplit("//" + text)
        return parts.hostname
    except ValueError:
        return None


def _idna_to_unicode(host: str) -> str:
    try:
        return host.encode("idna").decode("idna")
    except UnicodeError:
        return host


def _is_control_or_space(char: str) -> bool:
    return char.isspace() or unicodedata.category(char).startswith("C")


def _label(value: str | None, placeholder: str) -> str:
    return value if value and value.strip() else placeholder


def project_key(project: str | None, key: str) -> str:
    """``key`` inside its project, as the task grouping shows a task."""
    return f"{_label(project, NO_PROJECT)} / {key}"


def _task_key(interval: Interval) -> str:
    return project_key(interval.project, _label(interval.task, NO_TASK))


def idle_key(resolution: str | None, resolved_by: str | None) -> str:
    """The row of idle time resolved this way: "kept", "discarded (by
    policy)", "unanswered"..."""
    if resolution is None:
        return UNANSWERED
    shown = IDLE_RESOLUTIONS.get(resolution, resolution)
    return f"{shown} (by policy)" if resolved_by == "policy" else shown


def break_key(row: BreakRow) -> str:
    return f"{row.policy} ({'paid' if row.paid else 'unpaid'})"


_KEYS: dict[GroupBy, Callable[[Interval], str]] = {
    GroupBy.PROJECT: lambda interval: _label(interval.project, NO_PROJECT),
    GroupBy.TASK: _task_key,
    GroupBy.APP: lambda interval: _label(interval.app, NO_APP),
    GroupBy.TITLE: lambda interval: _label(interval.title, NO_TITLE),
    GroupBy.DOMAIN: lambda interval: domain_of(interval.url) or NO_DOMAIN,
    GroupBy.PROJECT_APP: lambda interval: project_key(
        interval.project, _label(interval.app, NO_APP)
    ),
    GroupBy.PROJECT_DOMAIN: lambda interval: project_key(
        interval.project, domain_of(interval.url) or NO_DOMAIN
    ),
}


# --- building the report -----------------------------------------------------

_Timed = TypeVar("_Timed", Interval, ActivitySlot)


@dataclass(frozen=True)
class _Piece:
    key: str
    start: datetime
    end: datetime


@dataclass
class _Tally:
    seconds: timedelta = ZERO
    covered: timedelta = ZERO
    active: list[float] = field(default_factory=list)


def build_report(
    intervals: Iterable[Interval],
    *,
    by: GroupBy | str,
    tz: ZoneInfo,
    date_from: date,
    date_to: date,
    activity: Iterable[ActivitySlot] = (),
    breaks: Iterable[BreakRow] = (),
) -> Report:
    """Total ``intervals`` over ``date_from``..``date_to`` (local, inclusive).

    Raises ValueError for a reversed range or a naive datetime. An interval
    that ends before it starts is logged and left out.
    """
    by = GroupBy(by)
    if by in AWAY_GROUPINGS:
        raise ValueError(f"{by} time is not in the intervals: see build_break_report")
    if date_to < date_from:
        raise ValueError(
            f"report range ends ({date_to}) before it starts ({date_from})"
        )

    window = (day_start(date_from, tz), day_start(date_to + ONE_DAY, tz))
    checked = [interval for interval in map(_checked, intervals) if interval]
    pieces = list(_pieces(checked, by, tz, window))
    slots = _SlotIndex(activity, checked)
    rows = _rows(pieces, slots)
    total = sum((piece.end - piece.start for piece in pieces), ZERO)

    log.debug("report by %s: %d intervals, %d rows", by, len(checked), len(rows))
    shown_breaks = tuple(sorted(breaks, key=lambda row: (-row.seconds, row.policy)))
    return Report(date_from, date_to, by, tz, total.total_seconds(), rows, shown_breaks)


def _checked(interval: Interval) -> Interval | None:
    if interval.start.tzinfo is None or interval.end.tzinfo is None:
        raise ValueError(f"interval times must be timezone-aware: {interval!r}")
    if interval.end < interval.start:
        log.warning("interval ends before it starts, left out: %r", interval)
        return None
    return _in_utc(interval)


def _in_utc(timed: _Timed) -> _Timed:
    """``timed`` with its times in UTC.

    Aware datetimes sharing a zone subtract as wall-clock time (an hour lost
    over a DST change); in UTC a difference is elapsed time.
    """
    if timed.start.tzinfo is UTC and timed.end.tzinfo is UTC:
        return timed
    return replace(
        timed, start=timed.start.astimezone(UTC), end=timed.end.astimezone(UTC)
    )


def _pieces(
    intervals: Sequence[Interval],
    by: GroupBy,
    tz: ZoneInfo,
    window: tuple[datetime, datetime],
) -> Iterator[_Piece]:
    """The parts of each interval inside the window, keyed for grouping."""
    for interval in intervals:
        start = max(interval.start, window[0])
        end = min(interval.end, window[1])
        if end <= start:
            continue
        if by is GroupBy.DAY:
            for day, piece_start, piece_end in split_local_days(start, end, tz):
                yield _Piece(day.isoformat(), piece_start, piece_end)
        else:
            yield _Piece(_KEYS[by](interval), start, end)


def _rows(pieces: Sequence[_Piece], slots: _SlotIndex) -> tuple[ReportRow, ...]:
    tallies: dict[str, _Tally] = {}
    for piece in pieces:
        tally = tallies.setdefault(piece.key, _Tally())
        tally.seconds += piece.end - piece.start
        active, covered = slots.measure(piece.start, piece.end)
        tally.active.append(active)
        tally.covered += covered

    rows = [
        ReportRow(key, tally.seconds.total_seconds(), _known_active(tally))
        for key, tally in tallies.items()
    ]
    return tuple(sorted(rows, key=lambda row: (-row.seconds, row.key)))


def _known_active(tally: _Tally) -> float | None:
    if tally.covered < tally.seconds:
        return None
    return math.fsum(tally.active)


def _overlap(
    start: datetime, end: datetime, other_start: datetime, other_end: datetime
) -> timedelta:
    return max(min(end, other_end) - max(start, other_start), ZERO)


class _SlotIndex:
    """Slots sorted for overlap queries.

    A slot's active seconds (at most its ``tracked_seconds``) are shared in
    proportion to overlap with its tracked part: ``tracked_seconds``, or the
    intervals' own overlap with the slot where that is larger (inconsistent
    input), so a slot never hands out more active time than it measured.
    Coverage — which seconds have slot data at all — is the union of the
    slots' bounds.
    """

    def __init__(
        self, slots: Iterable[ActivitySlot], intervals: Sequence[Interval]
    ) -> None:
        usable = (slot for slot in map(_usable_slot, slots) if slot)
        self._slots = sorted(usable, key=lambda slot: slot.start)
        self._starts = [slot.start for slot in self._slots]
        self._max_ends = list(itertools.accumulate((s.end for s in self._slots), max))
        self._coverage = _union([(slot.start, slot.end) for slot in self._slots])
        self._coverage_ends = [end for _, end in self._coverage]

        # How much of each slot the intervals fill, whether or not in range.
        self._filled = [0.0] * len(self._slots)
        for interval in intervals:
            for index, overlap in self._overlapping(interval.start, interval.end):
                self._filled[index] += overlap.total_seconds()

    def measure(self, start: datetime, end: datetime) -> tuple[float, timedelta]:
        """Active seconds attributed to ``start``..``end``, and how much of
        that time slot data covers."""
        active = 0.0
        for index, overlap in self._overlapping(start, end):
            slot = self._slots[index]
            tracked = max(slot.tracked_seconds, self._filled[index])
            measured = min(slot.active_seconds, slot.tracked_seconds)
            active += measured * overlap.total_seconds() / tracked
        return active, self._covered(start, end)

    def _overlapping(
        self, start: datetime, end: datetime
    ) -> Iterator[tuple[int, timedelta]]:
        # Slots before `first` all end by `start`; from `last` on they start
        # at or after `end`. Slots should not overlap, but may.
        first = bisect.bisect_right(self._max_ends, start)
        last = bisect.bisect_left(self._starts, end)
        for index in range(first, last):
            slot = self._slots[index]
            overlap = _overlap(start, end, slot.start, slot.end)
            if overlap > ZERO:
                yield index, overlap

    def _covered(self, start: datetime, end: datetime) -> timedelta:
        first = bisect.bisect_right(self._coverage_ends, start)
        covered = ZERO
        for part_start, part_end in self._coverage[first:]:
            if part_start >= end:
                break
            covered += _overlap(start, end, part_start, part_end)
        return covered


def _usable_slot(slot: ActivitySlot) -> ActivitySlot | None:
    if slot.start.tzinfo is None or slot.end.tzinfo is None:
        raise ValueError(f"slot times must be timezone-aware: {slot!r}")
    numbers = (slot.active_seconds, slot.tracked_seconds)
    if slot.end <= slot.start or not all(math.isfinite(n) and n >= 0 for n in numbers):
        log.warning("slot with impossible figures, its activity unknown: %r", slot)
        return None
    return _in_utc(slot)


def _union(
    parts: list[tuple[datetime, datetime]],
) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(parts):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _rounded(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds)


# --- totals computed elsewhere (in SQL), finished here ---------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

# Above this many cells the common grid of the slots' bounds is too fine for
# a lookup table (bounds off the minute: imported or hand-made slots).
MAX_GRID_CELLS = 500_000


def micros(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime: exact, unlike
    ``timestamp()``."""
    return (moment - _EPOCH) // _MICROSECOND


@dataclass(frozen=True)
class KeyTotal:
    """Time under one key, summed by the caller: microseconds, the active
    seconds attributed to them, and how many of them slot data covers."""

    key: str
    micros: int
    active_seconds: float
    covered_micros: int


@dataclass(frozen=True)
class Grid:
    """A uniform lookup table of :class:`ActivityGrid` over its window:
    ``cells`` rows of (index, rate, active before, covered flag, covered
    before), one per ``width`` microseconds from ``origin``, and one more at
    the window's end, so that a moment's cell is ``(t - origin) // width``."""

    origin: int
    width: int
    cells: list[tuple[int, float, float, int, int]]


class ActivityGrid:
    """Slot activity as a function of time over a window, in microseconds.

    The same sharing as :func:`build_report`'s (see :class:`_SlotIndex`): at
    each moment every slot holding it hands out ``measured / tracked`` active
    seconds per second, ``tracked`` being the larger of the slot's tracked
    seconds and the time ``intervals`` fill of it. Both that rate and
    coverage (some slot holds the moment) are constant between consecutive
    slot bounds, so the active (covered) time of any stretch is the
    difference of a running integral at its two ends — what lets a caller
    total a million spans in SQL with two lookups each (:meth:`grid`).
    """

    def __init__(
        self,
        slots: Iterable[ActivitySlot],
        intervals: Iterable[tuple[int, int]],
        window: tuple[int, int],
    ) -> None:
        start, end = window
        usable = [slot for slot in map(_usable_slot, slots) if slot]
        bounds = [(micros(slot.start), micros(slot.end)) for slot in usable]
        inside = {b for pair in bounds for b in pair if start < b < end}
        self._points = sorted({start, end} | inside)
        segments = max(len(self._points) - 1, 1)
        rates = [0.0] * segments
        covered = [0] * segments

        filled = _filled(bounds, intervals)
        for slot, (slot_start, slot_end), fill in zip(
            usable, bounds, filled, strict=True
        ):
            first = max(bisect.bisect_right(self._points, slot_start) - 1, 0)
            last = bisect.bisect_left(self._points, min(slot_end, end))
            tracked = max(slot.tracked_seconds, fill)
            measured = min(slot.active_seconds, slot.tracked_seconds)
            rate = measured / tracked if tracked > 0 else 0.0
            for index in range(first, min(last, segments)):
                rates[index] += rate
                covered[index] = 1

        self._rates, self._covered = rates, covered
        self._grids: dict[int, Grid | None] = {}
        lengths = [b - a for a, b in itertools.pairwise(self._points)] or [0]
        self._active_before = [
            0.0,
            *itertools.accumulate(
                rate * length for rate, length in zip(rates, lengths, strict=True)
            ),
        ]
        self._covered_before = [
            0,
            *itertools.accumulate(
                flag * length for flag, length in zip(covered, lengths, strict=True)
            ),
        ]

    def measure(self, start: int, end: int) -> tuple[float, int]:
        """Active seconds in ``start``..``end`` (inside the window), and the
        microseconds of it that slot data covers."""
        if end <= start:
            return 0.0, 0
        active = self._active_at(end) - self._active_at(start)
        return active / 1e6, self._covered_at(end) - self._covered_at(start)

    def grid(self, max_cells: int = MAX_GRID_CELLS) -> Grid | None:
        """The lookup table on the common grid of all slot bounds, or None
        when that grid would need more than ``max_cells`` cells. Built once
        (a report per project asks for it per project)."""
        if max_cells not in self._grids:
            self._grids[max_cells] = self._grid(max_cells)
        return self._grids[max_cells]

    def _grid(self, max_cells: int) -> Grid | None:
        origin, end = self._points[0], self._points[-1]
        width = functools.reduce(math.gcd, (p - origin for p in self._points), 0)
        width = width or 1
        count = (end - origin) // width
        if count > max_cells:
            return None
        cells = []
        for index in range(count + 1):
            moment = origin + index * width
            segment = self._segment(moment)
            cells.append(
                (
                    index,
                    self._rates[segment],
                    self._active_at(moment),
                    self._covered[segment],
                    self._covered_at(moment),
                )
            )
        return Grid(origin, width, cells)

    def _segment(self, moment: int) -> int:
        index = bisect.bisect_right(self._points, moment) - 1
        return min(max(index, 0), len(self._rates) - 1)

    def _active_at(self, moment: int) -> float:
        index = self._segment(moment)
        offset = moment - self._points[index]
        return self._active_before[index] + self._rates[index] * offset

    def _covered_at(self, moment: int) -> int:
        index = self._segment(moment)
        offset = moment - self._points[index]
        return self._covered_before[index] + self._covered[index] * offset


def _filled(
    bounds: Sequence[tuple[int, int]], intervals: Iterable[tuple[int, int]]
) -> list[float]:
    """Seconds of each slot the intervals fill, whether or not in range."""
    order = sorted(range(len(bounds)), key=lambda index: bounds[index][0])
    starts = [bounds[index][0] for index in order]
    max_ends = list(itertools.accumulate((bounds[i][1] for i in order), max))
    filled = [0] * len(bounds)
    for start, end in intervals:
        first = bisect.bisect_right(max_ends, start)
        last = bisect.bisect_left(starts, end)
        for index in order[first:last]:
            slot_start, slot_end = bounds[index]
            filled[index] += max(min(end, slot_end) - max(start, slot_start), 0)
    return [micro / 1e6 for micro in filled]


def build_key_report(
    totals: Iterable[KeyTotal],
    *,
    by: GroupBy | str,
    tz: ZoneInfo,
    date_from: date,
    date_to: date,
    breaks: Iterable[BreakRow] = (),
) -> Report:
    """The report of totals summed elsewhere; equal keys are merged. A key's
    active seconds are known only when slot data covers all of its time, as
    in :func:`build_report`."""
    merged: dict[str, list[float]] = {}
    for total in totals:
        if total.micros <= 0:
            continue
        sums = merged.setdefault(total.key, [0, 0.0, 0])
        sums[0] += total.micros
        sums[1] += total.active_seconds
        sums[2] += total.covered_micros
    rows = [
        ReportRow(key, micro / 1e6, active if covered >= micro else None)
        for key, (micro, active, covered) in merged.items()
    ]
    rows.sort(key=lambda row: (-row.seconds, row.key))
    tracked = sum(int(sums[0]) for sums in merged.values())
    shown_breaks = tuple(sorted(breaks, key=lambda row: (-row.seconds, row.policy)))
    return Report(
        date_from, date_to, GroupBy(by), tz, tracked / 1e6, tuple(rows), shown_breaks
    )


def build_break_report(
    breaks: Iterable[BreakRow], *, tz: ZoneInfo, date_from: date, date_to: date
) -> Report:
    """Break time per policy (paid or unpaid), as rows; the total is all
    break time, the paid and unpaid parts apart."""
    shown = tuple(sorted(breaks, key=lambda row: (-row.seconds, break_key(row))))
    rows = tuple(ReportRow(break_key(row), row.seconds, None) for row in shown)
    total = math.fsum(row.seconds for row in shown)
    return Report(date_from, date_to, GroupBy.BREAK, tz, total, rows, shown)


# --- rendering -----------------------------------------------------------------


def shown_rows(report: Report) -> tuple[ReportRow, ...]:
    """The rows in the order the table and CSV show them: by day, in date
    order (a calendar reads down); otherwise largest first. JSON keeps the
    contract's order, largest first, whatever the grouping."""
    if report.by is GroupBy.DAY:
        return tuple(sorted(report.rows, key=lambda row: row.key))
    return report.rows


def render_json(report: Report) -> str:
    """One JSON object, as BRIEF.md's command-line contract gives it."""
    return json.dumps(report.as_json_dict(), ensure_ascii=False)


def render_csv(report: Report) -> str:
    """``key,seconds,hours,active_seconds``; unknown activity is an empty cell.
    Rows as :func:`shown_rows` orders them.

    Keys that a spreadsheet would run as a formula are neutralised
    (:mod:`agent.csvsafe`).
    """
    rows = (
        (
            row.key,
            round(row.seconds),
            f"{row.seconds / 3600:.2f}",
            _rounded(row.active_seconds),
        )
        for row in shown_rows(report)
    )
    return to_csv(("key", "seconds", "hours", "active_seconds"), rows)


_TABLE_HEADINGS = {
    GroupBy.DAY: "Day",
    GroupBy.PROJECT: "Project",
    GroupBy.TASK: "Project / task",
    GroupBy.APP: "App",
    GroupBy.TITLE: "Title",
    GroupBy.DOMAIN: "Domain",
    GroupBy.PROJECT_APP: "Project / app",
    GroupBy.PROJECT_DOMAIN: "Project / domain",
    GroupBy.IDLE: "Resolution",
    GroupBy.BREAK: "Break policy",
}

_TABLE_TITLES = {
    GroupBy.IDLE: "Idle time by resolution",
    GroupBy.BREAK: "Break time by policy",
}


def render_table(report: Report) -> str:
    """An aligned table for a terminal: key, h:mm, activity %, then a total.
    Time away (idle, breaks) has no activity column.

    Control characters and bidi overrides in keys (hostile window titles)
    are made harmless; East Asian wide characters and emoji (with their
    selectors, skin tones, ZWJ sequences and flags) are measured as the two
    cells a terminal draws. Rows as :func:`shown_rows` orders them.
    """
    columns = 2 if report.by in AWAY_GROUPINGS else 3
    heading = (_TABLE_HEADINGS[report.by], "Time", "Activity")[:columns]
    lines = [
        _table_cells(_table_key(row.key), row.seconds, row.active_seconds)[:columns]
        for row in shown_rows(report)
    ]
    total_active = report.total_active_seconds
    total = _table_cells("Total", report.total_seconds, total_active)[:columns]
    widths = [
        max(_cells(line[column]) for line in [heading, *lines, total])
        for column in range(len(heading))
    ]

    rule = "  ".join("-" * width for width in widths)
    what = _TABLE_TITLES.get(report.by, f"Tracked time by {report.by.value}")
    title = f"{what}, {report.date_from} to {report.date_to} ({report.tz_name})"
    body = [_table_line(line, widths) for line in lines]
    heading_line, total_line = _table_line(heading, widths), _table_line(total, widths)
    table = [title, "", heading_line, rule, *body, rule, total_line, ""]
    return "\n".join(table + _break_lines(report))


def _break_lines(report: Report) -> list[str]:
    """Break time apart from the tracked total, and the worked time with the
    paid breaks."""
    if report.by is GroupBy.BREAK:
        heading = "Of which"
        cells = [
            ("Paid (counts as worked)", report.paid_break_seconds),
            ("Unpaid", report.unpaid_break_seconds),
        ]
    elif report.breaks:
        heading = "Breaks (not in the total above)"
        cells = [(break_key(row), row.seconds) for row in report.breaks]
        worked = report.total_seconds + report.paid_break_seconds
        cells.append(("Worked, with paid breaks", worked))
    else:
        return []
    width = max(_cells(_table_key(key)) for key, _ in cells)
    lines = [heading]
    for key, seconds in cells:
        shown = _table_key(key)
        lines.append(
            f"{shown}{' ' * (width - _cells(shown))}  {_hours_minutes(seconds)}"
        )
    return [*lines, ""]


def _table_cells(
    key: str, seconds: float, active: float | None
) -> tuple[str, str, str]:
    return key, _hours_minutes(seconds), _percent(active, seconds)


def _table_line(line: tuple[str, ...], widths: list[int]) -> str:
    key, *numbers = line
    cells = [key + " " * (widths[0] - _cells(key))]
    cells += [
        " " * (width - _cells(number)) + number
        for number, width in zip(numbers, widths[1:], strict=True)
    ]
    return "  ".join(cells).rstrip()


def _hours_minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _percent(active: float | None, seconds: float) -> str:
    if active is None or seconds <= 0:
        return UNKNOWN
    return f"{round(100 * active / seconds)}%"


# Bidi embeddings, overrides and isolates can reorder the rest of the line.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def table_key(key: str) -> str:
    """``key`` as a table cell: no control characters, cut to the key column."""
    clean = "".join(_printable(char) for char in key)
    return _truncated(clean, TABLE_KEY_WIDTH)


_table_key = table_key


def _printable(char: str) -> str:
    if char in _BIDI_CONTROLS:
        return ""
    if unicodedata.category(char) == "Cc":
        # Escape sequences would drive the terminal; newlines break the table.
        return " " if char.isspace() else "\ufffd"
    return char


def _truncated(text: str, width: int) -> str:
    if _cells(text) <= width:
        return text
    kept: list[str] = []
    used = _cells("…")
    for cluster in _clusters(text):
        used += _cluster_cells(cluster)
        if used > width:
            break
        kept.append(cluster)
    return "".join(kept) + "…"


def display_cells(text: str) -> int:
    """Terminal cells ``text`` takes, as terminals draw it: East Asian wide
    characters and emoji take two, marks joined to a character none."""
    return sum(_cluster_cells(cluster) for cluster in _clusters(text))


_cells = display_cells


# Emoji presentation and text presentation selectors; the joiner that makes
# one picture of two emoji; skin tones, which colour the emoji before them.
_EMOJI_STYLE = "\ufe0f"
_TEXT_STYLE = "\ufe0e"
_JOINER = "\u200d"
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)


def _clusters(text: str) -> Iterator[str]:
    """``text`` in the units a terminal draws as one: a character with the
    marks, selectors and skin tone that follow it, emoji joined by ZWJ, and
    pairs of regional indicators (flags). A simplification of Unicode's
    grapheme clusters (UAX #29) that covers what window titles carry."""
    cluster = ""
    for char in text:
        if cluster and _joins(cluster, char):
            cluster += char
            continue
        if cluster:
            yield cluster
        cluster = char
    if cluster:
        yield cluster


def _joins(cluster: str, char: str) -> bool:
    if _zero_width(char) or ord(char) in _SKIN_TONES:
        return True
    if cluster.endswith(_JOINER):
        # Emoji joined into one picture; other characters stay apart.
        return unicodedata.category(char) == "So"
    flags = sum(ord(c) in _REGIONAL_INDICATORS for c in cluster)
    return ord(char) in _REGIONAL_INDICATORS and flags == len(cluster) == 1


def _cluster_cells(cluster: str) -> int:
    base = cluster[0]
    if _zero_width(base):
        return 0
    if _TEXT_STYLE in cluster:
        return 1
    if _EMOJI_STYLE in cluster or (len(cluster) == 2 and _is_flag(cluster)):
        return 2
    return 2 if unicodedata.east_asian_width(base) in ("W", "F") else 1


def _is_flag(cluster: str) -> bool:
    return all(ord(char) in _REGIONAL_INDICATORS for char in cluster)


def _zero_width(char: str) -> bool:
    return bool(unicodedata.combining(char)) or unicodedata.category(char) in (
        "Mn",
        "Me",
        "Cf",
    )
