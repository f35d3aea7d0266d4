"""Storing one batch: validate, insert what is new, compare what is not.

One statement inserts every new record (``ON CONFLICT DO NOTHING
RETURNING``); a record already there is a duplicate when its content is the
same, and replaces the stored one when the agent changed it since (an entry
edited after upload goes up again under the same key). A new
``screenshot_deletion`` record also marks the screenshot's row as deleted and
removes its image (:func:`apply_deletion`), in the same transaction.

On PostgreSQL the statement takes the batch as one array per column
(``INSERT ... SELECT FROM unnest(...)``): its text is the same for every
batch, so the driver prepares it once per connection, where a multi-row
VALUES list (thousands of placeholders, a new text per batch size) cost more
to build and convert than to run (P10). SQLite takes the rows through
executemany.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any, cast

import psycopg
from sqlalchemy import Connection, Engine, Table, and_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from sync import protocol
from sync.server.db import agents, records, screenshots

Key = tuple[str, int]

# A record's stored body, the same for the same content (its digest is how a
# resend is told from a change). Made once: json.dumps with options builds a
# new encoder per call, a measurable share of a batch.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class UnknownTokenError(Exception):
    """No agent has this token (never issued, or replaced by a new sign-in)."""


def store_upload(
    engine: Engine, token_hash: str, raw: bytes, now_ms: int
) -> list[protocol.RecordResult]:
    """An upload as it arrives: the agent found by its token's hash, the body
    parsed, checked and stored, all on one pooled connection in one
    transaction (one checkout and one thread per request, not two: P10).

    :class:`UnknownTokenError` for a token no agent has (401); ValueError
    when the body is not a batch (400).
    """
    with engine.begin() as connection:
        agent_id = connection.scalar(
            select(agents.c.id).where(agents.c.token_hash == token_hash)
        )
        if agent_id is None:
            raise UnknownTokenError
        try:
            batch = json.loads(raw)
        except ValueError as error:
            raise ValueError("the body is not JSON") from error
        return _store(connection, str(agent_id), batch, now_ms)


def store_batch(
    engine: Engine, agent_id: str, batch: object, now_ms: int
) -> list[protocol.RecordResult]:
    """The per-record results of storing ``batch`` for ``agent_id``.

    ValueError when ``batch`` is not a batch at all (the caller answers 400).
    """
    with engine.begin() as connection:
        return _store(connection, agent_id, batch, now_ms)


def _store(
    connection: Connection, agent_id: str, batch: object, now_ms: int
) -> list[protocol.RecordResult]:
    items = _records_of(batch)
    results: list[protocol.RecordResult] = []
    rows: dict[Key, dict[str, Any]] = {}

    for item in items:
        reason = protocol.check_record(item)
        if reason is not None:
            results.append(_result(item, protocol.REJECTED, reason))
            continue
        row = _row(agent_id, item, now_ms)
        rows[(row["kind"], row["record_id"])] = row
        results.append(_result(item, protocol.STORED))

    if rows:
        statuses = _write(connection, agent_id, rows)
        for result in results:
            if result["status"] != protocol.REJECTED:
                key = (result["kind"], int(result["id"]))
                result["status"] = statuses[key]
        for key, status in statuses.items():
            if key[0] == protocol.SCREENSHOT_DELETION and status == protocol.STORED:
                apply_deletion(connection, agent_id, key[1], rows[key]["body"])
    return results


def apply_deletion(
    connection: Connection, agent_id: str, record_id: int, body: str
) -> None:
    """A screenshot the worker deleted: its row stays as the audit, with the
    deletion's fields and no image; an image uploaded before is removed.

    In the batch's transaction, so the audit and the record commit together;
    the file goes first (a resend after a rollback finds it gone and is
    fine). Idempotent: the row is written, not appended to.
    """
    deletion = json.loads(body)
    table = screenshots
    where = and_(table.c.agent_id == agent_id, table.c.record_id == record_id)
    for _ in range(2):
        query = select(table.c.path, table.c.meta).where(where)
        if connection.dialect.name == "postgresql":
            query = query.with_for_update()
        found = connection.execute(query).first()
        if found is not None:
            path, meta = found
            if path:
                _remove_image(Path(path))
            merged = {**json.loads(meta), **deletion}
            connection.execute(
                update(table).where(where).values(path="", meta=_json(merged))
            )
            return
        row = {
            "agent_id": agent_id,
            "record_id": record_id,
            "taken_ms": deletion["taken_ms"],
            "sha256": "",
            "size_bytes": 0,
            "meta": _json(deletion),
            "path": "",
            "received_ms": int(time.time() * 1000),
        }
        if _insert_new(connection, table, row):
            return
        # An image upload made the row meanwhile: read it again and update it.
    raise RuntimeError(f"screenshot {record_id} could not be marked deleted")


def _insert_new(connection: Connection, table: Table, row: dict[str, Any]) -> bool:
    insert = (
        postgresql.insert(table)
        if connection.dialect.name == "postgresql"
        else sqlite.insert(table)
    )
    statement = (
        insert.values(**row).on_conflict_do_nothing().returning(table.c.record_id)
    )
    return connection.execute(statement).first() is not None


def _remove_image(path: Path) -> None:
    """The image and the thumbnail the timeline page made of it."""
    for each in (path, path.with_suffix(".thumb.jpg")):
        each.unlink(missing_ok=True)


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def _records_of(batch: object) -> list[Any]:
    if not isinstance(batch, dict) or not isinstance(batch.get("records"), list):
        raise ValueError("a batch is an object with a records list")
    items: list[Any] = batch["records"]
    if len(items) > protocol.MAX_BATCH_RECORDS:
        raise ValueError(f"at most {protocol.MAX_BATCH_RECORDS} records per batch")
    return items


def _row(agent_id: str, item: dict[str, Any], now_ms: int) -> dict[str, Any]:
    data = item["data"]
    body = _CANONICAL.encode(data)
    return {
        "agent_id": agent_id,
        "kind": item["kind"],
        "record_id": int(item["id"]),
        "start_ms": data.get("start_ms", data.get("created_ms", data.get("taken_ms"))),
        "end_ms": data.get("end_ms"),
        "digest": hashlib.blake2b(body.encode(), digest_size=16).hexdigest(),
        "body": body,
        "received_ms": now_ms,
    }


# One text for every batch (see the module's docstring). The arrays go in
# binary (%b): psycopg's text format escapes every element of a text array
# with a regular expression, which for JSON bodies cost more than the insert.
_PG_INSERT = (
    "INSERT INTO records "
    "(agent_id, kind, record_id, start_ms, end_ms, digest, body, received_ms) "
    "SELECT %b, t.kind, t.record_id, t.start_ms, t.end_ms, t.digest, t.body, %b "
    "FROM unnest(%b::text[], %b::bigint[], %b::bigint[], %b::bigint[], "
    "%b::text[], %b::text[]) "
    "AS t(kind, record_id, start_ms, end_ms, digest, body) "
    "ON CONFLICT DO NOTHING RETURNING kind, record_id"
)


def _write(
    connection: Connection, agent_id: str, rows: dict[Key, dict[str, Any]]
) -> dict[Key, protocol.Status]:
    if connection.dialect.name == "postgresql":
        inserted = _insert_arrays(connection, agent_id, rows)
    else:
        statement = (
            sqlite.insert(records)
            .on_conflict_do_nothing()
            .returning(records.c.kind, records.c.record_id)
        )
        inserted = (
            {
                (kind, record_id)
                for kind, record_id in connection.execute(
                    statement, list(rows.values())
                )
            }
            if _multi_returning(connection)
            else _insert_each(connection, statement, rows)
        )

    statuses: dict[Key, protocol.Status] = dict.fromkeys(inserted, protocol.STORED)
    others = [key for key in rows if key not in inserted]
    if others:
        statuses.update(_compare(connection, agent_id, others, rows))
    return statuses


def _insert_arrays(
    connection: Connection, agent_id: str, rows: dict[Key, dict[str, Any]]
) -> set[Key]:
    values = list(rows.values())
    params = (
        agent_id,
        values[0]["received_ms"],
        [row["kind"] for row in values],
        [row["record_id"] for row in values],
        [row["start_ms"] for row in values],
        [row["end_ms"] for row in values],
        [row["digest"] for row in values],
        [row["body"] for row in values],
    )
    # The driver's own cursor, in this connection's transaction: SQLAlchemy
    # has no way to ask for binary parameters.
    driver = cast(psycopg.Connection[Any], connection.connection.driver_connection)
    with driver.cursor() as cursor:
        cursor.execute(_PG_INSERT, params)
        return {(str(kind), int(record_id)) for kind, record_id in cursor.fetchall()}


def _multi_returning(connection: Connection) -> bool:
    return bool(connection.dialect.insert_executemany_returning)


def _insert_each(
    connection: Connection, statement: Any, rows: dict[Key, dict[str, Any]]
) -> set[Key]:
    inserted: set[Key] = set()
    for row in rows.values():
        found = connection.execute(statement, row).first()
        if found is not None:
            inserted.add((found[0], found[1]))
    return inserted


# The stored digests of a batch's keys, one primary-key lookup each; a
# (kind, id) IN list of a whole batch cost ten times the insert (a resend
# after a lost answer takes this path for every record).
_PG_DIGESTS = (
    "SELECT r.kind, r.record_id, r.digest "
    "FROM unnest(%b::text[], %b::bigint[]) AS k(kind, record_id) "
    "JOIN records r ON r.agent_id = %b AND r.kind = k.kind "
    "AND r.record_id = k.record_id"
)


def _stored_digests_pg(
    connection: Connection, agent_id: str, keys: list[Key]
) -> list[tuple[str, int, str]]:
    driver = cast(psycopg.Connection[Any], connection.connection.driver_connection)
    params = ([kind for kind, _ in keys], [number for _, number in keys], agent_id)
    with driver.cursor() as cursor:
        cursor.execute(_PG_DIGESTS, params)
        return [(str(k), int(n), str(d)) for k, n, d in cursor.fetchall()]


def _compare(
    connection: Connection,
    agent_id: str,
    keys: list[Key],
    rows: dict[Key, dict[str, Any]],
) -> dict[Key, protocol.Status]:
    if connection.dialect.name == "postgresql":
        stored = _stored_digests_pg(connection, agent_id, keys)
    else:
        stored = [
            (str(kind), int(record_id), str(digest))
            for kind, record_id, digest in connection.execute(
                select(records.c.kind, records.c.record_id, records.c.digest).where(
                    records.c.agent_id == agent_id,
                    tuple_(records.c.kind, records.c.record_id).in_(keys),
                )
            )
        ]

    statuses: dict[Key, protocol.Status] = {}
    for kind, record_id, digest in stored:
        row = rows[(kind, record_id)]
        if row["digest"] == digest:
            statuses[(kind, record_id)] = protocol.DUPLICATE
            continue
        # Changed on the agent since it was stored: the newer state wins.
        connection.execute(
            update(records)
            .where(
                and_(
                    records.c.agent_id == agent_id,
                    records.c.kind == kind,
                    records.c.record_id == record_id,
                )
            )
            .values(
                body=row["body"],
                digest=row["digest"],
                start_ms=row["start_ms"],
                end_ms=row["end_ms"],
                received_ms=row["received_ms"],
            )
        )
        statuses[(kind, record_id)] = protocol.STORED
    return statuses


def _result(
    item: object, status: protocol.Status, reason: str | None = None
) -> protocol.RecordResult:
    kind = item.get("kind") if isinstance(item, dict) else None
    record_id = item.get("id") if isinstance(item, dict) else None
    result: protocol.RecordResult = {
        "kind": str(kind)[:32],
        "id": str(record_id)[:20],
        "status": status,
    }
    if reason is not None:
        result["reason"] = reason
    return result
