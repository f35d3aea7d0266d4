"""The timeline on the reference server: the synthetic day synced into a real
server on loopback, read back as the page's JSON and as the page itself in
headless Chromium, with the same totals the local model computes."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from agent.clock import ManualClock
from agent.paths import Paths
from agent.store import Store
from agent.store.models import from_millis, to_millis
from agent.timeline import (
    DayTimeline,
    LaneKind,
    build_timeline,
    day_bounds_ms,
    duration_text,
    read_records,
)
from sync.outbox import Outbox
from sync.targets.punchclock import PunchclockTarget
from sync.uploader import Uploader, UploaderConfig
from tests.sync import servers
from tests.sync.conftest import sign_in
from tests.timeline import browser
from tests.timeline.conftest import BERLIN, DST_DAY

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
GROUPS = ("projects", "tasks", "apps", "domains")
# Every table the day has rows in, as the outbox's record kinds.
KINDS = (
    ("project", "projects", "1 = 1"),
    ("task", "tasks", "1 = 1"),
    ("entry", "entries", "1 = 1"),
    ("break", "breaks", "1 = 1"),
    ("idle_period", "idle_periods", "1 = 1"),
    ("slot", "slots", "1 = 1"),
    ("span", "spans", "1 = 1"),
    ("screenshot", "screenshots", "path != ''"),
)


def _queue_everything(store: Store) -> None:
    """The synthetic rows were written straight into the store: queue them as
    the agent would have."""
    with store.write() as session:
        for kind, table, where in KINDS:
            session.execute(
                text(
                    "INSERT INTO outbox (kind, record_id, created_at, attempts) "
                    f"SELECT :kind, id, :now, 0 FROM {table} WHERE {where} "
                    "ON CONFLICT (kind, record_id) DO NOTHING"
                ),
                {"kind": kind, "now": to_millis(NOW)},
            )


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The server's database on SQLite, and on the PostgreSQL CI starts."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}"
        return
    base = servers.pg_base_url()
    reason = servers.postgres_available(base)
    if reason is not None:
        pytest.skip(f"{reason} (CI starts one; set {servers.PG_URL_ENV})")
    with servers.postgres_database(base) as url:
        yield url


@pytest.fixture
def synced(
    store: Store,
    paths: Paths,
    dst_day: dict[str, int],
    tmp_path: Path,
    database_url: str,
) -> Iterator[tuple[servers.RunningServer, str]]:
    """The DST day on a reference server on loopback; its agent id."""
    files = tmp_path / "server-files"
    with servers.reference_server(database_url, files) as server:
        _queue_everything(store)
        target = PunchclockTarget(server.url, sign_in(server.url, store))
        uploader = Uploader(
            Outbox(store),
            target,
            ManualClock(),
            UploaderConfig(screenshots_dir=paths.screenshots_dir),
            rand=lambda: 0.5,
        )
        report = uploader.run()
        assert report.error is None
        assert report.rejected == 0
        assert report.screenshots == 1
        with server.lead() as lead:
            [agent] = lead.get("/v1/lead/agents").json()["agents"]
        yield server, str(agent["agent_id"])


def _local(store: Store) -> DayTimeline:
    start, end = day_bounds_ms(DST_DAY, BERLIN)
    records = read_records(store, from_millis(start), from_millis(end), NOW)
    return build_timeline(records, DST_DAY, BERLIN)


def _expected_rows(timeline: DayTimeline, group: str) -> list[tuple[str, str, str]]:
    return [
        (row.key, duration_text(row.seconds), f"{row.share:.1%}")
        for row in timeline.totals.by(group)
    ]


def test_the_timeline_json_has_the_local_models_lanes_and_totals(
    store: Store, synced: tuple[servers.RunningServer, str]
) -> None:
    server, agent_id = synced
    local = _local(store)

    with server.lead() as lead:
        answer = lead.get(
            f"/v1/lead/agents/{agent_id}/timeline",
            params={"day": DST_DAY.isoformat(), "tz": BERLIN.key},
        )
    answer.raise_for_status()
    day = answer.json()

    assert day["hours"] == 23
    assert (day["start_ms"], day["end_ms"]) == (local.start_ms, local.end_ms)
    assert day["totals"]["tracked_seconds"] == local.totals.tracked_seconds == 22 * 3600
    assert day["totals"]["idle_seconds"] == local.totals.idle_seconds
    assert day["totals"]["break_seconds"] == local.totals.break_seconds
    for group in GROUPS:
        rows = [(r["key"], r["time"], r["share_text"]) for r in day["totals"][group]]
        assert rows == _expected_rows(local, group)
        seconds = {r["key"]: r["seconds"] for r in day["totals"][group]}
        assert seconds == {row.key: row.seconds for row in local.totals.by(group)}

    lanes = {lane["kind"]: lane["bars"] for lane in day["lanes"]}
    for kind in (LaneKind.ENTRIES, LaneKind.APPS, LaneKind.DOMAINS, LaneKind.IDLE):
        assert [(b[0], b[1], b[3]) for b in lanes[kind]] == [
            (b.start_ms, b.end_ms, b.key) for b in local.lane(kind).bars
        ]
    assert [b[5] for b in lanes[LaneKind.ACTIVITY]] == [50.0, 90.0, None]
    # The hour after 01:00 is 03:00: clocks went forward.
    assert [label for _, label in day["hour_marks"][:3]] == ["00:00", "01:00", "03:00"]
    # Only the screenshot with an image went up; deleted and skipped did not.
    [shot] = day["screenshots"]
    assert shot["state"] == "image"
    assert shot["moment_ms"] == local.screenshots[0].moment_ms

    # The viewer's zone choice moves the day, as in the window.
    with server.lead() as lead:
        utc = lead.get(
            f"/v1/lead/agents/{agent_id}/timeline",
            params={"day": DST_DAY.isoformat(), "tz": "UTC"},
        ).json()
    assert utc["hours"] == 24
    assert utc["previous_day"] == "2024-03-30"
    assert utc["next_day"] == "2024-04-01"
    assert {r["key"]: r["time"] for r in utc["totals"]["projects"]} == {
        "Globex": "18:00",
        "Acme": "4:00",
    }


def test_the_timeline_endpoints_need_the_lead_token_and_a_known_agent(
    synced: tuple[servers.RunningServer, str],
) -> None:
    server, agent_id = synced
    path = f"/v1/lead/agents/{agent_id}/timeline"
    params = {"day": DST_DAY.isoformat()}

    assert httpx.get(server.url + path, params=params).status_code == 401
    wrong = {"Authorization": "Bearer not-the-lead"}
    assert httpx.get(server.url + path, params=params, headers=wrong).status_code == 403
    with server.lead() as lead:
        unknown = lead.get("/v1/lead/agents/nobody/timeline", params=params)
        bad_zone = lead.get(path, params={**params, "tz": "Mars/Olympus"})
        [shot] = lead.get(path, params=params).json()["screenshots"]
        thumb = lead.get(
            f"/v1/lead/agents/{agent_id}/screenshots/{shot['id']}/thumbnail"
        )
    assert unknown.status_code == 404
    assert "pick one" in unknown.json()["detail"]
    assert bad_zone.status_code == 400
    assert "Europe/Berlin" in bad_zone.json()["detail"]
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    assert thumb.content.startswith(b"\xff\xd8")

    page = httpx.get(server.url + "/timeline")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    script = httpx.get(server.url + "/timeline/static/timeline.js")
    assert script.status_code == 200
    assert "/v1/lead/agents" in script.text


@pytest.mark.slow
@pytest.mark.skipif(
    browser.chromium() is None, reason="chromium is not installed (CI installs it)"
)
def test_the_page_in_chromium_shows_the_same_totals(
    store: Store, synced: tuple[servers.RunningServer, str], artifacts_dir: Path
) -> None:
    server, agent_id = synced
    local = _local(store)
    url = (
        f"{server.url}/timeline?agent={agent_id}&day={DST_DAY.isoformat()}"
        f"&tz={BERLIN.key}#token={servers.LEAD_TOKEN}"
    )

    page = browser.TotalsPage()
    page.feed(browser.dump_dom(url))

    assert page.attributes["body"].get("data-day") == DST_DAY.isoformat()
    assert page.attributes["body"].get("data-thumbnails") == "loaded"
    for group in GROUPS:
        assert [tuple(row) for row in page.tables[group]] == _expected_rows(
            local, group
        ), group
    assert page.summary.startswith("Tracked 22:00 · breaks 0:45 · idle 14:30")
    assert "svg" in page.attributes

    target = artifacts_dir / "timeline-server-page.png"
    target.unlink(missing_ok=True)
    browser.screenshot(url, target)
    assert target.stat().st_size > 20_000
    png = target.read_bytes()
    assert png.startswith(b"\x89PNG")
    # Not a blank page: the PNG carries real content of that size.
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1400, 1100)
    assert re.search(rb"IDAT", png)


def test_a_busy_days_json_is_gzipped_when_the_browser_takes_it() -> None:
    from starlette.requests import Request

    from sync.server.web import _json_response

    payload = json.dumps({"titles": ["firefox window 12"] * 5000}).encode()
    gzipped = _json_response(
        payload, Request({"type": "http", "headers": [(b"accept-encoding", b"gzip")]})
    )
    plain = _json_response(payload, Request({"type": "http", "headers": []}))

    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(gzipped.body) == payload
    assert len(gzipped.body) < len(payload) / 10
    assert "content-encoding" not in plain.headers
    assert plain.body == payload
