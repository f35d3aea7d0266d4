"""The outbox before and after sign-in: local history stays local until then,
and goes up whole, once, after it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from agent.clock import ManualClock
from agent.projects import Projects
from agent.store import Store
from agent.store.models import Entry, OutboxItem, Screenshot, Span
from agent.store.outbox import is_queueing, start_queueing, stop_queueing
from agent.timer import Timer
from sync.targets.punchclock import PunchclockTarget
from tests.sync import servers
from tests.sync.conftest import make_uploader, sign_in
from tests.sync.day import DAY, write_day


@pytest.fixture
def local_store(tmp_path: Path) -> Iterator[Store]:
    """A store never signed in (the sync tests' ``store`` is signed in)."""
    opened = Store.open(tmp_path / "local" / "punchclock.db")
    yield opened
    opened.close()


def _queued(store: Store) -> Counter[str]:
    with store.read() as session:
        rows = session.execute(
            select(OutboxItem.kind, func.count()).group_by(OutboxItem.kind)
        ).all()
    return Counter({kind: count for kind, count in rows})


def test_a_day_written_before_sign_in_is_queued_whole_at_sign_in_and_goes_up(
    sqlite_reference: servers.RunningServer, local_store: Store, tmp_path: Path
) -> None:
    shots = tmp_path / "shots"
    day = write_day(local_store, spans=200, screenshots=4, screenshots_dir=shots)
    assert _queued(local_store) == Counter(), "nothing queued before sign-in"

    # A deleted entry never reached a server: its deletion is nothing to tell
    # one. A deleted screenshot's image stays here; its audit goes up.
    with local_store.write() as session:
        deleted = session.get(Entry, day.entry_ids[-1])
        assert deleted is not None
        deleted.deleted_at = deleted.start + timedelta(days=1)
        shot = session.scalars(select(Screenshot)).first()
        assert shot is not None
        shot.deleted_at = shot.taken_at
        shot.deleted_by = "worker"
    spans_of_deleted = _spans_of(local_store, deleted.id)

    clock = ManualClock(DAY + timedelta(days=1))
    with local_store.write() as session:
        added = start_queueing(session, clock.now())
    expected = Counter(day.counts)
    expected["entry"] -= 1
    expected["span"] -= spans_of_deleted
    expected["screenshot"] -= 1
    expected["screenshot_deletion"] += 1
    assert _queued(local_store) == +expected
    assert added == expected.total()

    with local_store.write() as session:
        assert start_queueing(session, clock.now()) == 0, "on already: no-op"

    token = sign_in(sqlite_reference.url, local_store)
    target = PunchclockTarget(sqlite_reference.url, token)
    uploader = make_uploader(local_store, target, clock, tmp_path)
    report = uploader.run()
    assert report.error is None
    assert report.stored == expected.total() - expected["screenshot"]
    assert report.screenshots == expected["screenshot"]
    assert _queued(local_store) == Counter()


def test_signed_out_nothing_is_queued_and_what_waits_stays(
    local_store: Store,
) -> None:
    clock = ManualClock(DAY)
    with local_store.write() as session:
        start_queueing(session, clock.now())
    day = write_day(local_store, spans=10)
    waiting = _queued(local_store)
    assert waiting == Counter(day.counts)

    with local_store.write() as session:
        assert stop_queueing(session)
        assert not is_queueing(session)
    Projects(local_store, clock).add("Written signed out", ["A task"])
    timer = Timer(local_store, clock)
    timer.start("Written signed out", "A task")
    clock.advance(60)
    timer.stop()
    assert _queued(local_store) == waiting


def _spans_of(store: Store, entry_id: int) -> int:
    with store.read() as session:
        count = session.scalar(
            select(func.count()).select_from(Span).where(Span.entry_id == entry_id)
        )
    return int(count or 0)
