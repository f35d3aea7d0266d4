"""What the worker sees when things go wrong: one line, never a traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agent.clock import ManualClock
from agent.paths import Paths
from agent.projects import Projects
from agent.store import Store
from agent.timer import Timer


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.posix
@pytest.mark.skipif(
    os.name == "posix" and os.geteuid() == 0,
    reason="root writes through read-only modes",
)
def test_a_read_only_data_folder_is_one_line(punchclock_home: Path) -> None:
    assert _cli("projects", "add", "Acme").returncode == 0
    data = Paths.from_env().data_dir
    for path in [data, *data.iterdir()]:
        path.chmod(0o500 if path.is_dir() else 0o400)
    try:
        line = _one_line_error(_cli("start", "Acme"))
    finally:
        for path in [data, *data.iterdir()]:
            path.chmod(0o700 if path.is_dir() else 0o600)
    assert line.startswith("punchclock: ")


def test_an_os_error_at_the_boundary_is_one_line(punchclock_home: Path) -> None:
    # A file where the data folder should be: every command that opens the
    # store meets the file system's refusal.
    (punchclock_home / "data").write_text("not a folder")

    line = _one_line_error(_cli("projects", "list"))

    assert "cannot use" in line
    assert "punchclock doctor" in line


@pytest.mark.parametrize("day", ["1900-01-01", "9999-12-31"])
def test_dates_far_outside_any_work_are_refused(day: str) -> None:
    line = _one_line_error(_cli("report", "--from", "2026-01-01", "--to", day))

    assert "out of range" in line


def test_a_damaged_database_is_said_and_kept_aside(punchclock_home: Path) -> None:
    assert _cli("projects", "add", "Acme").returncode == 0
    database = Paths.from_env().database
    database.write_bytes(os.urandom(8192))

    result = _cli("status")

    assert result.returncode == 0
    assert "the database was damaged" in result.stderr
    assert ".recover" in result.stderr
    aside = list(database.parent.glob("punchclock.db.corrupt-*"))
    assert len([path for path in aside if path.suffix not in ("-wal", "-shm")]) >= 1


def test_status_says_when_a_dead_agents_timer_was_closed(
    punchclock_home: Path,
) -> None:
    paths = Paths.from_env()
    paths.ensure()
    store = Store.open(paths.database)
    clock = ManualClock()
    Projects(store, clock).add("Acme")
    # What a killed agent leaves: a running entry with a last flush.
    Timer(store, clock).start("Acme", tracked=True)
    clock.advance(30)
    Timer(store, clock).flush()
    store.close()

    result = _cli("status")

    assert result.returncode == 0
    assert "the agent stopped unexpectedly" in result.stderr
    assert "'Acme'" in result.stderr
    with sqlite3.connect(paths.database) as conn:
        [(open_entries,)] = conn.execute(
            "SELECT COUNT(*) FROM entries WHERE end_ms IS NULL"
        ).fetchall()
    assert open_entries == 0


def test_a_local_time_that_happens_twice_asks_which(punchclock_home: Path) -> None:
    assert _cli("projects", "add", "Acme").returncode == 0
    args = ["entries", "add", "Acme", "--duration", "30m", "--tz", "Europe/Berlin"]

    line = _one_line_error(_cli(*args, "--start", "2026-10-25 02:30"))
    assert "happens twice" in line
    assert "'2026-10-25 02:30+02:00' or '2026-10-25 02:30+01:00'" in line

    chosen = _cli(*args, "--start", "2026-10-25 02:30+01:00")
    assert chosen.returncode == 0, chosen.stderr
    assert "02:30–03:00" in chosen.stdout


def test_a_bundle_into_a_missing_folder_is_refused(
    punchclock_home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "no-such-folder" / "bundle.zip"

    line = _one_line_error(_cli("export", "--bundle", "-o", str(target)))

    assert "there is no folder" in line
    assert not target.parent.exists()
