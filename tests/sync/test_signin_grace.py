"""Signing in during a screenshot's deletion grace does not send it early.

Screenshots taken before sign-in are queued by the sign-in's backfill; one
still in its grace period waits for the grace to end, as a screenshot taken
while signed in does (``agent.screenshots``), so the worker can still delete
it before it leaves the machine.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.cli import main
from agent.clock import ManualClock
from agent.paths import Paths
from agent.store import Store
from agent.store.models import Screenshot, from_millis, to_millis
from agent.store.outbox import start_queueing, stop_queueing
from sync.outbox import Outbox
from tests.sync import servers

GRACE = timedelta(seconds=600)
SETTINGS = f"version = 1\n[screenshots]\ngrace_seconds = {GRACE.seconds}\n"


@pytest.fixture
def local_store(tmp_path: Path) -> Iterator[Store]:
    """A store never signed in (the sync tests' ``store`` is signed in)."""
    opened = Store.open(tmp_path / "local" / "punchclock.db")
    yield opened
    opened.close()


def _shot(store: Store, taken_at: datetime, directory: Path) -> int:
    """A screenshot row and its image, written before sign-in (no outbox)."""
    content = taken_at.isoformat().encode()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{to_millis(taken_at)}.jpg"
    path.write_bytes(content)
    with store.write() as session:
        shot = Screenshot(
            entry_id=None,
            taken_at=taken_at,
            slot_start=taken_at.replace(second=0, microsecond=0),
            monitor=0,
            width=64,
            height=48,
            size_bytes=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            path=str(path),
            blurred=False,
        )
        session.add(shot)
        session.flush()
        return shot.id


def _items(database: Path) -> dict[int, tuple[datetime | None, int]]:
    """Screenshot items: record id -> (next attempt, attempts)."""
    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT record_id, next_attempt_ms, attempts FROM outbox "
            "WHERE kind = 'screenshot'"
        ).fetchall()
    return {
        int(record): (None if due is None else from_millis(due), int(tries))
        for record, due, tries in rows
    }


def _uploaded(database: Path, shot_id: int) -> bool:
    with sqlite3.connect(database) as db:
        (at,) = db.execute(
            "SELECT uploaded_at FROM screenshots WHERE id = ?", (shot_id,)
        ).fetchone()
    return at is not None


def test_login_during_the_grace_holds_the_screenshot_until_the_grace_ends(
    sqlite_reference: servers.RunningServer,
    paths: Paths,
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths.settings_file.write_text(SETTINGS, encoding="utf-8")
    now = datetime.now(UTC).replace(microsecond=0)
    store = Store.open(paths.database)
    # Well inside its 10 minutes whatever the machine's load, and long past.
    fresh = _shot(store, now - timedelta(seconds=30), paths.screenshots_dir)
    old = _shot(store, now - timedelta(hours=2), paths.screenshots_dir)
    store.close()

    url = sqlite_reference.url
    assert main(["sync", "login", url, "--key", servers.ENROLLMENT_KEY]) == 0
    assert "2 record(s) from before the sign-in" in capsys.readouterr().out

    items = _items(paths.database)
    fresh_taken = now - timedelta(seconds=30)
    assert items[fresh] == (fresh_taken + GRACE, 0), "held to the grace's end"
    assert items[old] == (None, 0), "past its grace: due now"

    assert main(["sync", "--once"]) == 0
    capsys.readouterr()
    assert _uploaded(paths.database, old)
    assert not _uploaded(paths.database, fresh), "sent within its grace"
    assert set(_items(paths.database)) == {fresh}


def test_a_second_sign_in_holds_the_shot_even_against_sync_now(
    local_store: Store, tmp_path: Path
) -> None:
    """Signed in again, the history counts one attempt (maybe sent); a shot
    in its grace was never sent, and "sync now" must not end its hold."""
    store = local_store
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with store.write() as session:
        start_queueing(session, clock.now(), screenshot_grace=GRACE)
        stop_queueing(session)
    clock.advance(3600)
    held = _shot(store, clock.now() - timedelta(seconds=599), tmp_path)
    due = _shot(store, clock.now() - GRACE, tmp_path)
    with store.write() as session:
        assert start_queueing(session, clock.now(), screenshot_grace=GRACE) == 2

    items = _items(store.path)
    assert items[held] == (clock.now() + timedelta(seconds=1), 0)
    assert items[due] == (None, 1), "the grace ends as it is taken: due"
    Outbox(store).retry_now()
    assert _items(store.path)[held] == (clock.now() + timedelta(seconds=1), 0)


def test_without_a_grace_given_the_shipped_default_holds(
    local_store: Store,
) -> None:
    store = local_store
    clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    shot = _shot(store, clock.now(), store.path.parent / "shots")
    with store.write() as session:
        start_queueing(session, clock.now())
    assert _items(store.path)[shot] == (clock.now() + timedelta(seconds=300), 0)
