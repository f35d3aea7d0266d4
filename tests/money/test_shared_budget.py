"""A budget on a project several workers share counts everyone's time: the
reference server pushes the other agents' usage with the projects, and the
budget adds it (two real stores, a real server on loopback)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.cli import main
from agent.paths import Paths
from tests.sync import servers
from tests.sync.conftest import sqlite_reference  # noqa: F401 (a fixture)
from tests.sync.test_pushed import put_setting

BUDGET = """
[general]
time_zone = "UTC"

[[budgets.budget]]
project = "Acme"
hours = 20
"""


def _worker(
    home: Path,
    url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Paths:
    """A worker's own store and settings, signed in to ``url``."""
    home.mkdir()
    monkeypatch.setenv("PUNCHCLOCK_HOME", str(home))
    paths = Paths.under(home)
    paths.ensure()
    assert main(["sync", "login", url, "--key", servers.ENROLLMENT_KEY]) == 0
    paths.settings_file.write_text(paths.settings_file.read_text() + BUDGET)
    capsys.readouterr()
    return paths


def _add(start: str, duration: str, *task: str) -> None:
    argv = ["entries", "add", "Acme", "--start", start, "--duration", duration]
    assert main([*argv, *task]) == 0


def _used_hours(capsys: pytest.CaptureFixture[str]) -> float:
    capsys.readouterr()
    assert main(["budgets", "--format", "json"]) == 0
    (budget,) = json.loads(capsys.readouterr().out)["budgets"]
    return float(budget["used"])


def test_a_shared_projects_hours_budget_adds_the_other_workers_time(
    sqlite_reference: servers.RunningServer,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    put_setting(sqlite_reference, "projects", [{"name": "Acme", "tasks": []}])
    recent = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%d")

    # Another worker: 2 h long ago (before the server's hourly window) and
    # 1:30 h three days ago; one entry deleted, which never counts.
    _worker(tmp_path / "other", sqlite_reference.url, monkeypatch, capsys)
    assert main(["sync", "--once"]) == 0  # Acme arrives
    _add("2026-03-16 09:00", "2h")
    _add(f"{recent} 09:00", "1h30m")
    _add(f"{recent} 14:00", "4h")
    capsys.readouterr()
    assert main(["entries", "list", "--from", recent, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    deleted = max(listed, key=lambda e: e["end"])["id"]
    assert main(["entries", "delete", str(deleted)]) == 0
    assert main(["sync", "--once"]) == 0

    # This worker: 1 h of its own. Before a sync it knows only its own time.
    _worker(tmp_path / "mine", sqlite_reference.url, monkeypatch, capsys)
    assert main(["projects", "add", "Acme"]) == 0
    _add(f"{recent} 10:00", "1h")
    assert _used_hours(capsys) == 1.0

    assert main(["sync", "--once"]) == 0

    # 1 h here + 2 h + 1:30 h there; its own time is not counted twice.
    assert _used_hours(capsys) == 4.5
    assert main(["sync", "--once"]) == 0
    assert _used_hours(capsys) == 4.5
