"""Reports read from a real store: totals summed in SQLite against the
interval-by-interval algorithm they replaced, on a realistic synthetic day.

The oracle below is the former agent/reporting.py: every entry and span
loaded through the ORM, each span clipped to its entry with a cursor, the
uncovered rest without an app, then :func:`agent.report.build_report`. The
day crosses midnight and the autumn DST change (Europe/Berlin), has spans
that overlap, run past their entry or start before it (an entry whose start
was edited later), an idle period discarded (the entry cut in two), breaks,
slots shared by two entries, slots missing (activity unknown), a deleted
entry and a running one.
"""

from __future__ import annotations

import logging
import random
import tracemalloc
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, joinedload

from agent.breaks import break_totals
from agent.report import (
    AWAY_GROUPINGS,
    ActivitySlot,
    BreakRow,
    GroupBy,
    Interval,
    Report,
    build_report,
    day_start,
    render_csv,
    render_json,
)
from agent.reporting import collect_report
from agent.store import Store
from agent.store.models import Entry, Slot, Span
from agent.timer import overlapping
from tests.timeline.synth import (
    SpanSpec,
    add_break,
    add_entry,
    add_idle,
    add_project,
    add_slot,
    add_spans,
)

BERLIN = ZoneInfo("Europe/Berlin")
DST_DAY = date(2026, 10, 25)  # Berlin falls back 03:00 -> 02:00: 25 hours
NOW = datetime(2026, 10, 26, 0, 30, tzinfo=UTC)  # 01:30 local, a timer runs

APPS = ("firefox", "code", "", None, "Slack 🚀", "終端")
TITLES = ("PR #12 – review", "notes.md", None, "  ", "设计稿 v2", "mail")
URLS = (
    "https://www.github.com/acme/pull/12",
    "github.com:443/acme",
    "https://xn--bcher-kva.example/x",
    "https://bücher.example/y",
    None,
    "about:blank",
)


# --- the oracle: the former collect_report ----------------------------------------


def oracle_report(
    store: Store, by: str, tz: ZoneInfo, first: date, last: date, now: datetime
) -> Report:
    group = GroupBy(by)
    start, end = day_start(first, tz), day_start(last + timedelta(days=1), tz)
    with store.read() as session:
        entries = overlapping(session, start, end)
        if group in {GroupBy.DAY, GroupBy.PROJECT, GroupBy.TASK}:
            intervals = [_entry_interval(entry, now) for entry in entries]
        else:
            intervals = list(_span_intervals(session, entries, now))
        query = select(Slot).where(
            Slot.start < end, Slot.end > start, Slot.active_seconds.is_not(None)
        )
        activity = [
            ActivitySlot(s.start, s.end, s.active_seconds or 0.0, s.tracked_seconds)
            for s in session.scalars(query)
        ]
    breaks = [
        BreakRow(total.policy, total.paid, total.seconds)
        for total in break_totals(store, start, end, now)
    ]
    return build_report(
        intervals,
        by=group,
        tz=tz,
        date_from=first,
        date_to=last,
        activity=activity,
        breaks=breaks,
    )


def _entry_interval(entry: Entry, now: datetime) -> Interval:
    end = entry.end if entry.end is not None else max(now, entry.start)
    task = entry.task.name if entry.task else None
    return Interval(entry.start, end, entry.project.name, task)


def _span_intervals(
    session: Session, entries: Sequence[Entry], now: datetime
) -> Iterator[Interval]:
    if not entries:
        return
    last_end = max(_entry_interval(entry, now).end for entry in entries)
    grouped: dict[int, list[Span]] = defaultdict(list)
    query = (
        select(Span)
        .options(joinedload(Span.app), joinedload(Span.title), joinedload(Span.url))
        .where(Span.start >= entries[0].start, Span.start < last_end)
        .order_by(Span.start)
    )
    for span in session.scalars(query):
        grouped[span.entry_id].append(span)
    for entry in entries:
        base = _entry_interval(entry, now)
        cursor = base.start
        for span in grouped.get(entry.id, []):
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
                # A page known by its domain alone: the host is what counts.
                url=(span.url.url or span.url.domain) if span.url else None,
            )
            cursor = end
        if cursor < base.end:
            yield Interval(cursor, base.end, base.project, base.task)


# --- the synthetic day ---------------------------------------------------------------


def local(day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    return datetime.combine(day, datetime.min.time()).replace(
        hour=hour, minute=minute, tzinfo=BERLIN, fold=fold
    )


def random_spans(
    rng: random.Random, start: datetime, end: datetime, count: int
) -> list[SpanSpec]:
    """Spans from ``start`` to ``end`` with gaps, some overlapping."""
    specs = []
    moment = start
    step = (end - start) / count
    for _ in range(count):
        length = step * rng.uniform(0.3, 1.6)
        if rng.random() < 0.2:
            moment += step * rng.uniform(0.1, 0.8)  # a gap: focus elsewhere
        specs.append(
            SpanSpec(
                moment,
                moment + length,
                rng.choice(APPS),
                rng.choice(TITLES),
                rng.choice(URLS),
                flags=1 if rng.random() < 0.05 else 0,
            )
        )
        moment += length * rng.choice((1.0, 1.0, 1.0, 0.6))  # 0.6: overlap
    return specs


def _slots_for(
    store: Store,
    rng: random.Random,
    entry_id: int,
    start: datetime,
    end: datetime,
    *,
    unknown: float = 0.0,
) -> None:
    """A slot every 10 minutes aligned to the hour; the share ``unknown`` of
    them without activity (no input source)."""
    slot = start.astimezone(UTC).replace(second=0, microsecond=0)
    slot -= timedelta(minutes=slot.minute % 10)
    while slot < end:
        overlap = (min(end, slot + timedelta(minutes=10)) - max(start, slot)).seconds
        active = None if rng.random() < unknown else rng.uniform(0, overlap)
        add_slot(store, entry_id, slot, float(overlap), active)
        slot += timedelta(minutes=10)


def write_day(store: Store, slots: str) -> None:
    """The day; ``slots``: "part" (some time without slot data), "full"
    (all of it with), "none" (no slots at all), "odd" (part, and one slot
    off the minute)."""
    rng = random.Random(7)
    if slots == "none":

        def slots_for(*_: object, **__: object) -> None:
            return None

    else:
        slots_for = _slots_for if slots != "full" else _all_known_slots
    add_project(store, "Acme", ["Design", "Build"])
    add_project(store, "Globex")

    # Across midnight and the DST change; its start was edited later, so
    # spans from before it are still in the table.
    night = (local(DST_DAY - timedelta(days=1), 22, 10), local(DST_DAY, 2, 30, 1))
    night_id = add_entry(store, "Acme", *night, "Design")
    early = random_spans(rng, night[0] - timedelta(minutes=20), night[1], 400)
    early.append(
        SpanSpec(night[1] - timedelta(minutes=5), night[1] + timedelta(hours=1), "code")
    )
    add_spans(store, night_id, early)
    slots_for(store, rng, night_id, *night)

    # An idle period discarded: the morning entry was cut in two around it.
    cut = (local(DST_DAY, 9, 12), local(DST_DAY, 9, 47))
    add_idle(store, *cut, "discard")
    for piece in ((local(DST_DAY, 8, 0), cut[0]), (cut[1], local(DST_DAY, 11, 4))):
        entry_id = add_entry(store, "Acme", *piece, "Build")
        add_spans(store, entry_id, random_spans(rng, *piece, 300))
        slots_for(store, rng, entry_id, *piece)

    # A switch inside a slot: both entries have a slot at 11:00.
    switch = (local(DST_DAY, 11, 4), local(DST_DAY, 12, 0))
    entry_id = add_entry(store, "Globex", *switch)
    # Globex's first entry had its start edited too: its first spans lie in
    # the Acme entry before it.
    edited = switch[0] - timedelta(minutes=9)
    add_spans(store, entry_id, random_spans(rng, edited, switch[1], 200))
    slots_for(store, rng, entry_id, *switch, unknown=0.3)

    add_break(store, local(DST_DAY, 12, 0), local(DST_DAY, 12, 45), "lunch")
    add_break(store, local(DST_DAY, 15, 0), local(DST_DAY, 15, 10), "rest", paid=True)

    # The afternoon: no slots at all for its second half (activity unknown).
    afternoon = (local(DST_DAY, 12, 45), local(DST_DAY, 18, 0))
    entry_id = add_entry(store, "Globex", *afternoon, note="no input source")
    # Its start was edited too: spans from the lunch break are still there.
    edited_from = afternoon[0] - timedelta(minutes=10)
    add_spans(store, entry_id, random_spans(rng, edited_from, afternoon[1], 600))
    slotted = afternoon[1] if slots == "full" else local(DST_DAY, 15, 20)
    slots_for(store, rng, entry_id, afternoon[0], slotted)
    # Some of its pages are known only by the domain in the window title.
    with store.write() as session:
        session.execute(text("INSERT INTO urls (domain) VALUES ('GitHub.com')"))
        session.execute(
            text(
                "UPDATE spans SET url_id = (SELECT id FROM urls WHERE url IS NULL)"
                " WHERE entry_id = :id AND url_id IS NULL AND start_ms % 3 = 0"
            ),
            {"id": entry_id},
        )

    # Deleted: neither it nor its spans count.
    gone = (local(DST_DAY, 19, 0), local(DST_DAY, 20, 0))
    gone_id = add_entry(store, "Acme", *gone)
    add_spans(store, gone_id, random_spans(rng, *gone, 50))
    with store.write() as session:
        session.execute(
            text("UPDATE entries SET deleted_at = end_ms WHERE id = :id"),
            {"id": gone_id},
        )

    # Running since 23:00, through midnight, with no spans after 00:40.
    running_start = local(DST_DAY, 23, 0)
    entry_id = add_entry(store, "Acme", running_start, None, "Design")
    add_spans(
        store,
        entry_id,
        random_spans(rng, running_start, NOW - timedelta(minutes=50), 150),
    )
    slots_for(store, rng, entry_id, running_start, NOW)

    if slots == "odd":
        # Bounds off the minute, overlapping others: no grid fits them.
        odd = local(DST_DAY, 14, 3) + timedelta(milliseconds=123)
        with store.write() as session:
            session.add(
                Slot(
                    entry_id=entry_id,
                    start=odd,
                    end=odd + timedelta(minutes=7, milliseconds=333),
                    tracked_seconds=300.0,
                    active_seconds=120.0,
                    passive_seconds=0.0,
                )
            )


def _all_known_slots(
    store: Store,
    rng: random.Random,
    entry_id: int,
    start: datetime,
    end: datetime,
    *,
    unknown: float = 0.0,
) -> None:
    _slots_for(store, rng, entry_id, start, end)


SLOTS = {"part": "part", "full": "full", "none": "none", "odd": None}


@pytest.fixture(params=list(SLOTS))
def day_store(request: pytest.FixtureRequest, store: Store) -> Store:
    write_day(store, request.param)
    return store


RANGES = [
    (DST_DAY, DST_DAY),
    (DST_DAY - timedelta(days=1), DST_DAY + timedelta(days=1)),
    (DST_DAY + timedelta(days=1), DST_DAY + timedelta(days=1)),
]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC", "Asia/Kathmandu"])
@pytest.mark.parametrize(
    "by", [group.value for group in GroupBy if group not in AWAY_GROUPINGS]
)
def test_store_report_matches_the_interval_algorithm(
    day_store: Store,
    by: str,
    zone: str,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="agent.reporting")
    tz = ZoneInfo(zone)
    for first, last in RANGES:
        expected = oracle_report(day_store, by, tz, first, last, NOW)
        got = collect_report(day_store, by, tz, first, last, NOW)

        assert got.total_seconds == expected.total_seconds
        assert [row.key for row in got.rows] == [row.key for row in expected.rows]
        for mine, theirs in zip(got.rows, expected.rows, strict=True):
            assert mine.seconds == theirs.seconds, mine.key
            if theirs.active_seconds is None:
                assert mine.active_seconds is None, mine.key
            else:
                assert mine.active_seconds == pytest.approx(
                    theirs.active_seconds, abs=1e-6
                ), mine.key
        assert got.breaks == expected.breaks
        assert render_json(got) == render_json(expected)
        assert render_csv(got) == render_csv(expected)

    # Each kind of slot data takes its own way: the odd slot the
    # piece-by-piece path, the others the grid with or without coverage.
    slots = request.node.callspec.params["day_store"]
    if by in ("app", "title", "domain", "project-app", "project-domain"):
        summed_in_python = "spans summed in Python" in caplog.text
        assert summed_in_python == (slots == "odd")
        if SLOTS[slots] is not None:
            assert f"covers {SLOTS[slots]} of the entries' time" in caplog.text


def test_the_synthetic_day_has_what_it_claims(
    day_store: Store, request: pytest.FixtureRequest
) -> None:
    """The cases the comparison relies on are really in the data."""
    report = collect_report(day_store, "app", BERLIN, DST_DAY, DST_DAY, NOW)
    keys = {row.key for row in report.rows}
    assert {"firefox", "code", "(no app)", "Slack 🚀", "終端"} <= keys
    by_domain = collect_report(day_store, "domain", BERLIN, DST_DAY, DST_DAY, NOW)
    with day_store.read() as session:
        domain_only = session.execute(
            text(
                "SELECT COUNT(*) FROM spans s JOIN urls u ON u.id = s.url_id"
                " WHERE u.url IS NULL"
            )
        ).scalar_one()
    assert domain_only > 20
    assert "github.com" in {row.key for row in by_domain.rows}
    assert report.breaks
    assert report.total_seconds > 0
    by_project = collect_report(day_store, "project", BERLIN, DST_DAY, DST_DAY, NOW)
    activity = {row.key: row.active_seconds for row in by_project.rows}
    known = {
        "part": (True, False),
        "odd": (True, False),
        "full": (True, True),
        "none": (False, False),
    }[request.node.callspec.params["day_store"]]
    assert (activity["Acme"] is not None, activity["Globex"] is not None) == known

    by_day = collect_report(
        day_store, "day", BERLIN, DST_DAY, DST_DAY + timedelta(days=1), NOW
    )
    assert {row.key for row in by_day.rows} == {"2026-10-25", "2026-10-26"}

    with day_store.read() as session:
        overlaps = session.execute(
            text(
                "SELECT COUNT(*) FROM (SELECT start_ms, entry_id, LAG(end_ms) OVER"
                " (PARTITION BY entry_id ORDER BY start_ms) AS previous FROM spans)"
                " WHERE start_ms < previous"
            )
        ).scalar_one()
        before = session.execute(
            text(
                "SELECT COUNT(*) FROM spans s JOIN entries e ON e.id = s.entry_id"
                " WHERE s.start_ms < e.start_ms"
            )
        ).scalar_one()
    assert overlaps > 50
    assert before > 5


# --- memory ---------------------------------------------------------------------


def python_peak(store: Store, by: str, first: date, last: date) -> int:
    tracemalloc.start()
    try:
        collect_report(store, by, BERLIN, first, last, NOW)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_spans(store: Store) -> None:
    """Ten times the spans in the same range: no more Python memory (the
    former algorithm held about 1.7 kB per span)."""
    add_project(store, "Acme")
    start = local(DST_DAY, 8, 0)
    rng = random.Random(3)
    few = add_entry(store, "Acme", start, start + timedelta(hours=2))
    add_spans(store, few, random_spans(rng, start, start + timedelta(hours=2), 4_000))
    many_start = start + timedelta(days=2)
    many = add_entry(store, "Acme", many_start, many_start + timedelta(hours=2))
    add_spans(
        store,
        many,
        random_spans(rng, many_start, many_start + timedelta(hours=2), 40_000),
    )

    for by in ("app", "title", "domain"):
        small = python_peak(store, by, DST_DAY, DST_DAY)
        large = python_peak(
            store, by, DST_DAY + timedelta(days=2), DST_DAY + timedelta(days=2)
        )
        assert large < small + 256 * 1024, by
        assert large < 2 * 1024 * 1024, by
