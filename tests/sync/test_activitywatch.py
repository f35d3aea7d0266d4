"""A realistic day uploaded into a real aw-server 0.12.0 and read back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from agent.clock import ManualClock
from agent.store import Store
from agent.store.models import Entry
from agent.store.outbox import enqueue
from sync.service import NameLookup
from sync.targets.activitywatch import ActivityWatchTarget
from tests.sync import servers
from tests.sync.conftest import make_uploader
from tests.sync.day import write_day


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
    assert len(_events(aw_url, target.bucket_id("idle_period"))) == 3

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
