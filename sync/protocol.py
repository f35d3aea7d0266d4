"""Punchclock sync protocol v1: the shapes both sides agree on.

The uploader and the reference server import this module and nothing else of
each other; docs/sync-protocol.md explains it in prose and sync/openapi.yaml
describes it for other implementations. Plain data only (dicts of JSON
types): the agent does not need pydantic, and the server validates records
with :func:`check_record`, which says *why* a record is refused.

Moments are integer milliseconds since the Unix epoch, UTC. Record ids are
63-bit integers sent as decimal strings, so that JavaScript clients keep them
exact. A record's idempotency key is (the agent's store id, kind, id).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal, TypedDict

VERSION: Final = 1
PREFIX: Final = "/v1"

REGISTER_PATH: Final = "/v1/agents"
BATCH_PATH: Final = "/v1/batches"
SCREENSHOT_PATH: Final = "/v1/screenshots/{record_id}"
POLICY_PATH: Final = "/v1/policy"
PROJECTS_PATH: Final = "/v1/projects"

SHA256_HEADER: Final = "X-Punchclock-SHA256"
SCREENSHOT_META_HEADER: Final = "X-Punchclock-Screenshot"

# What a server must accept at least; it may accept more.
MAX_BATCH_RECORDS: Final = 10_000
MAX_BATCH_BYTES: Final = 8 * 1024 * 1024
MAX_SCREENSHOT_BYTES: Final = 20 * 1024 * 1024

Status = Literal["stored", "duplicate", "rejected"]
STORED: Final = "stored"
DUPLICATE: Final = "duplicate"
REJECTED: Final = "rejected"


class WireRecord(TypedDict):
    kind: str
    id: str
    data: dict[str, Any]


class Batch(TypedDict):
    records: list[WireRecord]


class RecordResult(TypedDict, total=False):
    kind: str
    id: str
    status: Status
    reason: str


class BatchResponse(TypedDict):
    results: list[RecordResult]


class Registration(TypedDict):
    enrollment_key: str
    store_id: str
    hostname: str
    agent_version: str


class RegistrationResponse(TypedDict):
    agent_id: str
    token: str


# -- records ------------------------------------------------------------------

# Field kinds: "int", "ms" (a moment), "float", "str", "bool", "id" (a decimal
# record id); a trailing "?" allows null. Fields not listed are refused, so a
# typo on either side shows up at once instead of as silently lost data.
_Spec = dict[str, str]

RECORD_FIELDS: Final[dict[str, _Spec]] = {
    "project": {"name": "str", "created_ms": "ms", "archived_ms": "ms?"},
    "task": {
        "project_id": "id",
        "name": "str",
        "created_ms": "ms",
        "archived_ms": "ms?",
    },
    "entry": {
        "project_id": "id",
        "task_id": "id?",
        "note": "str?",
        "source": "str",
        "start_ms": "ms",
        "end_ms": "ms?",
        "updated_ms": "ms",
        "deleted_ms": "ms?",
    },
    "span": {
        "entry_id": "id",
        "start_ms": "ms",
        "end_ms": "ms",
        "app": "str?",
        "title": "str?",
        "url": "str?",
        "domain": "str?",
        "flags": "int",
    },
    "slot": {
        "entry_id": "id",
        "start_ms": "ms",
        "end_ms": "ms",
        "tracked_seconds": "float",
        "active_seconds": "float?",
        "keyboard_seconds": "float?",
        "mouse_seconds": "float?",
        "passive_seconds": "float",
        "synthetic_flags": "int",
    },
    "idle_period": {
        "entry_id": "id?",
        "start_ms": "ms",
        "end_ms": "ms?",
        "cause": "str",
        "resolution": "str?",
        "resolved_ms": "ms?",
    },
    "break": {
        "entry_id": "id?",
        "policy": "str",
        "paid": "bool",
        "start_ms": "ms",
        "end_ms": "ms?",
        "origin": "str",
    },
    "screenshot": {
        "entry_id": "id?",
        "taken_ms": "ms",
        "slot_start_ms": "ms",
        "monitor": "int",
        "width": "int",
        "height": "int",
        "size_bytes": "int",
        "sha256": "str",
        "blurred": "bool",
    },
    # The audit of a screenshot the worker deleted, keyed by the shot's own
    # id: no image, whether or not its image went up before (the server then
    # removes it and keeps the row). A state, so sending it twice is harmless.
    "screenshot_deletion": {
        "entry_id": "id?",
        "taken_ms": "ms",
        "slot_start_ms": "ms",
        "monitor": "int",
        "deleted_ms": "ms",
        "deleted_by": "str",
        "removed_seconds": "float",
    },
}

SCREENSHOT_DELETION: Final = "screenshot_deletion"
# Who may delete a screenshot: the worker within the grace period, or policy.
DELETED_BY: Final = frozenset({"worker", "policy"})

KINDS: Final = frozenset(RECORD_FIELDS)

MAX_TEXT: Final = 10_000
_MAX_ID = (1 << 63) - 1
# Moments outside 2000..2200 are a bug or an attack, not a workday.
_MIN_MS = 946_684_800_000
_MAX_MS = 7_258_118_400_000


def key_of(record: WireRecord) -> tuple[str, str]:
    return record["kind"], record["id"]


def check_record(record: object) -> str | None:
    """Why ``record`` is not a valid v1 record, or None when it is."""
    if not isinstance(record, dict):
        return "a record must be a JSON object"

    kind, record_id, data = record.get("kind"), record.get("id"), record.get("data")
    if kind not in RECORD_FIELDS:
        return f"unknown kind {str(kind)[:40]!r}"
    if _parse_id(record_id) is None:
        return "id must be a decimal 63-bit record id"
    if not isinstance(data, dict):
        return "data must be a JSON object"

    fields = _COMPILED[kind]
    if len(data) > len(fields) or not data.keys() <= fields.keys():
        extra = set(data) - set(fields)
        return f"unknown field(s) {sorted(extra)[:5]} for kind {kind}"
    for name, (nullable, check, word) in fields.items():
        value = data.get(name)
        if value is None:
            if not nullable:
                return f"{name} is required"
        elif not check(value):
            return f"{name} is not a valid {word}"
    return _check_interval(data)


_WORDS = {
    "int": "whole number",
    "ms": "moment (ms since 1970, years 2000-2200)",
    "float": "number",
    "str": f"text (at most {MAX_TEXT} characters)",
    "bool": "true or false",
    "id": "record id",
}


def _is_ms(value: object) -> bool:
    return type(value) is int and _MIN_MS <= value <= _MAX_MS


def _is_number(value: object) -> bool:
    return type(value) is float or _is_int(value)


def _is_text(value: object) -> bool:
    return type(value) is str and len(value) <= MAX_TEXT


def _is_bool(value: object) -> bool:
    return isinstance(value, bool)


def _is_id(value: object) -> bool:
    return _parse_id(value) is not None


_CHECKS: dict[str, Callable[[object], bool]] = {
    "int": lambda value: _is_int(value),
    "ms": _is_ms,
    "float": _is_number,
    "str": _is_text,
    "bool": _is_bool,
    "id": _is_id,
}

# Per kind, per field: (nullable, check, words for the reason). Built once:
# the server checks every record of every batch (P10).
_COMPILED: Final[dict[str, dict[str, tuple[bool, Callable[[object], bool], str]]]] = {
    kind: {
        name: (
            field.endswith("?"),
            _CHECKS[field.rstrip("?")],
            _WORDS[field.rstrip("?")],
        )
        for name, field in spec.items()
    }
    for kind, spec in RECORD_FIELDS.items()
}


def _check_interval(data: dict[str, Any]) -> str | None:
    start, end = data.get("start_ms"), data.get("end_ms")
    if isinstance(start, int) and isinstance(end, int) and end < start:
        return "end_ms is before start_ms"
    deleted_by = data.get("deleted_by")
    if deleted_by is not None and deleted_by not in DELETED_BY:
        return f"deleted_by must be one of {sorted(DELETED_BY)}"
    removed = data.get("removed_seconds")
    if isinstance(removed, int | float) and removed < 0:
        return "removed_seconds is negative"
    return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_id(value: object) -> int | None:
    if not isinstance(value, str) or not value.isdigit() or len(value) > 19:
        return None
    number = int(value)
    return number if 0 < number <= _MAX_ID else None


def parse_id(value: str) -> int:
    """A wire id as an integer; ValueError when it is not one."""
    number = _parse_id(value)
    if number is None:
        raise ValueError(f"not a record id: {value[:40]!r}")
    return number


def check_results(batch: Batch, body: object) -> list[RecordResult]:
    """The per-record results of ``body``, one per sent record, in order.

    ValueError says how the response breaks the protocol.
    """
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise ValueError("the response has no results list")
    results: list[Any] = body["results"]
    sent = batch["records"]
    if len(results) != len(sent):
        raise ValueError(f"{len(results)} results for {len(sent)} records")

    for result, record in zip(results, sent, strict=True):
        if not isinstance(result, dict):
            raise ValueError("a result is not an object")
        if (result.get("kind"), result.get("id")) != key_of(record):
            raise ValueError("results are not in the order of the records")
        if result.get("status") not in (STORED, DUPLICATE, REJECTED):
            raise ValueError(f"unknown status {str(result.get('status'))[:40]!r}")
    return results
