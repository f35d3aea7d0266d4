"""A realistic day uploaded into a real aw-server 0.12.0 and read back."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from agent.clock import ManualClock
from agent.projects import Projects
from agent.spans import SpanRecorder
from agent.store import Store
from agent.store.models import Entry, EntrySource, IdlePeriod
from agent.store.outbox import enqueue
from agent.timer import Timer
from capture.base import FocusSample
from sync.service import NameLookup
from sync.targets.activitywatch import ActivityWatchTarget
from tests.sync import servers
from tests.sync.conftest import make_uploader
from tests.sync.day import DAY, write_day
from tests.sync.proxy import FaultProxy


@pytest.fixture
def aw_url(tmp_path: Path) -> Iterator[str]:
    if servers.aw_python() is None:
        pytest.skip("aw-server 0.12.0 is not installed (.ci/run installs it)")
    with servers.aw_server(tmp_path / "aw") as url:
        yield url


def _events(url: str, bucket: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{url}/api/0/buckets/{bucket}/events", params={"limit": "-1"})
    answer.raise_for_status()
    events: list[dict[str, object]] = answer.json()
    return events


def test_a_day_reads_back_with_the_same_totals_per_app(
    aw_url: str, store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    day = write_day(store, spans=300)
    target = ActivityWatchTarget(aw_url, names=NameLookup(store), hostname="pc1")
    uploader = make_uploader(store, target, clock, tmp_path, batch_count=100)

    report = uploader.run()

    assert report.error is None
    assert uploader.outbox.counts(clock.now()).waiting == 0
    windows = _events(aw_url, target.bucket_id("span"))
    per_app: dict[str, float] = defaultdict(float)
    for event in windows:
        data = event["data"]
        assert isinstance(data, dict)
        assert "id" not in data
        per_app[data["app"]] += float(event["duration"])  # type: ignore[arg-type]
    assert per_app.keys() == day.seconds_per_app.keys()
    for app, seconds in day.seconds_per_app.items():
        assert per_app[app] == pytest.approx(seconds, abs=0.01)

    entries = _events(aw_url, target.bucket_id("entry"))
    assert len(entries) == day.counts["entry"]
    assert {e["data"]["project"] for e in entries} == {"Acme", "Globex"}  # type: ignore[index]
    afk = _events(aw_url, target.bucket_id("idle_period"))
    assert [e["data"]["status"] for e in afk].count("afk") == 3  # type: ignore[index]

    buckets = httpx.get(f"{aw_url}/api/0/buckets/").json()
    assert buckets[target.bucket_id("span")]["type"] == "currentwindow"
    assert buckets[target.bucket_id("idle_period")]["type"] == "afkstatus"


def test_an_edited_entry_replaces_its_event_and_resends_do_not_double(
    aw_url: str, store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    day = write_day(store, spans=30)
    target = ActivityWatchTarget(aw_url, names=NameLookup(store), hostname="pc1")
    uploader = make_uploader(store, target, clock, tmp_path)
    uploader.run()

    edited = day.entry_ids[0]
    with store.write() as session:
        session.execute(update(Entry).where(Entry.id == edited).values(note="fixed"))
        enqueue(session, "entry", edited, clock.now())
        # Spans queued again, as after a crash before the outbox was cleared;
        # their attempts say they may have reached the server.
        for span_id in day.span_ids:
            enqueue(session, "span", span_id, clock.now())
    uploader.outbox.begin(
        [p.item_id for p in uploader.outbox.next_batch(clock.now(), 1000, 10**7)]
    )
    report = uploader.run()

    assert report.error is None
    entries = _events(aw_url, target.bucket_id("entry"))
    assert len(entries) == day.counts["entry"]
    notes = [e["data"].get("note") for e in entries]  # type: ignore[union-attr]
    assert notes.count("fixed") == 1
    assert len(_events(aw_url, target.bucket_id("span"))) == day.counts["span"]


def _intervals(events: list[dict[str, object]], status: str) -> list[tuple[int, int]]:
    """The (start, end) ms of the events with ``status``, in order."""
    found = []
    for event in events:
        data = event["data"]
        assert isinstance(data, dict)
        if data["status"] == status:
            start = datetime.fromisoformat(str(event["timestamp"])).timestamp()
            end = start + float(event["duration"])  # type: ignore[arg-type]
            found.append((round(start * 1000), round(end * 1000)))
    return sorted(found)


def _seconds(intervals: list[tuple[int, int]]) -> float:
    return sum(end - start for start, end in intervals) / 1000


def _watched_and_idle(store: Store) -> tuple[list[tuple[int, int]], float]:
    """The timer entries' time as (start, end) ms, and the idle seconds."""
    with store.read() as session:
        entries = session.scalars(
            select(Entry).where(Entry.source == EntrySource.TIMER)
        ).all()
        idle = session.scalars(select(IdlePeriod)).all()
        watched = [(_ms(e.start), _ms(e.end)) for e in entries if e.end]
        idle_s = sum((i.end - i.start).total_seconds() for i in idle if i.end)
    return sorted(watched), idle_s


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _active_seconds(url: str, target: ActivityWatchTarget) -> float:
    """Active time as ActivityWatch's web UI works it out: window events
    within the afk bucket's not-afk events."""
    query = [
        f'afk = flood(query_bucket("{target.bucket_id("idle_period")}"));',
        'not_afk = filter_keyvals(afk, "status", ["not-afk"]);',
        f'events = query_bucket("{target.bucket_id("span")}");',
        "events = filter_period_intersect(events, not_afk);",
        "RETURN = sum_durations(events);",
    ]
    period = f"{DAY.isoformat()}/{(DAY + timedelta(days=1)).isoformat()}"
    answer = httpx.post(
        f"{url}/api/0/query/", json={"timeperiods": [period], "query": query}
    )
    answer.raise_for_status()
    [seconds] = answer.json()
    return float(seconds)


def test_the_afk_bucket_tiles_the_watched_time_as_afk_and_not_afk(
    aw_url: str, store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    write_day(store, spans=300)
    watched, idle_s = _watched_and_idle(store)
    target = ActivityWatchTarget(aw_url, names=NameLookup(store), hostname="pc1")
    uploader = make_uploader(store, target, clock, tmp_path, batch_count=7)

    assert uploader.run().error is None

    bucket = _events(aw_url, target.bucket_id("idle_period"))
    afk, active = _intervals(bucket, "afk"), _intervals(bucket, "not-afk")
    assert _seconds(afk) == pytest.approx(idle_s) == 21 * 60
    assert _seconds(active) == pytest.approx(_seconds(watched) - idle_s)
    # afk and not-afk neither overlap nor leave gaps within the timer
    # entries; the manual entry (18:00-18:30) has no not-afk time.
    tiles = sorted(afk + active)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(tiles))
    assert _merged(tiles) == _merged(watched)
    assert _active_seconds(aw_url, target) == pytest.approx(_seconds(active))

    # Sent again (as after an ambiguous failure): nothing doubles.
    _requeue_all(store, clock)
    assert uploader.run().error is None
    again = _events(aw_url, target.bucket_id("idle_period"))
    assert sorted(_intervals(again, "not-afk")) == active
    assert len(again) == len(bucket)


def test_an_idle_period_after_its_entry_splits_the_entrys_active_time(
    aw_url: str, store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    day = write_day(store, spans=30)
    target = ActivityWatchTarget(aw_url, names=NameLookup(store), hostname="pc1")
    uploader = make_uploader(store, target, clock, tmp_path)
    assert uploader.run().error is None
    before = _intervals(_events(aw_url, target.bucket_id("idle_period")), "not-afk")

    lock = _add_late_lock(store, clock, day.entry_ids[0])
    assert uploader.run().error is None

    bucket = _events(aw_url, target.bucket_id("idle_period"))
    active = _intervals(bucket, "not-afk")
    assert _seconds(active) == pytest.approx(_seconds(before) - 30 * 60)
    assert lock in _intervals(bucket, "afk")
    tiles = sorted(_intervals(bucket, "afk") + active)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(tiles))

    # The entry sent again later works out the same pieces: no change.
    with store.write() as session:
        enqueue(session, "entry", day.entry_ids[0], clock.now())
    assert uploader.run().error is None
    after = _intervals(_events(aw_url, target.bucket_id("idle_period")), "not-afk")
    assert after == active

    # A deleted entry takes its active time with it.
    with store.write() as session:
        session.execute(
            update(Entry)
            .where(Entry.id == day.entry_ids[0])
            .values(deleted_at=clock.now())
        )
        enqueue(session, "entry", day.entry_ids[0], clock.now())
    assert uploader.run().error is None
    gone = _intervals(_events(aw_url, target.bucket_id("idle_period")), "not-afk")
    assert _seconds(gone) == pytest.approx(_seconds(active) - (3 * 3600 - 37 * 60))


def _add_late_lock(store: Store, clock: ManualClock, entry_id: int) -> tuple[int, int]:
    """A lock noticed late, 11:00-11:30 within the first entry (09:00-12:00)."""
    start = DAY + timedelta(hours=11)
    end = start + timedelta(minutes=30)
    with store.write() as session:
        late = IdlePeriod(
            entry_id=entry_id,
            start=start,
            end=end,
            cause="lock",
            resolution="kept",
            resolved_at=end,
        )
        session.add(late)
        session.flush()
        enqueue(session, "idle_period", late.id, clock.now())
    return _ms(start), _ms(end)


# The requests of the upload that brings the late lock: read the afk bucket
# back, insert the afk event, insert the entry's new not-afk pieces, delete
# the one they replace.
LATE_LOCK_REQUESTS = 4


@pytest.mark.parametrize("at", range(1, LATE_LOCK_REQUESTS + 1))
def test_a_split_cut_short_by_a_reset_is_finished_on_the_retry(
    at: int, aw_url: str, store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    day = write_day(store, spans=30)
    with FaultProxy(aw_url) as proxy:
        target = ActivityWatchTarget(proxy.url, names=NameLookup(store), hostname="pc1")
        uploader = make_uploader(store, target, clock, tmp_path)
        assert uploader.run().error is None
        bucket_id = target.bucket_id("idle_period")
        before = _intervals(_events(aw_url, bucket_id), "not-afk")
        lock = _add_late_lock(store, clock, day.entry_ids[0])

        proxy.inject(*["pass"] * (at - 1), "reset_after_commit")
        sent = len(proxy.log)
        assert uploader.run().error is not None
        assert len(proxy.log) - sent == at
        assert uploader.run(force=True).error is None
        assert not proxy.script

    bucket = _events(aw_url, bucket_id)
    active = _intervals(bucket, "not-afk")
    assert lock in _intervals(bucket, "afk")
    assert _seconds(active) == pytest.approx(_seconds(before) - 30 * 60)
    tiles = sorted(_intervals(bucket, "afk") + active)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(tiles))


def _merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _requeue_all(store: Store, clock: ManualClock) -> None:
    with store.write() as session:
        for kind, model in (("entry", Entry), ("idle_period", IdlePeriod)):
            for record_id in session.scalars(select(model.id)):
                enqueue(session, kind, record_id, clock.now())


def test_a_spans_page_reaches_activitywatch_with_its_domain(
    aw_url: str, store: Store, tmp_path: Path
) -> None:
    """A domain-only span (the host from a browser's window title) carries
    its domain, and no made-up URL; a span with a URL carries both."""
    clock = ManualClock(DAY + timedelta(hours=9))
    Projects(store, clock).add("Acme")
    timer = Timer(store, clock)
    recorder = SpanRecorder(store, clock)
    entry = timer.start("Acme")
    recorder.on_entry(entry, entry.start)
    pages: list[dict[str, str]] = [
        {"url": "https://gitlab.com/acme/x", "domain": "gitlab.com"},
        {"domain": "github.com"},
        {},
        {"domain": "github.com"},
    ]
    for page in pages:
        sample = FocusSample(clock.now(), clock.monotonic(), "firefox", "P", **page)  # type: ignore[arg-type]
        recorder.on_sample(sample)
        clock.advance(60)
    recorder.on_entry(None, clock.now())
    timer.stop()
    recorder.flush()

    target = ActivityWatchTarget(aw_url, names=NameLookup(store), hostname="pc1")
    report = make_uploader(store, target, clock, tmp_path).run()

    assert report.error is None
    windows = sorted(
        _events(aw_url, target.bucket_id("span")),
        key=lambda event: str(event["timestamp"]),
    )
    shown = [
        {k: v for k, v in event["data"].items() if k in ("url", "domain")}  # type: ignore[attr-defined]
        for event in windows
    ]
    assert shown == pages
    query = [
        f'events = query_bucket("{target.bucket_id("span")}");',
        'events = merge_events_by_keys(events, ["domain"]);',
        "RETURN = events;",
    ]
    period = f"{DAY.isoformat()}/{(DAY + timedelta(days=1)).isoformat()}"
    answer = httpx.post(
        f"{aw_url}/api/0/query/", json={"timeperiods": [period], "query": query}
    )
    answer.raise_for_status()
    [merged] = answer.json()
    per_domain = {e["data"].get("domain"): e["duration"] for e in merged}
    assert per_domain == {"github.com": 120, "gitlab.com": 60, None: 60}
