"""Focus samples into spans: exact edges, only inside entries, strings once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.clock import ManualClock
from agent.projects import Projects
from agent.reporting import collect_report
from agent.spans import SpanRecorder
from agent.store import Store
from agent.store.models import SpanFlag
from agent.timer import Timer
from capture.base import FocusSample
from tests.sync.queueing import queue_uploads

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "store.db")
    yield opened
    opened.close()


@pytest.fixture
def timer(store: Store, clock: ManualClock) -> Timer:
    Projects(store, clock).add("Acme")
    Projects(store, clock).add("Globex")
    return Timer(store, clock)


@pytest.fixture
def recorder(store: Store, clock: ManualClock) -> SpanRecorder:
    return SpanRecorder(store, clock)


def _sample(
    clock: ManualClock, app: str | None, title: str = "", **kw: object
) -> FocusSample:
    return FocusSample(
        at=clock.now(),
        mono=clock.monotonic(),
        app=app,
        title=title,
        **kw,  # type: ignore[arg-type]
    )


def _spans(store: Store) -> list[tuple[float, float, str | None, str | None, int]]:
    """(start s, end s after START, app, title, flags), by start."""
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute(
            "SELECT s.start_ms, s.end_ms, a.name, t.text, s.flags FROM spans s "
            "LEFT JOIN apps a ON a.id = s.app_id "
            "LEFT JOIN titles t ON t.id = s.title_id ORDER BY s.start_ms"
        ).fetchall()
    base = START.timestamp() * 1000
    return [
        ((start - base) / 1000, (end - base) / 1000, app, title, flags)
        for start, end, app, title, flags in rows
    ]


def _count(store: Store, table: str) -> int:
    with sqlite3.connect(store.path) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_spans_have_the_exact_switch_times(
    timer: Timer, recorder: SpanRecorder, clock: ManualClock, store: Store
) -> None:
    entry = timer.start("Acme")
    recorder.on_entry(entry, entry.start)
    recorder.on_sample(_sample(clock, "editor", "main.py"))
    clock.advance(12.345)
    recorder.on_sample(_sample(clock, "browser", "Docs"))
    clock.advance(7.5)
    recorder.on_sample(_sample(clock, "editor", "main.py"))
    clock.advance(3)

    assert recorder.flush() == 3

    assert _spans(store) == [
        (0.0, 12.345, "editor", "main.py", 0),
        (12.345, 19.845, "browser", "Docs", 0),
        (19.845, 22.845, "editor", "main.py", 0),
    ]


def test_repeated_identical_samples_merge_into_one_span(
    timer: Timer, recorder: SpanRecorder, clock: ManualClock, store: Store
) -> None:
    entry = timer.start("Acme")
    recorder.on_entry(entry, entry.start)
    for _ in range(5):
        recorder.on_sample(_sample(clock, "editor", "main.py"))
        clock.advance(2)
    recorder.flush()

    assert _spans(store) == [(0.0, 10.0, "editor", "main.py", 0)]


def test_no_spans_while_no_entry_runs(
    timer: Timer, recorder: SpanRecorder, clock: ManualClock, store: Store
) -> None:
    recorder.on_entry(None, clock.now())
    recorder.on_sample(_sample(clock, "editor", "main.py"))
    clock.advance(30)
    recorder.on_sample(_sample(clock, "browser", "Docs"))
    clock.advance(30)

    assert recorder.flush() == 0
    assert _spans(store) == []


def test_focus_held_at_the_start_opens_a_span_at_the_entry_start(
    timer: Timer, recorder: SpanRecorder, clock: ManualClock, store: Store
) -> None:
    recorder.on_sample(_sample(clock, "editor", "main.py"))
    clock.advance(60)
    entry = timer.start("Acme")
    recorder.on_entry(entry, entry.start)
    clock.advance(10)
    recorder.flush()

    assert _spans(store) == [(60.0, 70.0, "editor", "main.py", 0)]


def test_switch_and_stop_close_the_span_at_the_entry_edge(
    timer: Timer, recorder: SpanRecorder, clock: ManualClock, store: Store
) -> None:
    first = timer.start("Acme")
    recorder.on_entry(first, first.start)
    recorder.on_sample(_sample(clock, "editor", "main.py"))
    clock.advance(20)
    second = timer.start("Globex")
    recorder.on_entry(second, second.start)
    clock.advance(15)
    stopped = timer.stop()
    assert stopped is not None
    assert stopped.end is not None
    clock.advance(5)  # the agent notices a little later
    recorder.on_entry(None, stopped.end)
    clock.advance(100)
    recorder.flush()

    spans = _spans(store)
    assert spans == [
        (0.0, 20.0, "editor", "main.py", 0),
        (20.0, 35.0, "editor", "main.py", 0),
    ]
    with sqlite3.connect(store.path) as conn:
        owners = [row[0] for row in conn.execute("SELECT entry_id FROM spans")]
    assert sorted(owners) == sorted([first.id, second.id])


def test_unfocused_sample_ends_the_span(
    timer: Timer, recorder: SpanRecorder, clock: ManualClock, store: Store
) -> None:
    entry = timer.start("Acme")
    recorder.on_entry(entry, entry.start)
    recorder.on_sample(_sample(clock, "editor", "main.py"))
    clock.advance(10)
    recorder.on_sample(_sample(clock, None))
    clock.advance(10)
    recorder.flush()

    assert _spans(store) == [(0.0, 10.0, "editor", "main.py", 0)]


def test_flush_writes_the_open_span_progress(
    timer: Timer, recorder: SpanRecorder, clock: ManualClock, store: Store
) -> None:
    entry = timer.start("Acme")
    recorder.on_entry(entry, entry.start)
    recorder.on_sample(_sample(clock, "editor", "main.py"))

    for second in (5, 10, 15):
        clock.advance(5)
        recorder.flush()
        # A crash now would lose nothing written so far: the open span is on
        # disk up to this flush, as one row.
        assert _spans(store) == [(0.0, float(second), "editor", "main.py", 0)]

    clock.advance(3)
    recorder.on_sample(_sample(clock, "browser", "Docs"))
    clock.advance(2)
    recorder.flush()
    assert _spans(store) == [
        (0.0, 18.0, "editor", "main.py", 0),
        (18.0, 20.0, "browser", "Docs", 0),
    ]


def test_strings_are_stored_once(
    timer: Timer, store: Store, clock: ManualClock
) -> None:
    entry = timer.start("Acme")
    # Two recorders: another agent run on the same store reuses the rows too.
    for _ in range(2):
        recorder = SpanRecorder(store, clock)
        recorder.on_entry(entry, clock.now())
        for index in range(30):
            url = "https://example.com/a" if index % 2 else None
            domain = "example.com" if url else None
            app, title = ("browser", "Docs") if url else ("editor", "main.py")
            recorder.on_sample(_sample(clock, app, title, url=url, domain=domain))
            clock.advance(1)
            if index % 7 == 0:
                recorder.flush()
        recorder.flush()
        recorder.on_entry(None, clock.now())

    assert _count(store, "spans") == 60
    assert _count(store, "apps") == 2
    assert _count(store, "titles") == 2
    assert _count(store, "urls") == 1
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT url, domain FROM urls").fetchall() == [
            ("https://example.com/a", "example.com")
        ]


def test_privacy_flags(
    timer: Timer, recorder: SpanRecorder, clock: ManualClock, store: Store
) -> None:
    entry = timer.start("Acme")
    recorder.on_entry(entry, entry.start)
    for app, title, marks in [
        ("private", "", {"private": True}),
        ("editor", "a very long title…", {"title_cut": True}),
        ("browser", "", {"incognito": True}),
        ("terminal", "bash", {}),
    ]:
        recorder.on_sample(_sample(clock, app, title, **marks))
        clock.advance(1)
    recorder.flush()

    flags = [(app, title, flags) for _, _, app, title, flags in _spans(store)]
    assert flags == [
        ("private", None, SpanFlag.PRIVATE),
        ("editor", "a very long title…", SpanFlag.TITLE_CUT),
        ("browser", None, SpanFlag.INCOGNITO),
        ("terminal", "bash", 0),
    ]


def test_closed_spans_are_queued_for_upload_once(
    timer: Timer, recorder: SpanRecorder, clock: ManualClock, store: Store
) -> None:
    queue_uploads(store)
    entry = timer.start("Acme")
    recorder.on_entry(entry, entry.start)
    recorder.on_sample(_sample(clock, "editor"))
    clock.advance(5)
    recorder.flush()
    assert _count(store, "outbox WHERE kind = 'span'") == 0

    recorder.on_sample(_sample(clock, "browser"))
    clock.advance(5)
    recorder.flush()
    recorder.on_entry(None, clock.now())
    recorder.flush()

    assert _count(store, "outbox WHERE kind = 'span'") == 2


@pytest.mark.parametrize("by", ["app", "title", "domain"])
def test_reports_by_span_add_up_to_the_entry_total(
    by: str, timer: Timer, store: Store, clock: ManualClock
) -> None:
    recorder = SpanRecorder(store, clock)

    # 10 s with no focus captured, then spans, then a gap with nothing focused.
    entry = timer.start("Acme")
    recorder.on_entry(entry, entry.start)
    clock.advance(10)
    recorder.on_sample(_sample(clock, "editor", "main.py"))
    clock.advance(100)
    recorder.on_sample(
        _sample(
            clock,
            "browser",
            "Docs",
            url="https://docs.example.com/x",
            domain="docs.example.com",
        )
    )
    clock.advance(50)
    recorder.on_sample(_sample(clock, None))
    clock.advance(40)
    recorder.on_sample(_sample(clock, "editor", "main.py"))
    clock.advance(25)
    second = timer.start("Globex")
    recorder.on_entry(second, second.start)
    clock.advance(25)
    recorder.flush()

    day = START.date()
    now = clock.now()
    by_span = collect_report(store, by, UTC_ZONE, day, day, now)
    by_project = collect_report(store, "project", UTC_ZONE, day, day, now)

    assert by_project.total_seconds == 250
    assert by_span.total_seconds == by_project.total_seconds
    assert sum(row.seconds for row in by_span.rows) == pytest.approx(250)
    rows = {row.key: row.seconds for row in by_span.rows}
    if by == "app":
        assert rows == {"editor": 150, "browser": 50, "(no app)": 50}
    elif by == "domain":
        assert rows["docs.example.com"] == 50


def test_samples_that_differ_only_in_what_is_not_stored_make_one_span(
    timer: Timer, recorder: SpanRecorder, clock: ManualClock, store: Store
) -> None:
    """Another window or process of the same app and title, or the window
    going full screen, stores nothing new: no adjacent twin spans."""
    entry = timer.start("Acme")
    recorder.on_entry(entry, entry.start)
    page = {"url": "https://example.org/a", "domain": "example.org"}
    variants: list[dict[str, object]] = [
        {"window_id": 1, "pid": 10},
        {"window_id": 2, "pid": 10},
        {"window_id": 2, "pid": 11, "wm_class": "Navigator"},
        {"window_id": 2, "pid": 11, "fullscreen": True},
    ]
    for variant in variants:
        recorder.on_sample(_sample(clock, "browser", "Docs", **page, **variant))
        clock.advance(5)
    # What is stored changes: a new span each time.
    recorder.on_sample(_sample(clock, "browser", "Docs", url="https://example.org/b"))
    clock.advance(5)
    recorder.on_sample(_sample(clock, "browser", "Docs", domain="example.org"))
    clock.advance(5)
    recorder.on_sample(_sample(clock, "browser", "Docs", domain="example.org"))
    clock.advance(5)
    recorder.on_sample(_sample(clock, "browser", "Docs", private=True))
    clock.advance(5)

    assert recorder.flush() == 4
    assert _spans(store) == [
        (0.0, 20.0, "browser", "Docs", 0),
        (20.0, 25.0, "browser", "Docs", 0),
        (25.0, 35.0, "browser", "Docs", 0),
        (35.0, 40.0, "browser", "Docs", int(SpanFlag.PRIVATE)),
    ]
    with sqlite3.connect(store.path) as conn:
        pages = conn.execute(
            "SELECT u.url, u.domain FROM spans s "
            "LEFT JOIN urls u ON u.id = s.url_id ORDER BY s.start_ms"
        ).fetchall()
    assert [page[0] or page[1] for page in pages] == [
        "https://example.org/a",
        "https://example.org/b",
        "example.org",
        None,
    ]
