"""The protocol's rules, the backoff arithmetic and the documents' coverage."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync import protocol
from sync.backoff import MAX_RETRY_AFTER_S, BackoffPolicy, parse_retry_after
from sync.uploader import next_sync_after

ROOT = Path(__file__).parents[2]
GOOD_SPAN = {
    "kind": "span",
    "id": "229094584835332013",
    "data": {
        "entry_id": "1",
        "start_ms": 1_714_986_000_000,
        "end_ms": 1_714_986_005_000,
        "app": "code",
        "title": "x",
        "url": None,
        "domain": None,
        "flags": 0,
    },
}


def _with(**data: object) -> dict[str, object]:
    return {**GOOD_SPAN, "data": {**GOOD_SPAN["data"], **data}}  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (GOOD_SPAN, None),
        ({**GOOD_SPAN, "kind": "keystrokes"}, "unknown kind"),
        ({**GOOD_SPAN, "id": "12a"}, "id must be"),
        ({**GOOD_SPAN, "id": str(1 << 63)}, "id must be"),
        (_with(end_ms=1_714_985_000_000), "end_ms is before start_ms"),
        (_with(start_ms=True), "start_ms is not a valid moment"),
        (_with(start_ms=5), "start_ms is not a valid moment"),
        (_with(flags=None), "flags is required"),
        (_with(title="t" * 10_001), "title is not a valid text"),
        (_with(extra=1), "unknown field"),
        ("not an object", "must be a JSON object"),
    ],
)
def test_records_are_checked_with_a_reason(record: object, reason: str | None) -> None:
    found = protocol.check_record(record)
    if reason is None:
        assert found is None
    else:
        assert found is not None
        assert reason in found


def test_results_must_match_the_records_in_order() -> None:
    batch: protocol.Batch = {"records": [GOOD_SPAN]}  # type: ignore[list-item]
    ok = {"results": [{"kind": "span", "id": GOOD_SPAN["id"], "status": "stored"}]}
    assert protocol.check_results(batch, ok)[0]["status"] == "stored"
    with pytest.raises(ValueError, match="results for"):
        protocol.check_results(batch, {"results": []})
    with pytest.raises(ValueError, match="order"):
        protocol.check_results(
            batch, {"results": [{"kind": "span", "id": "9", "status": "stored"}]}
        )
    with pytest.raises(ValueError, match="unknown status"):
        protocol.check_results(
            batch,
            {"results": [{"kind": "span", "id": GOOD_SPAN["id"], "status": "ok"}]},
        )


def test_backoff_doubles_up_to_the_cap_and_is_never_immediate() -> None:
    policy = BackoffPolicy(base_s=2, cap_s=300)
    low = [policy.delay(n, lambda: 0.0) for n in range(1, 11)]
    high = [policy.delay(n, lambda: 1.0) for n in range(1, 11)]
    assert low[:4] == [1, 2, 4, 8]
    assert high[:4] == [2, 4, 8, 16]
    assert max(high) == 300
    assert min(low) > 0


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Mon, 06 May 2024 12:01:00 GMT", now) == 60
    assert parse_retry_after("Mon, 06 May 2024 11:00:00 GMT", now) == 0
    assert parse_retry_after("999999", now) == MAX_RETRY_AFTER_S
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_uploads_follow_the_slot_end_with_the_agent_offset() -> None:
    now = datetime(2024, 5, 6, 12, 3, 10, tzinfo=UTC)
    assert next_sync_after(now, 10, 42.0) == datetime(
        2024, 5, 6, 12, 10, 42, tzinfo=UTC
    )


def test_the_openapi_file_and_the_document_cover_every_route(tmp_path: Path) -> None:
    from sync.server.app import ServerConfig, create_app

    app = create_app(ServerConfig("sqlite://", tmp_path, "k", "t"))
    spec = (ROOT / "sync" / "openapi.yaml").read_text()
    documented = set(re.findall(r"^  (/v1/\S+):$", spec, re.MULTILINE))
    routes = {
        route.path  # type: ignore[attr-defined]
        for route in app.routes
        if getattr(route, "path", "").startswith("/v1/")
    }
    assert routes == documented
    prose = (ROOT / "docs" / "sync-protocol.md").read_text()
    for path in routes - {"/v1/health"}:
        assert path.split("{")[0].rstrip("/") in prose, path
