"""Putting records in the outbox, in the same transaction that writes them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from agent.store.models import OutboxItem


def enqueue(session: Session, kind: str, record_id: int, now: datetime) -> None:
    """Queue ``record_id`` of ``kind`` for upload; a queued record stays queued.

    The uploader reads the record's state when it sends it, so a record
    changed again before upload goes up once, as it is then.
    """
    statement = (
        insert(OutboxItem)
        .values(kind=kind, record_id=record_id, created_at=now, attempts=0)
        .on_conflict_do_nothing(index_elements=["kind", "record_id"])
    )
    session.execute(statement)
