"""Reading dates, times and zones typed by a person on the command line."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent.errors import UserError
from agent.report import day_start

_DATE_WORDS = {"today": 0, "yesterday": -1}
# Dates outside these years are typing mistakes, and near the ends of the
# calendar the day after would overflow.
FIRST_YEAR, LAST_YEAR = 1970, 9000
_TIME_ONLY = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")


def zone(name: str | None) -> ZoneInfo:
    """The named IANA zone, or this machine's own when ``name`` is empty."""
    if not name:
        return local_zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UserError(
            f"unknown time zone {name!r}; use an IANA name such as "
            "Europe/Berlin, America/New_York or UTC"
        ) from error


def local_zone() -> ZoneInfo:
    """This machine's zone by its IANA name (UTC when it has none)."""
    import tzlocal

    try:
        return ZoneInfo(tzlocal.get_localzone_name() or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_date(text: str, tz: tzinfo, now: datetime) -> date:
    """``YYYY-MM-DD``, ``today`` or ``yesterday`` (in ``tz``)."""
    word = text.strip().lower()
    if word in _DATE_WORDS:
        return now.astimezone(tz).date() + timedelta(days=_DATE_WORDS[word])
    try:
        day = date.fromisoformat(word)
    except ValueError as error:
        raise UserError(
            f"cannot read the date {text!r}; write it as YYYY-MM-DD, "
            "'today' or 'yesterday'"
        ) from error
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise UserError(
            f"the date {text!r} is out of range; use a year from {FIRST_YEAR} "
            f"to {LAST_YEAR}"
        )
    return day


def parse_moment(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    """A moment as ``YYYY-MM-DD HH:MM``, ISO 8601 or ``HH:MM`` (today), in UTC.

    Times without an offset are local to ``tz``. A local time that does not
    exist (skipped by a DST change) is refused; one that happens twice is
    read as the first.
    """
    text = text.strip()
    if _TIME_ONLY.match(text):
        text = f"{now.astimezone(tz).date().isoformat()} {text}"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise UserError(
            f"cannot read the time {text!r}; write it as 'YYYY-MM-DD HH:MM' "
            "or 'HH:MM' for today"
        ) from error
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    return _localize(moment, tz)


def _localize(naive: datetime, tz: ZoneInfo) -> datetime:
    aware = naive.replace(tzinfo=tz, fold=0)
    round_trip = aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if round_trip != naive:
        raise UserError(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {tz.key}: the clocks "
            "moved forward then; give a time before or after the change"
        )
    later = naive.replace(tzinfo=tz, fold=1)
    if later.utcoffset() != aware.utcoffset():
        first, second = (_offset(moment) for moment in (aware, later))
        raise UserError(
            f"{naive:%Y-%m-%d %H:%M} happens twice in {tz.key} (the clocks went "
            f"back); say which with its offset: '{naive:%Y-%m-%d %H:%M}{first}' "
            f"or '{naive:%Y-%m-%d %H:%M}{second}'"
        )
    return aware.astimezone(UTC)


def _offset(moment: datetime) -> str:
    text = moment.strftime("%z")
    return f"{text[:3]}:{text[3:]}"


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC start and end of a local day (23 or 25 hours across DST)."""
    return day_start(day, tz), day_start(day + timedelta(days=1), tz)


def parse_duration(text: str) -> timedelta:
    """``1h30m``, ``90m``, ``45s`` or ``1:30`` as a duration."""
    text = text.strip().lower()
    if re.fullmatch(r"\d+:\d{2}", text):
        hours_text, minutes_text = text.split(":")
        return timedelta(hours=int(hours_text), minutes=int(minutes_text))
    match = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?", text)
    if not text or match is None:
        raise UserError(f"cannot read the duration {text!r}; write it as 1h30m")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)
