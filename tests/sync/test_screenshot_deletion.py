"""A screenshot the worker deletes reaches the real reference server as its
audit (when, by whom, the slot time removed) and never as an image: deleted
before upload, deleted after an early upload (a sign-in in the grace), sent twice, on
SQLite and PostgreSQL. The worker's side is the running agent of
tests/screenshots/test_delete_time.py (fake clock, real store and files)."""

from __future__ import annotations

import dataclasses
import random
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from agent.capturing import CaptureSet
from agent.clock import ManualClock
from agent.paths import Paths
from agent.projects import Projects
from agent.screenshots import ShotSchedule
from agent.service import Agent, AgentConfig
from agent.settings import default_settings
from agent.store import Store
from agent.store.models import OutboxItem, Screenshot
from sync import protocol
from sync.outbox import Outbox
from sync.records import load_records
from sync.service import NameLookup
from sync.targets.activitywatch import ActivityWatchTarget
from sync.targets.punchclock import PunchclockTarget
from sync.uploader import Uploader, UploaderConfig
from tests.screenshots.test_delete_time import (
    NINE,
    Day,
    PresentIdle,
    ScriptedFocus,
)
from tests.sync import servers
from tests.sync.conftest import sign_in
from tests.timeline import browser


@dataclasses.dataclass
class Synced:
    day: Day
    server: servers.RunningServer
    uploader: Uploader
    target: PunchclockTarget

    @property
    def agent_id(self) -> str:
        with self.server.lead() as lead:
            [agent] = lead.get("/v1/lead/agents").json()["agents"]
        return str(agent["agent_id"])

    def server_shots(self) -> list[dict[str, object]]:
        with self.server.lead() as lead:
            answer = lead.get(
                f"/v1/lead/agents/{self.agent_id}/screenshots",
                params={"day": NINE.date().isoformat()},
            )
        answer.raise_for_status()
        shots: list[dict[str, object]] = answer.json()["screenshots"]
        return shots

    def server_records(self, kind: str) -> list[dict[str, object]]:
        with self.server.lead() as lead:
            answer = lead.get(
                f"/v1/lead/agents/{self.agent_id}/records",
                params={"kind": kind, "day": NINE.date().isoformat()},
            )
        answer.raise_for_status()
        records: list[dict[str, object]] = answer.json()["records"]
        return records

    def image(self, shot_id: int) -> httpx.Response:
        with self.server.lead() as lead:
            return lead.get(f"/v1/lead/agents/{self.agent_id}/screenshots/{shot_id}")

    def thumbnail(self, shot_id: int) -> httpx.Response:
        path = f"/v1/lead/agents/{self.agent_id}/screenshots/{shot_id}/thumbnail"
        with self.server.lead() as lead:
            return lead.get(path)

    def timeline_shots(self) -> list[dict[str, object]]:
        with self.server.lead() as lead:
            answer = lead.get(
                f"/v1/lead/agents/{self.agent_id}/timeline",
                params={"day": NINE.date().isoformat(), "tz": "Europe/Berlin"},
            )
        answer.raise_for_status()
        shots: list[dict[str, object]] = answer.json()["screenshots"]
        return shots

    def image_files(self) -> list[Path]:
        return sorted(self.server.files_dir.rglob("*.img"))


@pytest.fixture
def synced(
    paths: Paths, store: Store, reference: servers.RunningServer
) -> Iterator[Synced]:
    clock = ManualClock(NINE)
    Projects(store, clock).add("Acme", [])
    settings = default_settings()
    config = AgentConfig(
        screenshots=dataclasses.replace(settings.screenshots, per_slot=1)
    )
    agent = Agent(paths, store, clock, config)
    focus = ScriptedFocus(clock)
    day = Day(agent, store, clock, focus)
    agent.enable_capture(CaptureSet(focus, None, None, PresentIdle(), day.screen))
    assert agent.screenshots is not None
    agent.screenshots.schedule = ShotSchedule(10, 0, random.Random(1))
    target = PunchclockTarget(reference.url, sign_in(reference.url, store))
    config_ = UploaderConfig(screenshots_dir=paths.screenshots_dir)
    uploader = Uploader(Outbox(store), target, clock, config_, rand=lambda: 0.5)
    yield Synced(day, reference, uploader, target)
    agent.disable_capture()
    target.close()


def _work_and_shoot(day: Day) -> int:
    """09:00 start, a shot at 09:02 (every monitor: one here)."""
    day.agent.timer.start("Acme", tracked=True)
    day.agent.tick()
    day.focus.focus("Editor")
    day.work(120)
    shot = day.shoot()
    day.work(60)
    return shot


def _upload_early(synced: Synced) -> int:
    """The image goes up inside the grace period, as it does when the
    computer signs in then (the sign-in queues it without the grace's hold);
    "sync now" alone keeps the hold (tests/sync/test_sync_now_grace.py)."""
    with synced.day.store.write() as session:
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.kind == "screenshot")
            .values(next_attempt_at=None)
        )
    report = synced.uploader.run(force=True)
    assert report.error is None, report.error
    return report.screenshots


def _assert_audit_only(synced: Synced, shot: int, removed: float) -> None:
    [row] = synced.server_shots()
    assert row["id"] == str(shot)
    deleted_ms = NINE + timedelta(minutes=3)
    assert row["deleted_ms"] == int(deleted_ms.timestamp() * 1000)
    assert row["deleted_by"] == "worker"
    assert row["removed_seconds"] == pytest.approx(removed)
    [record] = synced.server_records(protocol.SCREENSHOT_DELETION)
    assert record["id"] == str(shot)
    # No image anywhere: not served, no thumbnail, no file on the server.
    assert synced.image(shot).status_code == 404
    assert "deleted" in synced.image(shot).json()["detail"]
    assert synced.thumbnail(shot).status_code == 404
    assert synced.image_files() == []
    # 09:03 UTC is 10:03 in Berlin in January.
    [mark] = synced.timeline_shots()
    assert (mark["id"], mark["state"]) == (str(shot), "deleted")
    assert mark["detail"] == "deleted by the worker at 10:03"


def test_deleted_before_upload_only_the_audit_goes_up(synced: Synced) -> None:
    day = synced.day
    shot = _work_and_shoot(day)
    deletion = day.agent.delete_screenshot(shot)  # 09:03, inside the grace
    assert deletion.removed_seconds == pytest.approx(180)

    day.clock.advance(3600)  # the image's item is due: it is dropped
    report = synced.uploader.run()

    assert report.error is None, report.error
    assert report.screenshots == 0
    assert report.rejected == 0
    assert synced.uploader.outbox.counts(day.clock.now()).waiting == 0
    _assert_audit_only(synced, shot, 180)


def test_deleted_after_an_early_upload_the_server_removes_the_image(
    synced: Synced,
) -> None:
    day = synced.day
    shot = _work_and_shoot(day)
    assert _upload_early(synced) == 1
    [file] = synced.image_files()
    assert synced.image(shot).content == file.read_bytes()
    assert synced.thumbnail(shot).status_code == 200
    assert "deleted_ms" not in synced.server_shots()[0]

    deletion = day.agent.delete_screenshot(shot)  # 09:03, still inside the grace
    assert deletion.removed_seconds == pytest.approx(180)
    report = synced.uploader.run(force=True)

    assert report.error is None, report.error
    assert report.rejected == 0
    with day.store.read() as session:
        kinds = set(session.scalars(select(OutboxItem.kind)))
    assert kinds == set()
    # The row stays as the audit, with what the upload said of the image.
    _assert_audit_only(synced, shot, 180)
    assert synced.server_shots()[0]["sha256"]
    assert not list(synced.server.files_dir.rglob("*.thumb.jpg"))


def test_the_audit_sent_twice_is_stored_once_and_a_late_image_is_discarded(
    synced: Synced,
) -> None:
    day = synced.day
    shot = _work_and_shoot(day)
    with day.store.read() as session:
        row = session.get(Screenshot, shot)
        assert row is not None
        content = (day.agent.paths.screenshots_dir / row.path).read_bytes()
        meta = {
            "entry_id": str(row.entry_id),
            "taken_ms": int(row.taken_at.timestamp() * 1000),
            "slot_start_ms": int(row.slot_start.timestamp() * 1000),
            "monitor": row.monitor,
            "width": row.width,
            "height": row.height,
            "size_bytes": row.size_bytes,
            "sha256": row.sha256,
            "blurred": row.blurred,
        }
    day.agent.delete_screenshot(shot)
    with day.store.read() as session:
        data = load_records(session, protocol.SCREENSHOT_DELETION, [shot])[shot]
    record: protocol.WireRecord = {
        "kind": protocol.SCREENSHOT_DELETION,
        "id": str(shot),
        "data": data,
    }

    first = synced.target.send_batch([record])
    again = synced.target.send_batch([record], maybe_sent=True)
    # An upload of the image that was under way when the worker deleted it.
    late = synced.target.send_screenshot(shot, meta, content)

    assert [r["status"] for r in first + again] == ["stored", "duplicate"]
    assert late == protocol.DUPLICATE
    assert len(synced.server_shots()) == 1
    assert len(synced.server_records(protocol.SCREENSHOT_DELETION)) == 1
    _assert_audit_only(synced, shot, 180)


def test_the_server_refuses_a_deletion_it_cannot_audit(synced: Synced) -> None:
    good = {
        "entry_id": None,
        "taken_ms": 1_767_603_600_000,
        "slot_start_ms": 1_767_603_600_000,
        "monitor": 0,
        "deleted_ms": 1_767_603_700_000,
        "deleted_by": "worker",
        "removed_seconds": 60.0,
    }
    bad = [
        {**good, "deleted_by": "lead"},
        {**good, "removed_seconds": -1.0},
        {**good, "sha256": "ab"},
        {k: v for k, v in good.items() if k != "deleted_ms"},
    ]
    records: list[protocol.WireRecord] = [
        {"kind": protocol.SCREENSHOT_DELETION, "id": str(n + 1), "data": data}
        for n, data in enumerate(bad)
    ]
    results = synced.target.send_batch(records)
    assert [r["status"] for r in results] == ["rejected"] * 4
    reasons = [r.get("reason", "") for r in results]
    assert "deleted_by must be one of" in reasons[0]
    assert "removed_seconds" in reasons[1]
    assert "sha256" in reasons[2]
    assert reasons[3] == "deleted_ms is required"
    assert synced.server_shots() == []


@pytest.fixture
def aw_url(tmp_path: Path) -> Iterator[str]:
    if servers.aw_python() is None:
        pytest.skip("aw-server 0.12.0 is not installed (.ci/run installs it)")
    with servers.aw_server(tmp_path / "aw") as url:
        yield url


def test_activitywatch_ignores_the_audit(
    aw_url: str, store: Store, clock: ManualClock
) -> None:
    target = ActivityWatchTarget(aw_url, names=NameLookup(store), hostname="pc1")
    record: protocol.WireRecord = {
        "kind": protocol.SCREENSHOT_DELETION,
        "id": "42",
        "data": {
            "entry_id": None,
            "taken_ms": 1_767_603_600_000,
            "slot_start_ms": 1_767_603_600_000,
            "monitor": 0,
            "deleted_ms": 1_767_603_700_000,
            "deleted_by": "worker",
            "removed_seconds": 60.0,
        },
    }
    [result] = target.send_batch([record])
    assert result["status"] == protocol.DUPLICATE
    buckets = httpx.get(f"{aw_url}/api/0/buckets/").json()
    assert not [name for name in buckets if name.startswith("punchclock")]


@pytest.mark.slow
@pytest.mark.skipif(
    browser.chromium() is None, reason="chromium is not installed (CI installs it)"
)
def test_the_timeline_page_shows_the_deletion_without_an_image(
    synced: Synced, artifacts_dir: Path
) -> None:
    if not synced.server.database_url.startswith("sqlite"):
        pytest.skip("the page draws the same JSON on either database (tested above)")
    day = synced.day
    shot = _work_and_shoot(day)
    assert _upload_early(synced) == 1
    day.agent.delete_screenshot(shot)
    day.work(60)
    assert synced.uploader.run(force=True).error is None
    url = (
        f"{synced.server.url}/timeline?agent={synced.agent_id}"
        f"&day={NINE.date().isoformat()}&tz=Europe/Berlin#token={servers.LEAD_TOKEN}"
    )

    dom = browser.dump_dom(url)

    mark = dom[dom.index(f'data-id="{shot}"') :]
    mark = mark[: mark.index("</g>")]
    assert "deleted by the worker at 10:03" in mark  # the mark's title
    assert re.findall(r"<tspan[^>]*>([^<]*)</tspan>", mark) == [
        "deleted by the",
        "worker at 10:03",
    ]
    assert "<image" not in mark
    target = artifacts_dir / "timeline-server-deleted-screenshot.png"
    target.unlink(missing_ok=True)
    browser.screenshot(url, target)
    assert target.read_bytes().startswith(b"\x89PNG")
