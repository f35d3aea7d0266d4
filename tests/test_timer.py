"""The timer's state changes and manual entries, on a real store."""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError

from agent.clock import ManualClock
from agent.errors import ConflictError, NotFoundError, UserError
from agent.projects import Projects
from agent.reporting import collect_report
from agent.store import Store
from agent.store.models import Entry, OutboxItem
from agent.timer import MAX_NOTE, Timer
from tests.sync.queueing import queue_uploads

UTC_ZONE = ZoneInfo("UTC")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=UTC))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "store.db")
    yield opened
    opened.close()


@pytest.fixture
def timer(store: Store, clock: ManualClock) -> Timer:
    projects = Projects(store, clock)
    projects.add("Acme", ["Design", "Build"])
    projects.add("Globex")
    projects.add("Old")
    projects.archive("Old")
    return Timer(store, clock)


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, 5, hour, minute, tzinfo=UTC)


def _running_rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(
            conn.execute(
                "SELECT count(*) FROM entries WHERE end_ms IS NULL "
                "AND deleted_at IS NULL"
            ).fetchone()[0]
        )


# Clocking in and out


def test_start_opens_a_running_entry(timer: Timer, clock: ManualClock) -> None:
    entry = timer.start("acme", task="design", note="  kickoff  ")

    assert entry.running
    assert (entry.project, entry.task, entry.note) == ("Acme", "Design", "kickoff")
    assert entry.start == clock.now()
    assert entry.source == "timer"
    assert timer.current() == entry


def test_switch_closes_the_previous_entry_at_the_same_instant(
    timer: Timer, clock: ManualClock
) -> None:
    first = timer.start("Acme")
    clock.advance(1234.567)

    second = timer.start("Globex")

    closed = timer.get(first.id)
    assert closed.end == second.start
    assert closed.end == clock.now()
    assert closed.seconds(clock.now()) == pytest.approx(1234.567, abs=0.001)
    assert timer.current() == second


def test_stop_closes_the_running_entry(timer: Timer, clock: ManualClock) -> None:
    started = timer.start("Acme")
    clock.advance(600)

    stopped = timer.stop()

    assert stopped is not None
    assert stopped.id == started.id
    assert stopped.end == clock.now()
    assert stopped.seconds(clock.now()) == 600
    assert timer.current() is None


def test_stop_when_stopped_does_nothing(timer: Timer, store: Store) -> None:
    assert timer.stop() is None
    assert timer.stop() is None
    assert _running_rows(store.path) == 0


def test_start_on_unknown_project_says_how_to_add_it(timer: Timer) -> None:
    with pytest.raises(NotFoundError) as error:
        timer.start("Initech")

    assert "no project named 'Initech'" in str(error.value)
    assert "punchclock projects add Initech" in str(error.value)
    assert timer.current() is None


def test_start_on_archived_project_is_refused(timer: Timer) -> None:
    with pytest.raises(UserError, match="'Old' is archived"):
        timer.start("Old")
    assert timer.current() is None


def test_start_on_unknown_task_says_how_to_add_it(timer: Timer) -> None:
    with pytest.raises(NotFoundError) as error:
        timer.start("Acme", task="Testing")

    assert "has no task named 'Testing'" in str(error.value)
    assert "--task Testing" in str(error.value)


def test_refused_start_leaves_the_running_entry_alone(timer: Timer) -> None:
    running = timer.start("Acme")

    with pytest.raises(NotFoundError):
        timer.start("Initech")

    assert timer.current() == running


def test_notes_are_trimmed_limited_and_settable(timer: Timer) -> None:
    timer.start("Acme", note="first")

    assert timer.set_note("  second  ").note == "second"
    assert timer.set_note("   ").note is None
    with pytest.raises(UserError, match="at most"):
        timer.set_note("x" * (MAX_NOTE + 1))


def test_note_needs_a_running_timer(timer: Timer) -> None:
    with pytest.raises(UserError, match="no timer is running"):
        timer.set_note("hello")


def test_changes_are_queued_for_upload_once(timer: Timer, store: Store) -> None:
    queue_uploads(store)
    entry = timer.start("Acme")
    timer.set_note("a")
    timer.stop()

    with store.read() as session:
        queued = session.query(OutboxItem).filter_by(kind="entry").all()
    assert [item.record_id for item in queued] == [entry.id]


# One running entry


def test_one_running_entry_across_two_timers(
    store: Store, timer: Timer, clock: ManualClock
) -> None:
    other_store = Store.open(store.path)
    other = Timer(other_store, clock)

    first = timer.start("Acme")
    clock.advance(60)
    second = other.start("Globex")
    clock.advance(60)
    third = timer.start("Acme", task="Build")

    assert _running_rows(store.path) == 1
    assert timer.get(first.id).end == second.start
    assert other.get(second.id).end == third.start
    assert other.current() == third
    other_store.close()


def test_schema_refuses_a_second_running_entry(
    store: Store, timer: Timer, clock: ManualClock
) -> None:
    running = timer.start("Acme")

    with pytest.raises(IntegrityError), store.write() as session:
        session.add(
            Entry(
                project_id=session.get(Entry, running.id).project_id,  # type: ignore[union-attr]
                start=clock.now(),
                updated_at=clock.now(),
            )
        )

    assert _running_rows(store.path) == 1


RACER = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from agent.clock import SystemClock
    from agent.store import Store
    from agent.timer import Timer

    store = Store.open(Path(sys.argv[1]))
    timer = Timer(store, SystemClock())
    sys.stdin.readline()
    for index in range(25):
        timer.start(sys.argv[2 + index % 2])
    store.close()
    """
)


@pytest.mark.slow
def test_one_running_entry_across_racing_processes(store: Store, timer: Timer) -> None:
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(store.path), *names],
            stdin=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for names in (("Acme", "Globex"), ("Globex", "Acme"))
    ]
    for racer in racers:
        assert racer.stdin is not None
        racer.stdin.write("go\n")
        racer.stdin.flush()
    for racer in racers:
        _, err = racer.communicate(timeout=60)
        assert racer.returncode == 0, err

    assert _running_rows(store.path) == 1
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute(
            "SELECT start_ms, end_ms FROM entries ORDER BY start_ms, end_ms IS NULL"
        ).fetchall()
    assert len(rows) == 50
    # Each start closed the previous entry at its own instant: a chain with
    # no overlap and no negative duration.
    for (start, end), (next_start, _) in itertools.pairwise(rows):
        assert start <= end == next_start


# Manual entries


def test_add_manual_entry(timer: Timer, clock: ManualClock) -> None:
    clock.advance(8 * 3600)

    added = timer.add("Acme", _at(9), _at(10, 30), task="Build", note="design review")

    assert added.source == "manual"
    assert (added.start, added.end) == (_at(9), _at(10, 30))
    assert added.task == "Build"
    assert [e.id for e in timer.entries(_at(0), _at(23))] == [added.id]


def test_add_refuses_overlap_with_a_stored_entry(
    timer: Timer, clock: ManualClock
) -> None:
    clock.advance(8 * 3600)
    kept = timer.add("Acme", _at(10), _at(11))

    for start, end in [
        (_at(9, 30), _at(10, 1)),
        (_at(10, 59), _at(12)),
        (_at(10, 15), _at(10, 45)),
        (_at(9), _at(12)),
    ]:
        with pytest.raises(ConflictError, match=f"overlaps entry {kept.id}"):
            timer.add("Globex", start, end)

    # Touching edges are not an overlap.
    timer.add("Globex", _at(9), _at(10))
    timer.add("Globex", _at(11), _at(12))
    assert len(timer.entries(_at(0), _at(23))) == 3


def test_add_refuses_overlap_with_the_running_entry(
    timer: Timer, clock: ManualClock
) -> None:
    running = timer.start("Acme")
    clock.advance(3600)

    with pytest.raises(ConflictError, match=rf"overlaps entry {running.id}.*now"):
        timer.add("Globex", _at(9, 30), _at(9, 45))
    with pytest.raises(ConflictError):
        timer.add("Globex", _at(8), _at(9, 1))

    timer.add("Globex", _at(8), _at(9))


def test_add_refuses_future_negative_and_too_long(
    timer: Timer, clock: ManualClock
) -> None:
    now = clock.now()
    cases = [
        (now - timedelta(hours=1), now + timedelta(minutes=5), "future"),
        (now - timedelta(hours=1), now - timedelta(hours=2), "end after it starts"),
        (now - timedelta(hours=1), now - timedelta(hours=1), "end after it starts"),
        (now - timedelta(days=8), now - timedelta(hours=1), "longer than 7 days"),
    ]
    for start, end, message in cases:
        with pytest.raises(UserError, match=message):
            timer.add("Acme", start, end)

    with pytest.raises(UserError, match="time zone"):
        timer.add("Acme", datetime(2026, 1, 5, 7), datetime(2026, 1, 5, 8))
    assert timer.entries(now - timedelta(days=30), now) == []


def test_add_on_unknown_project_or_task_is_refused(timer: Timer) -> None:
    with pytest.raises(NotFoundError, match="no project named"):
        timer.add("Initech", _at(7), _at(8))
    with pytest.raises(NotFoundError, match="no task named"):
        timer.add("Acme", _at(7), _at(8), task="Nope")


def test_edit_times_project_and_note(timer: Timer, clock: ManualClock) -> None:
    clock.advance(8 * 3600)
    entry = timer.add("Acme", _at(9), _at(10), task="Design")

    edited = timer.edit(entry.id, start=_at(8, 30), end=_at(9, 45), note="moved")
    assert (edited.start, edited.end, edited.note) == (_at(8, 30), _at(9, 45), "moved")
    assert edited.task == "Design"

    moved = timer.edit(entry.id, project="Globex")
    assert (moved.project, moved.task) == ("Globex", None)

    tasked = timer.edit(entry.id, project="Acme", task="Build")
    assert (tasked.project, tasked.task) == ("Acme", "Build")


def test_edit_refuses_overlap_but_not_with_itself(
    timer: Timer, clock: ManualClock
) -> None:
    clock.advance(8 * 3600)
    first = timer.add("Acme", _at(9), _at(10))
    second = timer.add("Acme", _at(11), _at(12))

    timer.edit(second.id, start=_at(10, 30))
    with pytest.raises(ConflictError, match=f"overlaps entry {first.id}"):
        timer.edit(second.id, start=_at(9, 59))
    with pytest.raises(UserError, match="end after it starts"):
        timer.edit(second.id, end=_at(10))
    assert timer.get(second.id).start == _at(10, 30)


def test_edit_running_entry(timer: Timer, clock: ManualClock) -> None:
    running = timer.start("Acme")
    clock.advance(600)

    with pytest.raises(UserError, match="stop it"):
        timer.edit(running.id, end=clock.now())
    with pytest.raises(UserError, match="future"):
        timer.edit(running.id, start=clock.now() + timedelta(minutes=1))

    moved = timer.edit(running.id, start=_at(8, 50))
    assert moved.start == _at(8, 50)
    assert moved.running


def test_delete_excludes_the_entry_everywhere(
    timer: Timer, store: Store, clock: ManualClock
) -> None:
    clock.advance(8 * 3600)
    kept = timer.add("Acme", _at(9), _at(10))
    gone = timer.add("Globex", _at(10), _at(12))

    timer.delete(gone.id)

    assert [e.id for e in timer.entries(_at(0), _at(23))] == [kept.id]
    day = _at(0).date()
    report = collect_report(store, "project", UTC_ZONE, day, day, clock.now())
    assert report.total_seconds == 3600
    assert [row.key for row in report.rows] == ["Acme"]
    with pytest.raises(NotFoundError, match=f"no entry with id {gone.id}"):
        timer.get(gone.id)
    with pytest.raises(NotFoundError):
        timer.delete(gone.id)
    # Its time is free again.
    timer.add("Globex", _at(10), _at(12))


def test_delete_running_entry_is_refused(timer: Timer) -> None:
    running = timer.start("Acme")

    with pytest.raises(UserError, match="stop it first"):
        timer.delete(running.id)
    assert timer.current() == running


def test_deleted_entry_is_queued_as_a_tombstone(
    timer: Timer, store: Store, clock: ManualClock
) -> None:
    queue_uploads(store)
    clock.advance(8 * 3600)
    entry = timer.add("Acme", _at(9), _at(10))
    timer.delete(entry.id)

    with store.read() as session:
        row = session.get(Entry, entry.id)
        queued = session.query(OutboxItem).filter_by(record_id=entry.id).count()
    assert row is not None
    assert row.deleted_at == clock.now()
    assert queued == 1


# Flush and recovery


def test_recover_closes_at_the_last_flush(timer: Timer, clock: ManualClock) -> None:
    entry = timer.start("Acme")
    clock.advance(5)
    timer.flush()
    flushed = clock.now()
    clock.advance(3 * 3600)

    recovered = timer.recover()

    assert recovered is not None
    assert recovered.id == entry.id
    assert recovered.end == flushed
    assert timer.current() is None


def test_recover_leaves_an_unflushed_entry_running(timer: Timer) -> None:
    running = timer.start("Acme")

    assert timer.recover() is None
    assert timer.current() == running


def test_flush_with_nothing_running(timer: Timer) -> None:
    assert timer.flush() is None
    assert timer.recover() is None
