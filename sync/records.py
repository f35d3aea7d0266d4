"""Store rows as protocol v1 records, read in bulk per kind.

One loader per record kind reads the current state of many rows at once (one
query per kind and batch, never one per record) and returns the record's
``data`` as :mod:`sync.protocol` defines it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from agent.store.models import (
    App,
    Break,
    Entry,
    IdlePeriod,
    Project,
    Screenshot,
    Slot,
    Span,
    Task,
    Title,
    Url,
    to_millis,
)

Data = dict[str, Any]
Loader = Callable[[Session, list[int]], dict[int, Data]]

# Chunk size for IN (...) lists: SQLite allows 32,766 parameters since 3.32.
_CHUNK = 5000


def load_records(session: Session, kind: str, ids: list[int]) -> dict[int, Data]:
    """The data of each id of ``kind`` that still exists; KeyError for a kind
    this version cannot send."""
    loader = LOADERS[kind]
    found: dict[int, Data] = {}
    for start in range(0, len(ids), _CHUNK):
        found.update(loader(session, ids[start : start + _CHUNK]))
    return found


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else to_millis(moment)


def _sid(value: int | None) -> str | None:
    return None if value is None else str(value)


def _rows(session: Session, query: Select[Any]) -> Iterable[Row[Any]]:
    return session.execute(query)


def _projects(session: Session, ids: list[int]) -> dict[int, Data]:
    query = select(Project).where(Project.id.in_(ids))
    return {
        row.id: {
            "name": row.name,
            "created_ms": _ms(row.created_at),
            "archived_ms": _ms(row.archived_at),
        }
        for row in session.scalars(query)
    }


def _tasks(session: Session, ids: list[int]) -> dict[int, Data]:
    query = select(Task).where(Task.id.in_(ids))
    return {
        row.id: {
            "project_id": str(row.project_id),
            "name": row.name,
            "created_ms": _ms(row.created_at),
            "archived_ms": _ms(row.archived_at),
        }
        for row in session.scalars(query)
    }


def _entries(session: Session, ids: list[int]) -> dict[int, Data]:
    query = select(Entry).where(Entry.id.in_(ids))
    return {
        row.id: {
            "project_id": str(row.project_id),
            "task_id": _sid(row.task_id),
            "note": row.note,
            "source": str(row.source),
            "start_ms": _ms(row.start),
            # A running entry goes up with its last flush as a provisional end
            # only when it stops; until then the end is open.
            "end_ms": _ms(row.end),
            "updated_ms": _ms(row.updated_at),
            "deleted_ms": _ms(row.deleted_at),
        }
        for row in session.scalars(query)
    }


def _spans(session: Session, ids: list[int]) -> dict[int, Data]:
    query = (
        select(
            Span.id,
            Span.entry_id,
            Span.start,
            Span.end,
            App.name,
            Title.text,
            Url.url,
            Url.domain,
            Span.flags,
        )
        .outerjoin(App, Span.app_id == App.id)
        .outerjoin(Title, Span.title_id == Title.id)
        .outerjoin(Url, Span.url_id == Url.id)
        .where(Span.id.in_(ids))
    )
    return {
        row[0]: {
            "entry_id": str(row[1]),
            "start_ms": _ms(row[2]),
            "end_ms": _ms(row[3]),
            "app": row[4],
            "title": row[5],
            "url": row[6],
            "domain": row[7],
            "flags": row[8],
        }
        for row in _rows(session, query)
    }


def _slots(session: Session, ids: list[int]) -> dict[int, Data]:
    query = select(Slot).where(Slot.id.in_(ids))
    return {
        row.id: {
            "entry_id": str(row.entry_id),
            "start_ms": _ms(row.start),
            "end_ms": _ms(row.end),
            "tracked_seconds": row.tracked_seconds,
            "active_seconds": row.active_seconds,
            "keyboard_seconds": row.keyboard_seconds,
            "mouse_seconds": row.mouse_seconds,
            "passive_seconds": row.passive_seconds,
            "synthetic_flags": row.synthetic_flags,
        }
        for row in session.scalars(query)
    }


def _idle_periods(session: Session, ids: list[int]) -> dict[int, Data]:
    query = select(IdlePeriod).where(IdlePeriod.id.in_(ids))
    return {
        row.id: {
            "entry_id": _sid(row.entry_id),
            "start_ms": _ms(row.start),
            "end_ms": _ms(row.end),
            "cause": row.cause,
            "resolution": row.resolution,
            "resolved_ms": _ms(row.resolved_at),
        }
        for row in session.scalars(query)
    }


def _breaks(session: Session, ids: list[int]) -> dict[int, Data]:
    query = select(Break).where(Break.id.in_(ids))
    return {
        row.id: {
            "entry_id": _sid(row.entry_id),
            "policy": row.policy,
            "paid": row.paid,
            "start_ms": _ms(row.start),
            "end_ms": _ms(row.end),
            "origin": row.origin,
        }
        for row in session.scalars(query)
    }


def screenshot_data(row: Screenshot) -> Data:
    return {
        "entry_id": _sid(row.entry_id),
        "taken_ms": _ms(row.taken_at),
        "slot_start_ms": _ms(row.slot_start),
        "monitor": row.monitor,
        "width": row.width,
        "height": row.height,
        "size_bytes": row.size_bytes,
        "sha256": row.sha256,
        "blurred": row.blurred,
    }


def _screenshot_deletions(session: Session, ids: list[int]) -> dict[int, Data]:
    """The audit of each deleted shot: when, by whom, the slot time removed.

    No image and nothing about it: a shot not deleted (yet) has no such
    record, so its item is dropped as gone.
    """
    query = select(Screenshot).where(
        Screenshot.id.in_(ids), Screenshot.deleted_at.is_not(None)
    )
    return {
        row.id: {
            "entry_id": _sid(row.entry_id),
            "taken_ms": _ms(row.taken_at),
            "slot_start_ms": _ms(row.slot_start),
            "monitor": row.monitor,
            "deleted_ms": _ms(row.deleted_at),
            "deleted_by": row.deleted_by or "worker",
            "removed_seconds": float(row.removed_seconds or 0.0),
        }
        for row in session.scalars(query)
    }


LOADERS: dict[str, Loader] = {
    "project": _projects,
    "task": _tasks,
    "entry": _entries,
    "span": _spans,
    "slot": _slots,
    "idle_period": _idle_periods,
    "break": _breaks,
    "screenshot_deletion": _screenshot_deletions,
}

# Kinds whose rows never change once queued: no need to check, after an
# upload, whether they changed while it was in flight.
IMMUTABLE_KINDS = frozenset({"span"})
