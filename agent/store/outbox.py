"""Putting records in the outbox, in the same transaction that writes them."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from agent.store.models import OutboxItem

# Built once, values bound per call: building the statement (``.values()``)
# cost more than running it, and the agent enqueues on every flush.
_ENQUEUE = insert(cast(Table, OutboxItem.__table__)).on_conflict_do_nothing(
    index_elements=["kind", "record_id"]
)


def enqueue(session: Session, kind: str, record_id: int, now: datetime) -> None:
    """Queue ``record_id`` of ``kind`` for upload; a queued record stays queued.

    The uploader reads the record's state when it sends it, so a record
    changed again before upload goes up once, as it is then.
    """
    session.execute(
        _ENQUEUE,
        {"kind": kind, "record_id": record_id, "created_at": now, "attempts": 0},
    )
