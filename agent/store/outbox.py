"""Putting records in the outbox, in the same transaction that writes them.

Only once this computer is signed in to a server: until then local history
stays local, and a record written costs no outbox row (BRIEF P4). The switch
is a row in the store's meta table (:data:`QUEUEING_KEY`), so that every
process — the agent, the CLI, the tray — sees it in the same transaction as
its write; :func:`enqueue` checks it inside its own INSERT, at no extra round
trip. :func:`start_queueing` turns it on at sign-in and queues what was
written before, one INSERT ... SELECT per table; :func:`stop_queueing` turns it
off at sign-out.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from agent.settings import default_settings
from agent.store.models import Meta, to_millis

log = logging.getLogger(__name__)

QUEUEING_KEY = "outbox_queueing"
"""Present (with the moment it was set, in ms) while records are queued."""
EVER_QUEUED_KEY = "outbox_first_queued"
"""When queueing was first turned on; never removed."""

# One statement, compiled once: it inserts nothing unless queueing is on, and
# keeps one item per record. Checking the switch here instead of with a read
# first keeps the agent's flush at one statement per record.
_ENQUEUE = text(
    "INSERT INTO outbox (kind, record_id, created_at, attempts) "
    "SELECT :kind, :record_id, :created_at, 0 "
    f"WHERE EXISTS (SELECT 1 FROM meta WHERE key = '{QUEUEING_KEY}') "
    "ON CONFLICT (kind, record_id) DO NOTHING"
)

# What a sign-in queues of the history, per kind, in this order (records
# before the ones that refer to them; screenshots go up after records
# anyway). A deleted entry never reached a server, so its deletion is nothing
# to tell it; a screenshot not taken has no file. A deleted screenshot's image
# stays here, but its audit (when, by whom, the time removed) goes up as it
# would have had the worker been signed in: the lead sees that it happened.
_LIVE_ENTRY = "entry_id IN (SELECT id FROM entries WHERE deleted_at IS NULL)"
_BACKFILL: tuple[tuple[str, str, str], ...] = (
    ("project", "projects", "1 = 1"),
    ("task", "tasks", "1 = 1"),
    ("entry", "entries", "deleted_at IS NULL"),
    ("break", "breaks", "1 = 1"),
    ("idle_period", "idle_periods", "1 = 1"),
    ("slot", "slots", _LIVE_ENTRY),
    ("span", "spans", _LIVE_ENTRY),
    (
        "screenshot",
        "screenshots",
        "deleted_at IS NULL AND skipped_reason IS NULL AND uploaded_at IS NULL "
        f"AND (entry_id IS NULL OR {_LIVE_ENTRY})",
    ),
    ("screenshot_deletion", "screenshots", "deleted_at IS NOT NULL"),
)


def enqueue(session: Session, kind: str, record_id: int, now: datetime) -> None:
    """Queue ``record_id`` of ``kind`` for upload; a queued record stays queued.

    Does nothing while this computer is not signed in to a server. The
    uploader reads the record's state when it sends it, so a record changed
    again before upload goes up once, as it is then.
    """
    session.execute(
        _ENQUEUE,
        {"kind": kind, "record_id": record_id, "created_at": to_millis(now)},
    )


def is_queueing(session: Session) -> bool:
    """Whether records written now are queued for upload."""
    found = session.scalar(select(Meta.key).where(Meta.key == QUEUEING_KEY))
    return found is not None


# When an item of the history comes due, and its attempts. A screenshot
# still in its deletion grace period is held until the grace ends, as
# agent.screenshots holds a new one, so signing in does not send what the
# worker may still delete; held, it was never sent, and counts no attempt (an
# attempt would make "sync now" treat the hold as a backoff and end it). Any
# other item, and a screenshot past its grace, is due at once (NULL).
_IN_GRACE = "taken_at + :grace_ms > :now"
_DUE_AT = {"screenshot": f"CASE WHEN {_IN_GRACE} THEN taken_at + :grace_ms END"}
_ATTEMPTS = {"screenshot": f"CASE WHEN {_IN_GRACE} THEN 0 ELSE :attempts END"}


def start_queueing(
    session: Session,
    now: datetime,
    *,
    maybe_sent: bool = False,
    screenshot_grace: timedelta | None = None,
) -> int:
    """Queue records from now on, and every record written before; returns
    how many items the history added (0 when queueing was on already).

    Call in a write transaction (sign-in). The history goes in with one
    INSERT ... SELECT per table, never row by row. When queueing was on
    before (signed out and in again), what was then sent may be on the server
    already: those items count one attempt, so a target whose inserts are not
    idempotent (ActivityWatch) reads back before sending them; so with
    ``maybe_sent``, which the caller sets when it knows of uploads before.

    A screenshot taken less than ``screenshot_grace`` (the worker's
    ``[screenshots] grace_seconds``; the shipped default when not given) ago
    is not due before its grace ends.
    """
    if is_queueing(session):
        return 0
    stamp = str(to_millis(now))
    before = session.scalar(select(Meta.value).where(Meta.key == EVER_QUEUED_KEY))
    maybe_sent = maybe_sent or before is not None
    attempts = 1 if maybe_sent else 0

    grace = _default_grace() if screenshot_grace is None else screenshot_grace
    values = {
        "now": to_millis(now),
        "attempts": attempts,
        "grace_ms": int(grace.total_seconds() * 1000),
    }
    added = 0
    for kind, table, where in _BACKFILL:
        due = _DUE_AT.get(kind, "NULL")
        tried = _ATTEMPTS.get(kind, ":attempts")
        result = session.execute(
            text(
                "INSERT INTO outbox "
                "(kind, record_id, created_at, attempts, next_attempt_ms) "
                f"SELECT '{kind}', id, :now, {tried}, {due} FROM {table} "
                f"WHERE {where} ON CONFLICT (kind, record_id) DO NOTHING"
            ),
            values,
        )
        added += int(getattr(result, "rowcount", 0) or 0)

    session.merge(Meta(key=QUEUEING_KEY, value=stamp))
    if before is None:
        session.merge(Meta(key=EVER_QUEUED_KEY, value=stamp))
    log.info("records are queued for upload from now on; %d from before", added)
    return added


def _default_grace() -> timedelta:
    return timedelta(seconds=default_settings().screenshots.grace_seconds)


def stop_queueing(session: Session) -> bool:
    """Stop queueing records (sign-out); what waits stays for the next
    sign-in. Returns whether it was on."""
    row = session.get(Meta, QUEUEING_KEY)
    if row is None:
        return False
    session.delete(row)
    log.info("records are no longer queued for upload (signed out)")
    return True
