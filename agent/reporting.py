"""Feeding the report builder from the store.

Entries answer "by day, project, task"; spans answer "by app, title,
domain". Tracked time that no span covers (capture off, or a timer run from
the CLI with no agent) is handed in without an app, so every grouping of the
same range adds up to the same total. Breaks are handed in apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from agent.breaks import break_totals
from agent.report import (
    ActivitySlot,
    BreakRow,
    GroupBy,
    Interval,
    Report,
    build_report,
)
from agent.report import day_start as local_day_start
from agent.store import Store
from agent.store.models import Entry, Slot, Span
from agent.timer import overlapping

ONE_DAY_GROUPINGS = {GroupBy.DAY, GroupBy.PROJECT, GroupBy.TASK}


def collect_report(
    store: Store,
    by: str,
    tz: ZoneInfo,
    date_from: date,
    date_to: date,
    now: datetime,
) -> Report:
    """The report of ``date_from``..``date_to`` (local days in ``tz``) by ``by``."""
    group = GroupBy(by)
    start = local_day_start(date_from, tz)
    end = local_day_start(date_to + timedelta(days=1), tz)

    with store.read() as session:
        entries = overlapping(session, start, end)
        if group in ONE_DAY_GROUPINGS:
            intervals = [_entry_interval(entry, now) for entry in entries]
        else:
            intervals = list(_span_intervals(session, entries, now))
        activity = _activity(session, start, end)
    breaks = [
        BreakRow(total.policy, total.paid, total.seconds)
        for total in break_totals(store, start, end, now)
    ]

    return build_report(
        intervals,
        by=group,
        tz=tz,
        date_from=date_from,
        date_to=date_to,
        activity=activity,
        breaks=breaks,
    )


def today_seconds(store: Store, tz: ZoneInfo, now: datetime) -> float:
    today = now.astimezone(tz).date()
    return collect_report(store, "day", tz, today, today, now).total_seconds


def _entry_interval(entry: Entry, now: datetime) -> Interval:
    return Interval(
        start=entry.start,
        end=_end(entry, now),
        project=entry.project.name,
        task=entry.task.name if entry.task else None,
    )


def _end(entry: Entry, now: datetime) -> datetime:
    if entry.end is not None:
        return entry.end
    return max(now, entry.start)


def _span_intervals(
    session: Session, entries: Sequence[Entry], now: datetime
) -> Iterator[Interval]:
    if not entries:
        return
    last_end = max(_end(entry, now) for entry in entries)
    spans = _spans_by_entry(session, entries[0].start, last_end)
    for entry in entries:
        yield from _fill(entry, spans.get(entry.id, []), now)


def _spans_by_entry(
    session: Session, start: datetime, end: datetime
) -> dict[int, list[Span]]:
    """The spans starting in [start, end), by entry; the table is sorted by start."""
    grouped: dict[int, list[Span]] = defaultdict(list)
    query = (
        select(Span)
        .options(joinedload(Span.app), joinedload(Span.title), joinedload(Span.url))
        .where(Span.start >= start, Span.start < end)
        .order_by(Span.start)
    )
    for span in session.scalars(query):
        grouped[span.entry_id].append(span)
    return grouped


def _fill(entry: Entry, spans: list[Span], now: datetime) -> Iterator[Interval]:
    """The entry's spans, clipped to it, and its uncovered time without an app."""
    base = _entry_interval(entry, now)
    cursor = base.start
    for span in spans:
        start, end = max(span.start, cursor), min(span.end, base.end)
        if end <= start:
            continue
        if start > cursor:
            yield Interval(cursor, start, base.project, base.task)
        yield Interval(
            start,
            end,
            base.project,
            base.task,
            app=span.app.name if span.app else None,
            title=span.title.text if span.title else None,
            url=span.url.url if span.url else None,
        )
        cursor = end
    if cursor < base.end:
        yield Interval(cursor, base.end, base.project, base.task)


def _activity(session: Session, start: datetime, end: datetime) -> list[ActivitySlot]:
    query = select(Slot).where(
        Slot.start < end, Slot.end > start, Slot.active_seconds.is_not(None)
    )
    return [
        ActivitySlot(
            slot.start, slot.end, slot.active_seconds or 0.0, slot.tracked_seconds
        )
        for slot in session.scalars(query)
    ]
