"""Turning the outbox on in a test, as `punchclock sync login` does.

A store queues records for upload only once signed in to a server; tests
that look at outbox items first turn queueing on here.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from agent.store import Store
from agent.store.outbox import start_queueing


def queue_uploads(store: Store | Path, now: datetime | None = None) -> int:
    """Queue records from now on (and the history); returns how many the
    history added. ``store`` may be a database file another process uses."""
    moment = now or datetime.now(UTC)
    if isinstance(store, Store):
        with store.write() as session:
            return start_queueing(session, moment)
    opened = Store.open(store)
    try:
        with opened.write() as session:
            return start_queueing(session, moment)
    finally:
        opened.close()


def queued(database: Path, kind: str) -> int:
    """Outbox items of ``kind`` in the database file, read with plain SQL."""
    with sqlite3.connect(database) as db:
        (count,) = db.execute(
            "SELECT COUNT(*) FROM outbox WHERE kind = ?", (kind,)
        ).fetchone()
    return int(count)
