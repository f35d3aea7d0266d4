"""A realistic day synced into the reference server, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update

from agent.clock import ManualClock
from agent.store import Store
from agent.store.models import Entry
from agent.store.outbox import enqueue
from sync.targets.punchclock import PunchclockTarget
from tests.sync import servers
from tests.sync.conftest import make_uploader, sign_in
from tests.sync.day import DAY, write_day


def _server_counts(server: servers.RunningServer, agent_id: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    with server.lead() as lead:
        for kind in ("project", "task", "entry", "span", "idle_period"):
            answer = lead.get(
                f"/v1/lead/agents/{agent_id}/records",
                params={"kind": kind, "day": DAY.date().isoformat()},
            )
            answer.raise_for_status()
            counts[kind] = len(answer.json()["records"])
        shots = lead.get(
            f"/v1/lead/agents/{agent_id}/screenshots",
            params={"day": DAY.date().isoformat()},
        )
        counts["screenshot"] = len(shots.json()["screenshots"])
    return counts


def _agent_id(server: servers.RunningServer) -> str:
    with server.lead() as lead:
        agents = lead.get("/v1/lead/agents").json()["agents"]
    assert len(agents) == 1
    return str(agents[0]["agent_id"])


def test_a_day_goes_up_once_and_reads_back(
    reference: servers.RunningServer, store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    day = write_day(store, spans=400, screenshots=5, screenshots_dir=tmp_path / "shots")
    target = PunchclockTarget(reference.url, sign_in(reference.url, store))
    uploader = make_uploader(store, target, clock, tmp_path, batch_count=100)

    report = uploader.run()

    assert report.error is None
    assert report.stored == day.total - day.counts["screenshot"]
    assert report.screenshots == 5
    assert uploader.outbox.counts(clock.now()).waiting == 0
    assert _server_counts(reference, _agent_id(reference)) == Counter(day.counts)
    assert uploader.state.last_success is not None
    assert uploader.state.waiting == 0


def test_records_sent_again_are_duplicates_and_edits_replace(
    reference: servers.RunningServer, store: Store, clock: ManualClock, tmp_path: Path
) -> None:
    day = write_day(store, spans=30)
    target = PunchclockTarget(reference.url, sign_in(reference.url, store))
    uploader = make_uploader(store, target, clock, tmp_path)
    uploader.run()

    # The same records queued again (a lost acknowledgement) and one entry
    # edited after upload.
    edited = day.entry_ids[0]
    with store.write() as session:
        for span_id in day.span_ids:
            enqueue(session, "span", span_id, clock.now())
        session.execute(update(Entry).where(Entry.id == edited).values(note="fixed"))
        enqueue(session, "entry", edited, clock.now())
    report = uploader.run()

    assert report.duplicate == len(day.span_ids)
    assert report.stored == 1
    with reference.lead() as lead:
        entries = lead.get(
            f"/v1/lead/agents/{_agent_id(reference)}/records",
            params={"kind": "entry", "day": DAY.date().isoformat()},
        ).json()["records"]
    notes = {record["id"]: record["data"]["note"] for record in entries}
    assert notes[str(edited)] == "fixed"
    assert len(entries) == day.counts["entry"]


def test_a_rejected_record_is_quarantined_and_the_rest_goes_up(
    sqlite_reference: servers.RunningServer,
    store: Store,
    clock: ManualClock,
    tmp_path: Path,
) -> None:
    day = write_day(store, spans=50)
    bad = day.entry_ids[1]
    with store.write() as session:
        # An entry that ends before it starts: the server refuses it.
        entry = session.get(Entry, bad)
        assert entry is not None
        entry.end = entry.start.replace(hour=entry.start.hour - 1)
    url = sqlite_reference.url
    uploader = make_uploader(
        store, PunchclockTarget(url, sign_in(url, store)), clock, tmp_path
    )

    report = uploader.run()

    assert report.rejected == 1
    assert report.stored == day.total - 1
    quarantined = uploader.outbox.quarantined()
    assert [(q.kind, q.record_id) for q in quarantined] == [("entry", bad)]
    assert "end_ms is before start_ms" in quarantined[0].reason
    assert uploader.state.quarantined == 1

    # Retrying a quarantined record after the worker fixed it.
    with store.write() as session:
        entry = session.get(Entry, bad)
        assert entry is not None
        entry.end = entry.start.replace(hour=entry.start.hour + 1)
    assert uploader.outbox.release_quarantined() == 1
    assert uploader.run().stored == 1
    assert uploader.outbox.counts(clock.now()).quarantined == 0


def test_policy_and_projects_come_from_the_server(
    sqlite_reference: servers.RunningServer, store: Store
) -> None:
    url = sqlite_reference.url
    target = PunchclockTarget(url, sign_in(url, store))
    assert target.fetch_policy() is None
    assert target.fetch_projects() == []

    with sqlite_reference.lead() as lead:
        lead.put("/v1/lead/settings/policy", json={"screenshots_per_slot": 2})
        lead.put("/v1/lead/settings/projects", json=[{"name": "Acme", "tasks": []}])

    assert target.fetch_policy() == {"screenshots_per_slot": 2}
    assert target.fetch_projects() == [{"name": "Acme", "tasks": []}]


def test_the_server_refuses_unknown_tokens_and_the_wrong_enrollment_key(
    sqlite_reference: servers.RunningServer, store: Store
) -> None:
    url = sqlite_reference.url
    answer = httpx.post(url + "/v1/batches", json={"records": []})
    assert answer.status_code == 401
    answer = httpx.post(
        url + "/v1/batches",
        json={"records": []},
        headers={"Authorization": "Bearer nope"},
    )
    assert answer.status_code == 401
    answer = httpx.post(
        url + "/v1/agents",
        json={"enrollment_key": "wrong", "store_id": "x", "hostname": "h"},
    )
    assert answer.status_code == 403
    with httpx.Client(base_url=url) as client:
        agent_token = sign_in(url, store)
        lead = client.get(
            "/v1/lead/agents", headers={"Authorization": f"Bearer {agent_token}"}
        )
    assert lead.status_code == 403


@pytest.mark.parametrize("batch_bytes", [2_000, 50_000])
def test_batches_are_cut_by_bytes_in_creation_order(
    sqlite_reference: servers.RunningServer,
    store: Store,
    clock: ManualClock,
    tmp_path: Path,
    batch_bytes: int,
) -> None:
    day = write_day(store, spans=60)
    url = sqlite_reference.url
    uploader = make_uploader(
        store,
        PunchclockTarget(url, sign_in(url, store)),
        clock,
        tmp_path,
        batch_bytes=batch_bytes,
    )
    first = uploader.outbox.next_batch(clock.now(), 10_000, batch_bytes)
    assert [p.item_id for p in first] == sorted(p.item_id for p in first)
    assert sum(p.size + 1 for p in first) <= batch_bytes

    report = uploader.run()
    assert report.stored == day.total
    assert report.batches >= day.total * 150 // batch_bytes
