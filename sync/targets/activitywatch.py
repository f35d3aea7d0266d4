"""Records as events in an ActivityWatch server (aw-server REST API, v0).

Buckets, one per kind and host, with the standard types where one exists:

- ``punchclock-window_HOST`` (``currentwindow``): finished spans;
- ``punchclock-afk_HOST`` (``afkstatus``): idle periods as ``afk`` events,
  and the rest of each observed entry as ``not-afk`` events;
- ``punchclock-entries_HOST`` (``punchclock.entry``): finished entries.

ActivityWatch counts active time from the ``not-afk`` events of the afk
bucket, so the bucket tiles the tracked time as aw-watcher-afk tiles the
time it watches: each timer entry's time goes up as ``not-afk`` except where
an idle period (``afk``) covers it. The idle monitor cuts entries at idle
periods, so mostly an entry is one ``not-afk`` event; kept idle time
(``idle-kept`` entries) stays ``afk``. Manual entries get none: nothing
watched the computer then, and ActivityWatch would show input that never
happened. The ``not-afk`` events of an entry are worked out from the
``afk`` events already in the bucket and replaced whenever the entry goes
up again; an idle period that arrives after its entry splits them.

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
AFK = "afk"
NOT_AFK = "not-afk"
# Keys of an entry's not-afk events in the afk bucket.
ACTIVE_PREFIX = "active:"
# Entries whose time nothing watched: no not-afk events.
UNWATCHED_SOURCES = frozenset({"manual"})

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
            key = protocol.key_of(record)
            if record["kind"] not in BUCKETS:
                results[key] = _result(
                    record, protocol.DUPLICATE, "not kept by ActivityWatch"
                )
            elif (problem := protocol.check_record(record)) is not None:
                # aw-server would store it as it is; refused here instead,
                # as the reference server refuses it.
                results[key] = _result(record, protocol.REJECTED, problem)
            else:
                by_kind[record["kind"]].append(record)

        # In BUCKETS' order: idle periods go up before the entries whose
        # not-afk events leave them out.
        for kind in BUCKETS:
            if not by_kind.get(kind):
                continue
            for record, status, reason in self._send_kind(
                kind, by_kind[kind], maybe_sent
            ):
                results[protocol.key_of(record)] = _result(record, status, reason)
        if by_kind.get("entry"):
            self._send_activity(by_kind["entry"])
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

        away = [_interval(e) for _, e in events if not e.get("deleted")]
        if new:
            for event in new:
                event.pop("deleted", None)
            self._insert(bucket_id, new)
        if kind == "idle_period" and away:
            # Every afk event of the batch, not only the new ones: a split
            # cut short by a failure is finished on the retry.
            self._split_active(bucket_id, away, there)
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
        self._delete(bucket_id, there)
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
        intervals = [_interval(event) for event in events]
        found = self._fetch(bucket_id, intervals, margin)
        return _by_key(found)

    def _fetch(
        self, bucket_id: str, intervals: list[tuple[int, int]], margin: timedelta
    ) -> list[dict[str, Any]]:
        """The events of ``bucket_id`` around ``intervals`` (ms), ``margin``
        and a second more on both sides."""
        pad = margin + timedelta(seconds=1)
        params = {
            "start": (_moment(min(s for s, _ in intervals)) - pad).isoformat(),
            "end": (_moment(max(e for _, e in intervals)) + pad).isoformat(),
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
        log.debug("read back %d event(s) from %s", len(found), bucket_id)
        return [event for event in found if _is_ours(event)]

    def _insert(self, bucket_id: str, events: list[dict[str, Any]]) -> None:
        self._http.request("POST", f"/api/0/buckets/{bucket_id}/events", json=events)

    def _delete(self, bucket_id: str, events: list[dict[str, Any]]) -> None:
        for old in events:
            path = f"/api/0/buckets/{bucket_id}/events/{old['id']}"
            self._http.request("DELETE", path)

    # -- active time in the afk bucket ---------------------------------------------

    def _send_activity(self, entries: list[protocol.WireRecord]) -> None:
        """Each entry's not-afk events: its time less the afk events there."""
        wanted: dict[str, tuple[int, int] | None] = {}
        for record in entries:
            data = record["data"]
            start, end = data.get("start_ms"), data.get("end_ms")
            if not isinstance(start, int) or not isinstance(end, int):
                continue
            watched = (
                data.get("deleted_ms") is None
                and data.get("source") not in UNWATCHED_SOURCES
            )
            wanted[ACTIVE_PREFIX + record["id"]] = (start, end) if watched else None
        if not wanted:
            return

        bucket = BUCKETS["idle_period"]
        bucket_id = self.bucket_id("idle_period")
        self._ensure_bucket(bucket_id, bucket)
        intervals = [
            (r["data"]["start_ms"], r["data"]["end_ms"])
            for r in entries
            if ACTIVE_PREFIX + r["id"] in wanted
        ]
        found = self._fetch(bucket_id, intervals, bucket.margin)
        away = [_interval(e) for e in found if e["data"].get("status") == AFK]
        there = _by_key(found)

        changes = [
            _replace_active(key, _subtract([span], away) if span else [], there[key])
            for key, span in wanted.items()
        ]
        self._apply(bucket_id, changes)

    def _split_active(
        self,
        bucket_id: str,
        away: list[tuple[int, int]],
        there: dict[str, list[dict[str, Any]]],
    ) -> None:
        """Cut idle periods that went up after their entry out of its not-afk
        events."""
        changes = [
            _replace_active(key, _subtract(_merged(old), away), old)
            for key, old in there.items()
            if key.startswith(ACTIVE_PREFIX)
        ]
        self._apply(bucket_id, changes)

    def _apply(self, bucket_id: str, changes: list[_Change]) -> None:
        """New not-afk events first, then the stale ones go: a failure in
        between leaves both, which the next attempt sorts out, and never
        loses active time the bucket alone knew of."""
        new = [event for insert, _ in changes for event in insert]
        if new:
            self._insert(bucket_id, new)
        self._delete(bucket_id, [event for _, stale in changes for event in stale])

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
    """A span as a ``currentwindow`` event: its page's ``url`` where there
    is one and its ``domain`` where there is one. A domain-only span (the
    host in a browser's window title) carries ``domain`` alone: a made-up
    ``https://DOMAIN/`` would read as a visit to the site's front page in
    every query that splits URLs."""
    payload = {"app": data.get("app") or "", "title": data.get("title") or ""}
    for key in ("url", "domain"):
        if data.get(key):
            payload[key] = data[key]
    return payload


def _afk_data(data: dict[str, Any]) -> dict[str, Any]:
    return {"status": AFK, "cause": data.get("cause")}


def _active_event(key: str, rev: str, start: int, end: int) -> dict[str, Any]:
    return {
        "timestamp": _iso(start),
        "duration": (end - start) / 1000,
        "data": {"status": NOT_AFK, KEY: key, REV: rev},
    }


# The not-afk events to insert for one key, and those to delete.
_Change = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def _replace_active(
    key: str, pieces: list[tuple[int, int]], old: list[dict[str, Any]]
) -> _Change:
    rev = _revision({"pieces": pieces})
    if len(old) == len(pieces) and all(e["data"].get(REV) == rev for e in old):
        return [], []
    return [_active_event(key, rev, start, end) for start, end in pieces], old


def _merged(events: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """The events' time as intervals, overlapping and touching ones joined
    (a retry may find a split's new pieces beside the event they replace)."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(_interval(e) for e in events):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(
    pieces: list[tuple[int, int]], away: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """``pieces`` less every interval of ``away``, in order; empty ones go."""
    for cut_start, cut_end in away:
        kept: list[tuple[int, int]] = []
        for start, end in pieces:
            if cut_end <= start or cut_start >= end:
                kept.append((start, end))
                continue
            if start < cut_start:
                kept.append((start, cut_start))
            if cut_end < end:
                kept.append((cut_end, end))
        pieces = kept
    return sorted(pieces)


def _interval(event: dict[str, Any]) -> tuple[int, int]:
    """An event's time as whole milliseconds since 1970."""
    start = round(datetime.fromisoformat(event["timestamp"]).timestamp() * 1000)
    return start, start + round(float(event["duration"]) * 1000)


def _is_ours(event: object) -> bool:
    data = event.get("data") if isinstance(event, dict) else None
    return isinstance(data, dict) and isinstance(data.get(KEY), str)


def _by_key(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    there: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        there[event["data"][KEY]].append(event)
    return there


def _revision(data: dict[str, Any]) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _iso(ms: int) -> str:
    return _moment(ms).isoformat()


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


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
