"""Storing one batch: validate, insert what is new, compare what is not.

One round trip inserts every new record (``ON CONFLICT DO NOTHING
RETURNING``); a record already there is a duplicate when its content is the
same, and replaces the stored one when the agent changed it since (an entry
edited after upload goes up again under the same key).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Connection, Engine, and_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from sync import protocol
from sync.server.db import records

Key = tuple[str, int]


def store_batch(
    engine: Engine, agent_id: str, batch: object, now_ms: int
) -> list[protocol.RecordResult]:
    """The per-record results of storing ``batch`` for ``agent_id``.

    ValueError when ``batch`` is not a batch at all (the caller answers 400).
    """
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
        with engine.begin() as connection:
            statuses = _write(connection, agent_id, rows)
        for result in results:
            if result["status"] != protocol.REJECTED:
                key = (result["kind"], int(result["id"]))
                result["status"] = statuses[key]
    return results


def _records_of(batch: object) -> list[Any]:
    if not isinstance(batch, dict) or not isinstance(batch.get("records"), list):
        raise ValueError("a batch is an object with a records list")
    items: list[Any] = batch["records"]
    if len(items) > protocol.MAX_BATCH_RECORDS:
        raise ValueError(f"at most {protocol.MAX_BATCH_RECORDS} records per batch")
    return items


def _row(agent_id: str, item: dict[str, Any], now_ms: int) -> dict[str, Any]:
    data = item["data"]
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {
        "agent_id": agent_id,
        "kind": item["kind"],
        "record_id": int(item["id"]),
        "start_ms": data.get("start_ms", data.get("created_ms")),
        "end_ms": data.get("end_ms"),
        "digest": hashlib.blake2b(body.encode(), digest_size=16).hexdigest(),
        "body": body,
        "received_ms": now_ms,
    }


def _write(
    connection: Connection, agent_id: str, rows: dict[Key, dict[str, Any]]
) -> dict[Key, protocol.Status]:
    insert = (
        postgresql.insert(records)
        if connection.dialect.name == "postgresql"
        else sqlite.insert(records)
    )
    statement = insert.on_conflict_do_nothing().returning(
        records.c.kind, records.c.record_id
    )
    inserted = (
        {
            (kind, record_id)
            for kind, record_id in connection.execute(statement, list(rows.values()))
        }
        if _multi_returning(connection)
        else _insert_each(connection, statement, rows)
    )

    statuses: dict[Key, protocol.Status] = dict.fromkeys(inserted, protocol.STORED)
    others = [key for key in rows if key not in inserted]
    if others:
        statuses.update(_compare(connection, agent_id, others, rows))
    return statuses


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


def _compare(
    connection: Connection,
    agent_id: str,
    keys: list[Key],
    rows: dict[Key, dict[str, Any]],
) -> dict[Key, protocol.Status]:
    stored = connection.execute(
        select(records.c.kind, records.c.record_id, records.c.digest).where(
            records.c.agent_id == agent_id,
            tuple_(records.c.kind, records.c.record_id).in_(keys),
        )
    ).all()

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
