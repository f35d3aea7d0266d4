"""Records as events in an ActivityWatch server (aw-server REST API, v0).

Buckets, one per kind and host, with the standard types where one exists:

- ``punchclock-window_HOST`` (``currentwindow``): finished spans;
- ``punchclock-afk_HOST`` (``afkstatus``): idle periods, as ``afk`` events;
- ``punchclock-entries_HOST`` (``punchclock.entry``): finished entries.

aw-server's event insert is not idempotent, and its servers mishandle ids
sent by clients (an event with an id is an upsert on one server, an error or
a new event on another). So this adapter never sends ids and only ever does
batch inserts of finished events (never heartbeats, which merge). Each event
carries its record's key and a revision hash in its data; when a batch may
already have reached the server (an earlier attempt failed ambiguously, or
the kind is one whose records change), the time range is read back first and
events already there are not sent again; an older revision is deleted and
replaced. Nothing is lost and nothing doubled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import socket
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from sync import protocol
from sync.errors import ProtocolError
from sync.http import DEFAULT_TIMEOUT, HttpClient

log = logging.getLogger(__name__)

CLIENT = "punchclock"
KEY = "punchclock_key"
REV = "punchclock_rev"

# Names of projects and tasks, by kind and id; entries carry only ids.
NameLookup = Callable[[str, str], str | None]


@dataclass(frozen=True)
class _Bucket:
    prefix: str
    type: str
    # Records of mutable kinds are read back before every insert: an edited
    # entry must replace its earlier event, not sit beside it.
    mutable: bool
    # How far an edit may have moved a record; the read-back covers it.
    margin: timedelta


BUCKETS = {
    "span": _Bucket("punchclock-window", "currentwindow", False, timedelta(0)),
    "idle_period": _Bucket("punchclock-afk", "afkstatus", True, timedelta(days=2)),
    "entry": _Bucket("punchclock-entries", "punchclock.entry", True, timedelta(days=2)),
}


class ActivityWatchTarget:
    name = "activitywatch"
    supports_screenshots = False

    def __init__(
        self,
        base_url: str,
        *,
        names: NameLookup,
        hostname: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        allow_insecure_http: bool = False,
    ) -> None:
        self._http = HttpClient(
            base_url,
            transport=transport,
            timeout=timeout,
            allow_insecure_http=allow_insecure_http,
        )
        self._names = names
        self.hostname = hostname or socket.gethostname()
        self._ready: set[str] = set()

    def close(self) -> None:
        self._http.close()

    def bucket_id(self, kind: str) -> str:
        return f"{BUCKETS[kind].prefix}_{self.hostname}"

    def send_batch(
        self, records: list[protocol.WireRecord], *, maybe_sent: bool = False
    ) -> list[protocol.RecordResult]:
        results: dict[tuple[str, str], protocol.RecordResult] = {}
        by_kind: dict[str, list[protocol.WireRecord]] = defaultdict(list)
        for record in records:
            if record["kind"] in BUCKETS:
                by_kind[record["kind"]].append(record)
            else:
                results[protocol.key_of(record)] = _result(
                    record, protocol.DUPLICATE, "not kept by ActivityWatch"
                )

        for kind, group in by_kind.items():
            for record, status, reason in self._send_kind(kind, group, maybe_sent):
                results[protocol.key_of(record)] = _result(record, status, reason)
        return [results[protocol.key_of(record)] for record in records]

    def send_screenshot(
        self, record_id: int, meta: dict[str, object], content: bytes
    ) -> protocol.Status:
        raise ProtocolError("ActivityWatch keeps no screenshots")

    # -- one bucket --------------------------------------------------------------

    def _send_kind(
        self, kind: str, records: list[protocol.WireRecord], maybe_sent: bool
    ) -> list[tuple[protocol.WireRecord, protocol.Status, str]]:
        bucket = BUCKETS[kind]
        bucket_id = self.bucket_id(kind)
        self._ensure_bucket(bucket_id, bucket)

        outcomes: list[tuple[protocol.WireRecord, protocol.Status, str]] = []
        events: list[tuple[protocol.WireRecord, dict[str, Any]]] = []
        for record in records:
            event = self._event(record)
            if event is None:
                outcomes.append((record, protocol.DUPLICATE, "not finished yet"))
            else:
                events.append((record, event))

        there: dict[str, list[dict[str, Any]]] = {}
        if events and (maybe_sent or bucket.mutable):
            there = self._read_back(bucket_id, [e for _, e in events], bucket.margin)

        new: list[dict[str, Any]] = []
        for record, event in events:
            old = there.get(event["data"][KEY], [])
            status = self._reconcile(bucket_id, event, old)
            if status == protocol.STORED and not event.get("deleted"):
                new.append(event)
            outcomes.append((record, status, ""))

        if new:
            for event in new:
                event.pop("deleted", None)
            self._http.request("POST", f"/api/0/buckets/{bucket_id}/events", json=new)
        return outcomes

    def _reconcile(
        self, bucket_id: str, event: dict[str, Any], there: list[dict[str, Any]]
    ) -> protocol.Status:
        """Whether ``event`` still has to go up; stale copies are deleted."""
        rev = event["data"][REV]
        if any(old["data"].get(REV) == rev for old in there) and not event.get(
            "deleted"
        ):
            return protocol.DUPLICATE
        for old in there:
            path = f"/api/0/buckets/{bucket_id}/events/{old['id']}"
            self._http.request("DELETE", path)
        return protocol.STORED

    def _ensure_bucket(self, bucket_id: str, bucket: _Bucket) -> None:
        if bucket_id in self._ready:
            return
        body = {"client": CLIENT, "type": bucket.type, "hostname": self.hostname}
        # 200 when created, 304 when it existed: both fine.
        self._http.request("POST", f"/api/0/buckets/{bucket_id}", json=body)
        self._ready.add(bucket_id)

    def _read_back(
        self, bucket_id: str, events: list[dict[str, Any]], margin: timedelta
    ) -> dict[str, list[dict[str, Any]]]:
        starts = [datetime.fromisoformat(e["timestamp"]) for e in events]
        ends = [
            s + timedelta(seconds=e["duration"])
            for s, e in zip(starts, events, strict=True)
        ]
        params = {
            "start": (min(starts) - margin - timedelta(seconds=1)).isoformat(),
            "end": (max(ends) + margin + timedelta(seconds=1)).isoformat(),
            "limit": "-1",
        }
        response = self._http.request(
            "GET", f"/api/0/buckets/{bucket_id}/events", params=params
        )
        try:
            found = response.json()
        except ValueError as error:
            raise ProtocolError("the events read back are not JSON") from error
        if not isinstance(found, list):
            raise ProtocolError("the events read back are not a list")

        there: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for old in found:
            data = old.get("data") if isinstance(old, dict) else None
            if isinstance(data, dict) and isinstance(data.get(KEY), str):
                there[data[KEY]].append(old)
        log.debug("read back %d event(s) from %s", len(found), bucket_id)
        return there

    # -- records as events ---------------------------------------------------------

    def _event(self, record: protocol.WireRecord) -> dict[str, Any] | None:
        data = record["data"]
        start, end = data.get("start_ms"), data.get("end_ms")
        if not isinstance(start, int) or not isinstance(end, int):
            return None

        kind = record["kind"]
        payload = {
            "span": _window_data,
            "idle_period": _afk_data,
            "entry": self._entry_data,
        }[kind](data)
        payload[KEY] = f"{kind}:{record['id']}"
        payload[REV] = _revision(data)
        event: dict[str, Any] = {
            "timestamp": _iso(start),
            "duration": (end - start) / 1000,
            "data": payload,
        }
        if data.get("deleted_ms") is not None:
            event["deleted"] = True
        return event

    def _entry_data(self, data: dict[str, Any]) -> dict[str, Any]:
        task_id = data.get("task_id")
        return {
            "project": self._names("project", data["project_id"]) or "",
            "task": self._names("task", task_id) if task_id else None,
            "note": data.get("note"),
            "source": data.get("source"),
        }


def _window_data(data: dict[str, Any]) -> dict[str, Any]:
    payload = {"app": data.get("app") or "", "title": data.get("title") or ""}
    if data.get("url"):
        payload["url"] = data["url"]
    return payload


def _afk_data(data: dict[str, Any]) -> dict[str, Any]:
    return {"status": "afk", "cause": data.get("cause")}


def _revision(data: dict[str, Any]) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _result(
    record: protocol.WireRecord, status: protocol.Status, reason: str
) -> protocol.RecordResult:
    result: protocol.RecordResult = {
        "kind": record["kind"],
        "id": record["id"],
        "status": status,
    }
    if reason:
        result["reason"] = reason
    return result
