"""The store shared by processes: WAL, locks waited out, no lost records, 0600."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from agent.clock import ManualClock
from agent.errors import StoreBusyError
from agent.paths import Paths
from agent.projects import Projects
from agent.store import Store
from agent.store import engine as engines
from agent.store.models import Entry, Meta, Project
from agent.timer import Timer

PYTHON = sys.executable
PUNCHCLOCK = str(Path(sys.executable).with_name("punchclock"))

# A writer in its own process: PROJECTS projects, each with a manual entry on
# the writer's own day, so the two writers' entries never overlap.
WRITER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path

    from agent.clock import SystemClock
    from agent.projects import Projects
    from agent.store import Store
    from agent.timer import Timer

    path, tag, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    day = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(days=int(sys.argv[4]))
    print("ready", flush=True)
    sys.stdin.readline()

    store = Store.open(path)
    clock = SystemClock()
    projects, timer = Projects(store, clock), Timer(store, clock)
    for index in range(count):
        name = f"{tag}-{index}"
        projects.add(name)
        start = day + timedelta(minutes=10 * index)
        timer.add(name, start, start + timedelta(minutes=5))
    store.close()
    print("done", flush=True)
    """
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "store.db")
    yield opened
    opened.close()


def _spawn_writer(path: Path, tag: str, count: int, day: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [PYTHON, "-c", WRITER, str(path), tag, str(count), str(day)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


def _finish(proc: subprocess.Popen[str]) -> None:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == "done"
    assert "Traceback" not in err


def _counts(path: Path) -> tuple[int, int]:
    with sqlite3.connect(path) as conn:
        projects = conn.execute("SELECT count(*) FROM projects").fetchone()[0]
        entries = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    return projects, entries


@pytest.mark.posix
def test_files_are_owner_only(store: Store) -> None:
    Projects(store, ManualClock()).add("Acme")

    for suffix in ("", "-wal", "-shm"):
        file = Path(f"{store.path}{suffix}")
        assert file.exists(), file
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


@pytest.mark.posix
def test_file_made_by_the_cli_is_owner_only(punchclock_home: Path) -> None:
    done = subprocess.run(
        [PUNCHCLOCK, "projects", "add", "Acme"], capture_output=True, text=True
    )

    assert done.returncode == 0, done.stderr
    database = Paths.from_env().database
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE(database.parent.stat().st_mode) & 0o077 == 0


def test_wal_mode_and_foreign_keys(store: Store) -> None:
    with store.read() as session:
        mode = session.connection().exec_driver_sql("PRAGMA journal_mode").scalar()
        keys = session.connection().exec_driver_sql("PRAGMA foreign_keys").scalar()
        timeout = session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar()

    assert mode == "wal"
    assert keys == 1
    assert timeout == engines.BUSY_TIMEOUT_MS


def test_foreign_keys_are_enforced(store: Store) -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    orphan = Entry(project_id=12345, start=now, end=now, updated_at=now)

    with pytest.raises(IntegrityError), store.write() as session:
        session.add(orphan)

    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(Entry)) == 0


def test_store_has_an_id_that_survives_reopening(tmp_path: Path) -> None:
    first = Store.open(tmp_path / "store.db")
    store_id = first.store_id
    first.close()

    again = Store.open(tmp_path / "store.db")
    assert again.store_id == store_id
    assert again.integrity_check() == []
    again.close()


def test_data_version_changes_when_another_connection_commits(
    store: Store, tmp_path: Path
) -> None:
    before = store.data_version()
    other = Store.open(store.path)
    Projects(other, ManualClock()).add("Acme")
    other.close()

    assert store.data_version() != before


def test_failed_write_leaves_nothing_behind(store: Store) -> None:
    def write_then_fail() -> None:
        with store.write() as session:
            session.add(Meta(key="half", value="written"))
            session.flush()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_then_fail()

    assert store.meta("half") is None


@pytest.mark.slow
def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    # Both start on a file that does not exist yet: creation and migration
    # race too.
    path = tmp_path / "shared.db"
    writers = [_spawn_writer(path, tag, 40, day) for day, tag in enumerate("ab")]
    for proc in writers:
        _go(proc)
    for proc in writers:
        _finish(proc)

    assert _counts(path) == (80, 80)
    store = Store.open(path)
    assert store.integrity_check() == []
    with store.read() as session:
        names = set(session.scalars(select(Project.name)))
    store.close()
    assert names == {f"{tag}-{i}" for tag in "ab" for i in range(40)}


@pytest.mark.slow
def test_held_write_lock_is_waited_out(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    Store.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO meta (key, value) VALUES ('holder', 'was here')")

    writer = _spawn_writer(path, "w", 3, 0)
    _go(writer)
    # While the lock is held the writer can only wait.
    with pytest.raises(subprocess.TimeoutExpired):
        writer.wait(timeout=2.5)
    holder.execute("COMMIT")
    holder.close()
    _finish(writer)

    assert _counts(path) == (3, 3)
    store = Store.open(path)
    assert store.meta("holder") == "was here"
    store.close()


def test_lock_held_beyond_patience_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engines, "BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr("agent.store.WRITE_PATIENCE_S", 0.3)
    path = tmp_path / "shared.db"
    store = Store.open(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    try:
        with pytest.raises(StoreBusyError, match="locked"):
            Projects(store, ManualClock()).add("Acme")
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    # Once the lock is gone the same store writes again.
    Projects(store, ManualClock()).add("Acme")
    assert [p.name for p in Projects(store, ManualClock()).all()] == ["Acme"]
    store.close()


def test_readers_are_not_blocked_by_a_held_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    store = Store.open(path)
    clock = ManualClock()
    Projects(store, clock).add("Acme")
    Timer(store, clock).start("Acme")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE entries SET note = 'uncommitted'")

    try:
        current = Timer(store, clock).current()
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert current is not None
    assert current.project == "Acme"
    assert current.note is None
    store.close()


@pytest.mark.slow
@pytest.mark.posix
def test_cli_works_while_the_agent_runs(punchclock_home: Path) -> None:
    env = {**os.environ, "PUNCHCLOCK_HOME": str(punchclock_home)}
    paths = Paths.from_env()
    agent = subprocess.Popen(
        [PUNCHCLOCK, "agent"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_log(paths, "headless agent running", agent)
        cli = [PUNCHCLOCK, "start", "Acme", "--create", "--task", "Design"]
        done = subprocess.run(cli, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr

        # BRIEF: a running agent reflects the CLI within two seconds.
        _wait_for_log(paths, "running entry: 'Acme'", agent, within=2.0)

        status = subprocess.run(
            [PUNCHCLOCK, "status"], env=env, capture_output=True, text=True
        )
        assert status.returncode == 0, status.stderr
        assert "Running: Acme / Design" in status.stdout
        assert "No agent is running" not in status.stdout

        stop = subprocess.run(
            [PUNCHCLOCK, "stop"], env=env, capture_output=True, text=True
        )
        assert stop.returncode == 0, stop.stderr
        _wait_for_log(paths, "running entry: none", agent, within=2.0)
    finally:
        agent.terminate()
        _, err = agent.communicate(timeout=15)
    assert agent.returncode == 0, err
    assert "Traceback" not in err


def _wait_for_log(
    paths: Paths,
    needle: str,
    proc: subprocess.Popen[str],
    within: float = 20.0,
) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if paths.log_file.exists() and needle in paths.log_file.read_text():
            return
        assert proc.poll() is None, "the agent exited early"
        time.sleep(0.05)
    log = paths.log_file.read_text() if paths.log_file.exists() else ""
    pytest.fail(f"{needle!r} not logged within {within} s:\n{log[-2000:]}")


def test_entries_outlive_a_reopen(tmp_path: Path) -> None:
    clock = ManualClock()
    store = Store.open(tmp_path / "store.db")
    Projects(store, clock).add("Acme")
    start = clock.now() - timedelta(hours=2)
    added = Timer(store, clock).add("Acme", start, start + timedelta(hours=1))
    store.close()

    again = Store.open(tmp_path / "store.db")
    assert Timer(again, clock).get(added.id) == added
    again.close()
