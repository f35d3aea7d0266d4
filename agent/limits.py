"""Work limits from policy: daily and weekly caps, and shift windows.

``[limits]`` in settings or policy:

- ``daily_hours`` and ``weekly_hours`` cap *worked* time — entries (of any
  source) and paid breaks, as :mod:`agent.breaks` counts them — per local day
  and per week (from ``general.week_start``) in ``general.time_zone``; 0 is
  no cap. At a cap the running entry ends at the exact moment the cap was
  reached, and a start is refused until the next day or week.
- ``[[limits.shift]]`` windows: days, start and end in local wall time. An
  end at or before the start is the next day's, so "22:00"–"06:00" on a
  Friday runs into Saturday morning. Windows are laid on the calendar in
  the zone, so across a daylight-saving change a night shift lasts an hour
  more or less in elapsed time, as the wall clock says; a start or end that
  falls in the skipped hour of a spring-forward moves later by the gap.
- ``outside_shift``: a start outside every window is refused ("refuse"; an
  entry still running at the end of a shift stops there) or kept and
  recorded as outside the shift ("record", the ``outside_shift`` table).

All of it is pure over the store's rows except :func:`worked_seconds`, which
reads them through the caller's session.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.errors import ConflictError
from agent.report import day_start, local_day_of
from agent.settings import LimitSettings, ShiftSettings
from agent.store.models import Break, Entry, OutsideShift, Project

log = logging.getLogger(__name__)

WEEKDAYS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
ONE_DAY = timedelta(days=1)


class LimitReachedError(ConflictError):
    """A start the work limits do not allow now; the message says until when."""


@dataclass(frozen=True)
class Shift:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time

    @classmethod
    def from_settings(cls, spec: ShiftSettings) -> Shift:
        days = frozenset(WEEKDAYS.index(day.casefold()) for day in spec.days)
        return cls(days, time.fromisoformat(spec.start), time.fromisoformat(spec.end))

    def window(self, day: date, tz: ZoneInfo) -> tuple[datetime, datetime] | None:
        """The shift that starts on local ``day``, in UTC, if it works that day."""
        if day.weekday() not in self.days:
            return None
        end_day = day if self.end > self.start else day + ONE_DAY
        return _instant(day, self.start, tz), _instant(end_day, self.end, tz)


def _instant(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """Local ``day`` at ``wall`` as a UTC instant.

    A repeated wall time (autumn) is its first occurrence; one the zone
    skipped (spring) is read with the offset before the change, so it lands
    as far after the gap as it was into it (02:30 becomes 03:30).
    """
    return datetime.combine(day, wall).replace(tzinfo=tz, fold=0).astimezone(UTC)


@dataclass(frozen=True)
class Allowed:
    """What the limits say at one moment."""

    day_left: float | None  # seconds; None: no daily cap
    week_left: float | None
    in_shift: bool
    shift_end: datetime | None  # the end of the window ``now`` is in
    next_shift: datetime | None  # the next window's start, when outside

    @property
    def left(self) -> float | None:
        """Seconds until the first cap, or None without caps."""
        known = [s for s in (self.day_left, self.week_left) if s is not None]
        return min(known) if known else None


class Limits:
    """The ``[limits]`` policy over one time zone."""

    def __init__(self, settings: LimitSettings, tz: ZoneInfo, week_start: str) -> None:
        self.settings = settings
        self.tz = tz
        self.week_start = WEEKDAYS.index(week_start)
        self.shifts = [Shift.from_settings(spec) for spec in settings.shift]

    @property
    def active(self) -> bool:
        s = self.settings
        return bool(s.daily_hours or s.weekly_hours or self.shifts)

    @property
    def refuses_outside_shift(self) -> bool:
        return bool(self.shifts) and self.settings.outside_shift == "refuse"

    # shift windows

    def shift_at(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The window holding ``moment`` (the latest-ending one), or None."""
        day = local_day_of(moment, self.tz)
        holding = [
            window
            for shift in self.shifts
            for start_day in (day - ONE_DAY, day)
            if (window := shift.window(start_day, self.tz)) is not None
            and window[0] <= moment < window[1]
        ]
        return max(holding, key=lambda window: window[1]) if holding else None

    def next_shift(self, moment: datetime) -> datetime | None:
        """The start of the first window after ``moment`` (within 8 days)."""
        day = local_day_of(moment, self.tz)
        starts = [
            window[0]
            for shift in self.shifts
            for offset in range(9)
            if (window := shift.window(day + offset * ONE_DAY, self.tz)) is not None
            and window[0] > moment
        ]
        return min(starts) if starts else None

    # caps

    def day_bounds(self, moment: datetime) -> tuple[datetime, datetime]:
        day = local_day_of(moment, self.tz)
        return day_start(day, self.tz), day_start(day + ONE_DAY, self.tz)

    def week_bounds(self, moment: datetime) -> tuple[datetime, datetime]:
        day = local_day_of(moment, self.tz)
        first = day - timedelta(days=(day.weekday() - self.week_start) % 7)
        return day_start(first, self.tz), day_start(first + 7 * ONE_DAY, self.tz)

    def allowed(self, session: Session, now: datetime) -> Allowed:
        """What is left of each cap at ``now``, and where the shifts stand."""
        s = self.settings
        day_left = week_left = None
        if s.daily_hours:
            start, end = self.day_bounds(now)
            day_left = s.daily_hours * 3600 - worked_seconds(session, start, end, now)
        if s.weekly_hours:
            start, end = self.week_bounds(now)
            week_left = s.weekly_hours * 3600 - worked_seconds(session, start, end, now)
        window = self.shift_at(now) if self.shifts else None
        return Allowed(
            day_left=day_left,
            week_left=week_left,
            in_shift=window is not None or not self.shifts,
            shift_end=window[1] if window else None,
            next_shift=self.next_shift(now) if self.shifts and window is None else None,
        )

    def refusal(self, allowed: Allowed, now: datetime) -> str | None:
        """Why a start is not allowed at ``now``, with when it will be; or None."""
        if allowed.day_left is not None and allowed.day_left <= 0:
            tomorrow = self.day_bounds(now)[1]
            return (
                f"the daily limit of {_hours(self.settings.daily_hours)} is reached; "
                f"you can start again {self.when(tomorrow, now)}"
            )
        if allowed.week_left is not None and allowed.week_left <= 0:
            next_week = self.week_bounds(now)[1]
            return (
                f"the weekly limit of {_hours(self.settings.weekly_hours)} is "
                f"reached; you can start again {self.when(next_week, now)}"
            )
        if not allowed.in_shift and self.refuses_outside_shift:
            after = allowed.next_shift
            return "it is outside your shift windows" + (
                f"; the next one starts {self.when(after, now)}" if after else ""
            )
        return None

    def stop_moment(
        self, allowed: Allowed, now: datetime
    ) -> tuple[datetime, str] | None:
        """When a timer running from ``now`` must stop, and why: a cap, or
        under "refuse" the end of the shift (now, outside one); or None."""
        moments = []
        for left, what in ((allowed.day_left, "daily"), (allowed.week_left, "weekly")):
            if left is not None:
                moment = now + timedelta(seconds=max(left, 0.0))
                moments.append((moment, f"the {what} limit is reached"))
        if self.refuses_outside_shift:
            end = allowed.shift_end if allowed.in_shift else now
            if end is not None:
                moments.append((end, "your shift is over"))
        return min(moments, key=lambda pair: pair[0]) if moments else None

    def when(self, moment: datetime, now: datetime) -> str:
        local = moment.astimezone(self.tz)
        if local_day_of(moment, self.tz) == local_day_of(now, self.tz):
            return f"at {local:%H:%M}"
        return f"on {local:%A %Y-%m-%d} at {local:%H:%M}"

    def outside_reason(self, now: datetime) -> str:
        after = self.next_shift(now)
        shown = f"; the next shift starts {self.when(after, now)}" if after else ""
        return f"started outside the shift windows{shown}"


def _hours(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60}:{minutes % 60:02d} h"


def worked_seconds(
    session: Session, start: datetime, end: datetime, now: datetime
) -> float:
    """Entries and paid breaks inside ``start``..``end``; running ones up to now."""
    total = 0.0
    entries = select(Entry.start, Entry.end).where(
        Entry.deleted_at.is_(None),
        Entry.start < end,
        (Entry.end.is_(None)) | (Entry.end > start),
    )
    breaks = select(Break.start, Break.end).where(
        Break.paid.is_(True),
        Break.start < end,
        (Break.end.is_(None)) | (Break.end > start),
    )
    for query in (entries, breaks):
        for piece_start, piece_end in session.execute(query):
            finish = piece_end if piece_end is not None else max(now, piece_start)
            seconds = (min(finish, end) - max(piece_start, start)).total_seconds()
            total += max(seconds, 0.0)
    return total


@dataclass(frozen=True)
class OutsideStart:
    """An entry kept though started outside the shifts ("record")."""

    entry_id: int
    start: datetime
    project: str
    reason: str


def outside_shift(
    session: Session, start: datetime, end: datetime
) -> list[OutsideStart]:
    """Entries started in ``start``..``end`` outside the shifts, oldest first."""
    query = (
        select(Entry.id, Entry.start, Project.name, OutsideShift.reason)
        .join(OutsideShift, OutsideShift.entry_id == Entry.id)
        .join(Project, Project.id == Entry.project_id)
        .where(Entry.deleted_at.is_(None), Entry.start >= start, Entry.start < end)
        .order_by(Entry.start)
    )
    return [OutsideStart(*row) for row in session.execute(query)]
