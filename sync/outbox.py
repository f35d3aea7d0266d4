"""Reading the outbox in batches and recording what became of each item.

Items leave in creation order (the outbox row id grows with each enqueue).
A batch is cut by count and by encoded bytes, whichever is reached first.
Screenshots are not part of record batches: their files go up one by one
after the records (:meth:`Outbox.next_screenshots`).

An item whose upload failed keeps its place, with its attempts, next attempt
time and last error; a quarantined item is set aside with the reason and no
longer holds anything up until the worker retries it.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session

from agent.store import Store
from agent.store.models import OutboxItem, Screenshot
from sync import protocol
from sync.records import IMMUTABLE_KINDS, LOADERS, load_records, screenshot_data

log = logging.getLogger(__name__)

SCREENSHOT = "screenshot"
GONE = "row is gone"

# Read this many candidate items per batch beyond the count limit is never
# needed; the byte limit only ever cuts a batch shorter.
_ENVELOPE_BYTES = len('{"records":[]}')
# One encoder for every record: json.dumps with any option builds a new one
# per call, which showed in the drain profile (P7).
_ENCODER = json.JSONEncoder(ensure_ascii=False)


@dataclass(frozen=True)
class Pending:
    """An outbox item with the record as it is now."""

    item_id: int
    kind: str
    record_id: int
    attempts: int
    record: protocol.WireRecord | None
    """None when the row no longer exists or the kind cannot be sent."""
    size: int
    problem: str | None = None


@dataclass(frozen=True)
class PendingScreenshot:
    item_id: int
    record_id: int
    attempts: int
    path: Path | None
    meta: dict[str, object] | None
    problem: str | None = None


@dataclass(frozen=True)
class Counts:
    waiting: int
    quarantined: int
    due: int


@dataclass(frozen=True)
class Quarantined:
    kind: str
    record_id: int
    reason: str
    at: datetime


class Outbox:
    """The store's outbox as the uploader sees it. Thread-safe (via the store)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- reading ---------------------------------------------------------------

    def next_batch(
        self, now: datetime, max_count: int, max_bytes: int
    ) -> list[Pending]:
        """The next due items in creation order, at most ``max_count`` records
        and ``max_bytes`` of encoded records (at least one item)."""
        with self._store.read() as session:
            items = session.execute(
                select(
                    OutboxItem.id,
                    OutboxItem.kind,
                    OutboxItem.record_id,
                    OutboxItem.attempts,
                )
                .where(_due(now), OutboxItem.kind != SCREENSHOT)
                .order_by(OutboxItem.id)
                .limit(max_count)
            ).all()
            data = _load(session, [(kind, rid) for _, kind, rid, _ in items])

        batch: list[Pending] = []
        total = _ENVELOPE_BYTES
        for item_id, kind, record_id, attempts in items:
            pending = _pending(item_id, kind, record_id, attempts, data)
            if batch and total + pending.size + 1 > max_bytes:
                break
            total += pending.size + 1
            batch.append(pending)
        return batch

    def next_screenshots(
        self, now: datetime, limit: int, screenshots_dir: Path
    ) -> list[PendingScreenshot]:
        """Due screenshot items, oldest first, with their files' paths."""
        with self._store.read() as session:
            rows = session.execute(
                select(OutboxItem.id, OutboxItem.record_id, OutboxItem.attempts)
                .where(_due(now), OutboxItem.kind == SCREENSHOT)
                .order_by(OutboxItem.id)
                .limit(limit)
            ).all()
            shots = {
                shot.id: shot
                for shot in session.scalars(
                    select(Screenshot).where(Screenshot.id.in_([r[1] for r in rows]))
                )
            }
        return [
            _pending_screenshot(i, rid, attempts, shots.get(rid), screenshots_dir)
            for i, rid, attempts in rows
        ]

    def counts(self, now: datetime) -> Counts:
        with self._store.read() as session:
            waiting, quarantined, due = session.execute(
                select(
                    func.count(OutboxItem.id),
                    func.count(OutboxItem.quarantined_at),
                    func.count(OutboxItem.id).filter(_due(now)),
                )
            ).one()
        return Counts(waiting - quarantined, quarantined, due)

    def quarantined(self) -> list[Quarantined]:
        with self._store.read() as session:
            rows = session.scalars(
                select(OutboxItem)
                .where(OutboxItem.quarantined_at.is_not(None))
                .order_by(OutboxItem.id)
            )
            return [
                Quarantined(
                    row.kind,
                    row.record_id,
                    row.last_error or "",
                    row.quarantined_at or row.created_at,
                )
                for row in rows
            ]

    # -- outcomes --------------------------------------------------------------

    def done(self, sent: Sequence[Pending]) -> int:
        """Remove the items the server now has; returns how many were removed.

        A record that changed while its upload was in flight was queued again
        into the same item (enqueue keeps one item per record), so the item
        stays for the new state instead of being removed.
        """
        if not sent:
            return 0
        with self._store.write() as session:
            changed = _changed_since(session, sent)
            gone = [p.item_id for p in sent if p.item_id not in changed]
            _delete(session, gone)
            if changed:
                session.execute(
                    update(OutboxItem)
                    .where(OutboxItem.id.in_(changed))
                    .values(attempts=0, next_attempt_at=None, last_error=None)
                )
        return len(gone)

    def drop(self, item_ids: Sequence[int], reason: str) -> None:
        """Remove items that have nothing left to send (the row is gone)."""
        with self._store.write() as session:
            _delete(session, list(item_ids))
        log.info("%d outbox item(s) dropped: %s", len(item_ids), reason)

    def begin(self, item_ids: Sequence[int]) -> None:
        """Count an attempt before it is made.

        Counted up front so that an item with attempts may have reached the
        server even when the agent died before hearing back; a target whose
        inserts are not idempotent reads back before sending such items.
        """
        with self._store.write() as session:
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(list(item_ids)))
                .values(attempts=OutboxItem.attempts + 1)
            )

    def failed(self, item_ids: Sequence[int], error: str, retry_at: datetime) -> None:
        """The attempt failed; the items wait until ``retry_at``."""
        with self._store.write() as session:
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.id.in_(list(item_ids)))
                .values(
                    last_error=error[:500],
                    next_attempt_at=retry_at,
                )
            )

    def quarantine(self, item_id: int, reason: str, now: datetime) -> None:
        with self._store.write() as session:
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.id == item_id)
                .values(
                    last_error=reason[:500],
                    quarantined_at=now,
                    next_attempt_at=None,
                )
            )

    def release_quarantined(self) -> int:
        """Put every quarantined item back in line (the worker's "retry")."""
        with self._store.write() as session:
            result = session.execute(
                update(OutboxItem)
                .where(OutboxItem.quarantined_at.is_not(None))
                .values(quarantined_at=None, next_attempt_at=None, attempts=0)
            )
        return int(getattr(result, "rowcount", 0) or 0)

    def retry_now(self) -> None:
        """Make every item waiting out a backoff due now ("sync now").

        A screenshot never tried yet is held for the deletion grace period
        (``agent.screenshots``), not for a backoff: it keeps its time, so the
        worker can still delete it before it leaves the machine. Once tried,
        its wait is a backoff like any other.
        """
        with self._store.write() as session:
            session.execute(
                update(OutboxItem)
                .where(OutboxItem.next_attempt_at.is_not(None))
                .where(OutboxItem.quarantined_at.is_(None))
                .where(_backing_off())
                .values(next_attempt_at=None)
            )

    def screenshot_done(self, item: PendingScreenshot, now: datetime) -> None:
        with self._store.write() as session:
            _delete(session, [item.item_id])
            session.execute(
                update(Screenshot)
                .where(Screenshot.id == item.record_id)
                .values(uploaded_at=now)
            )


def _due(now: datetime) -> ColumnElement[bool]:
    return OutboxItem.quarantined_at.is_(None) & or_(
        OutboxItem.next_attempt_at.is_(None),
        OutboxItem.next_attempt_at <= now,
    )


def _backing_off() -> ColumnElement[bool]:
    """Items whose wait is a backoff: all but untried screenshots (the grace)."""
    return or_(OutboxItem.kind != SCREENSHOT, OutboxItem.attempts > 0)


def _delete(session: Session, item_ids: list[int]) -> None:
    for start in range(0, len(item_ids), 5000):
        chunk = item_ids[start : start + 5000]
        session.execute(delete(OutboxItem).where(OutboxItem.id.in_(chunk)))


def _load(
    session: Session, keys: list[tuple[str, int]]
) -> dict[tuple[str, int], dict[str, object]]:
    by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, record_id in keys:
        by_kind[kind].append(record_id)

    found: dict[tuple[str, int], dict[str, object]] = {}
    for kind, ids in by_kind.items():
        if kind not in LOADERS:
            continue
        for record_id, data in load_records(session, kind, ids).items():
            found[kind, record_id] = data
    return found


def _pending(
    item_id: int,
    kind: str,
    record_id: int,
    attempts: int,
    data: dict[tuple[str, int], dict[str, object]],
) -> Pending:
    if kind not in LOADERS:
        problem = f"this version cannot upload records of kind {kind!r}"
        return Pending(item_id, kind, record_id, attempts, None, 0, problem)

    found = data.get((kind, record_id))
    if found is None:
        return Pending(item_id, kind, record_id, attempts, None, 0, GONE)

    record: protocol.WireRecord = {"kind": kind, "id": str(record_id), "data": found}
    size = len(_ENCODER.encode(record).encode("utf-8"))
    return Pending(item_id, kind, record_id, attempts, record, size)


def _pending_screenshot(
    item_id: int,
    record_id: int,
    attempts: int,
    shot: Screenshot | None,
    screenshots_dir: Path,
) -> PendingScreenshot:
    if shot is None:
        problem = GONE
        return PendingScreenshot(item_id, record_id, attempts, None, None, problem)
    if shot.deleted_at is not None:
        problem = "deleted by the worker before upload"
        return PendingScreenshot(item_id, record_id, attempts, None, None, problem)
    if shot.skipped_reason:
        problem = f"not taken: {shot.skipped_reason}"
        return PendingScreenshot(item_id, record_id, attempts, None, None, problem)

    path = Path(shot.path)
    if not path.is_absolute():
        path = screenshots_dir / path
    return PendingScreenshot(item_id, record_id, attempts, path, screenshot_data(shot))


def _changed_since(session: Session, sent: Sequence[Pending]) -> set[int]:
    """Items whose record no longer matches what was sent."""
    check = [p for p in sent if p.record is not None and p.kind not in IMMUTABLE_KINDS]
    if not check:
        return set()
    now_data = _load(session, [(p.kind, p.record_id) for p in check])
    return {
        p.item_id
        for p in check
        if p.record is not None
        and now_data.get((p.kind, p.record_id), p.record["data"]) != p.record["data"]
    }
