"""The command-line contract of BRIEF.md: commands, errors, JSON shapes."""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent import __version__
from agent.cli import build_parser, main

PUNCHCLOCK = str(Path(sys.executable).with_name("punchclock"))

COMMANDS = [
    [],
    ["agent"],
    ["start"],
    ["stop"],
    ["status"],
    ["projects"],
    ["projects", "list"],
    ["projects", "add"],
    ["projects", "archive"],
    ["entries"],
    ["entries", "list"],
    ["entries", "add"],
    ["entries", "edit"],
    ["entries", "delete"],
    ["break"],
    ["report"],
    ["timeline"],
    ["export"],
    ["sync"],
    ["doctor"],
    ["consent"],
    ["consent", "show"],
    ["budgets"],
    ["limits"],
    ["value"],
    ["screenshots"],
    ["screenshots", "list"],
    ["screenshots", "delete"],
]


def _not_yet_commands() -> list[str]:
    """The commands whose help says they are not built yet."""
    parser = build_parser()
    [commands] = [
        action
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    return [
        choice.dest
        for choice in commands._choices_actions
        if "(not yet available)" in (choice.help or "")
    ]


# As BRIEF writes them; options a later issue will define must not turn the
# one-line answer into a usage error.
NOT_YET_ARGS = [[], ["start"], ["--once"], ["--status"], ["2026-01-05", "--x", "y"]]
NOT_YET = [[name, *rest] for name in _not_yet_commands() for rest in NOT_YET_ARGS]

# A past weekday far enough back that nothing is "in the future".
DAY = date(2025, 6, 2)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    return json.loads(out)


def _console(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PUNCHCLOCK, *argv], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "(none)")
def test_every_command_has_help(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])

    out, _ = capsys.readouterr()
    assert exit_.value.code == 0
    assert out.startswith(f"usage: punchclock {' '.join(command)}".rstrip())


def test_every_command_of_the_parser_is_in_the_help_list() -> None:
    parser = build_parser()
    [commands] = [
        action
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    listed = {tuple(command[:1]) for command in COMMANDS if command}

    assert {(name,) for name in commands.choices} <= listed


@pytest.mark.parametrize("command", NOT_YET, ids=" ".join)
def test_commands_not_built_yet_say_so(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, *command)

    assert code != 0
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "not in this version yet" in err


@pytest.mark.skipif(
    importlib.util.find_spec("ui.app") is not None, reason="the tray app exists"
)
def test_bare_punchclock_without_the_tray_says_so() -> None:
    done = _console()

    assert done.returncode != 0
    assert done.stdout == ""
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("punchclock: the tray app")
    assert "punchclock agent" in line


def test_version() -> None:
    done = _console("--version")

    assert done.returncode == 0
    assert done.stdout.strip() == f"punchclock {__version__}"


def test_user_errors_print_one_line_and_no_traceback() -> None:
    cases = [
        ("start", "Nope"),
        ("report", "--tz", "Mars/Olympus_Mons"),
        ("entries", "add", "Nope", "--start", "yesterday-ish", "--duration", "1h"),
    ]
    for argv in cases:
        done = _console(*argv)
        assert done.returncode not in (0, 1), (argv, done.stderr)
        assert "Traceback" not in done.stderr, argv
        [line] = done.stderr.strip().splitlines()
        assert line.startswith("punchclock: "), argv


@pytest.mark.parametrize(
    "argv",
    [
        ["entries", "delete", "12345"],
        ["report", "--from", "last tuesday"],
        ["projects", "add", "   "],
        ["entries", "edit", "1", "--start", "25:99"],
        ["report", "--from", "2026-01-05", "--to", "2026-01-01"],
    ],
    ids=" ".join,
)
def test_user_errors_in_process(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, *argv)

    assert code == 2
    assert out == ""
    [line] = err.strip().splitlines()
    assert line.startswith("punchclock: ")


def test_start_stop_and_status(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "start", "Acme", "--create", "--task", "Design")
    assert code == 0
    assert out.startswith("Clocked in on Acme / Design at ")

    code, out, _ = _run(capsys, "status")
    assert code == 0
    assert out.startswith("Running: Acme / Design since ")
    assert "No agent is running" in out

    code, out, _ = _run(capsys, "stop")
    assert (code, out.startswith("Clocked out of Acme after ")) == (0, True)
    code, out, _ = _run(capsys, "stop")
    assert (code, out) == (0, "No timer was running.\n")


def test_status_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    stopped = _json(capsys, "status", "--json")
    assert stopped == {
        "state": "stopped",
        "project": None,
        "task": None,
        "since": None,
        "today_seconds": 0,
    }

    _run(capsys, "start", "Acme", "--create", "-t", "Design")
    running = _json(capsys, "status", "--json")
    assert list(running) == ["state", "project", "task", "since", "today_seconds"]
    assert (running["state"], running["project"], running["task"]) == (
        "running",
        "Acme",
        "Design",
    )
    since = datetime.fromisoformat(running["since"])
    assert since.tzinfo is not None
    assert abs(datetime.now(UTC) - since) < timedelta(minutes=5)
    assert isinstance(running["today_seconds"], int)
    assert running["today_seconds"] >= 0


def _add(capsys: pytest.CaptureFixture[str], *argv: str) -> int:
    code, out, err = _run(capsys, "entries", "add", *argv)
    assert code == 0, err
    assert out.startswith("Added entry ")
    return int(out.split()[2].rstrip(":"))


def test_report_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "projects", "add", "Acme", "-t", "Design")
    _run(capsys, "projects", "add", "Globex")
    _add(capsys, "Acme", "-s", f"{DAY} 09:00", "-d", "1h", "-t", "Design", "--tz=UTC")
    _add(capsys, "Globex", "-s", f"{DAY} 11:00", "-d", "2h30m", "--tz", "UTC")
    _add(capsys, "Acme", "-s", f"{DAY} 14:00", "-e", f"{DAY} 14:45", "--tz", "UTC")

    report = _json(
        capsys, "report", "--from", str(DAY), "--tz", "UTC", "--format", "json"
    )

    assert report == {
        "from": str(DAY),
        "to": str(DAY),
        "by": "project",
        "tz": "UTC",
        "total_seconds": 4 * 3600 + 15 * 60,
        "rows": [
            {"key": "Globex", "seconds": 9000, "active_seconds": None},
            {"key": "Acme", "seconds": 6300, "active_seconds": None},
        ],
    }
    by_task = _json(
        capsys,
        "report",
        "--from",
        str(DAY - timedelta(days=1)),
        "--to",
        str(DAY),
        "--by",
        "task",
        "--tz",
        "UTC",
        "--format",
        "json",
    )
    assert (by_task["from"], by_task["to"]) == (str(DAY - timedelta(days=1)), str(DAY))
    seconds = [row["seconds"] for row in by_task["rows"]]
    assert seconds == sorted(seconds, reverse=True)
    assert sum(seconds) == by_task["total_seconds"]


def test_entries_add_with_local_times(capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "projects", "add", "Acme")

    entry_id = _add(
        capsys,
        "Acme",
        "--start",
        f"{DAY} 09:00",
        "--end",
        f"{DAY} 10:30",
        "--tz",
        "Europe/Berlin",
        "--note",
        "review",
    )

    rows = _json(capsys, "entries", "list", "--from", str(DAY), "--tz", "UTC", "--json")
    assert rows == [
        {
            "id": entry_id,
            "project": "Acme",
            "task": None,
            "note": "review",
            "source": "manual",
            "start": f"{DAY}T07:00:00+00:00",
            "end": f"{DAY}T08:30:00+00:00",
        }
    ]


def test_entries_add_with_duration(capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "projects", "add", "Acme")

    _add(capsys, "Acme", "-s", f"{DAY} 23:30", "-d", "1:15", "--tz", "Asia/Tokyo")

    [row] = _json(
        capsys, "entries", "list", "--from", str(DAY), "--tz", "UTC", "--json"
    )
    assert (row["start"], row["end"]) == (
        f"{DAY}T14:30:00+00:00",
        f"{DAY}T15:45:00+00:00",
    )


def test_entries_add_refuses_a_time_skipped_by_dst(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _run(capsys, "projects", "add", "Acme")

    code, out, err = _run(
        capsys,
        "entries",
        "add",
        "Acme",
        "--start",
        "2025-03-09 02:30",
        "--duration",
        "30m",
        "--tz",
        "America/New_York",
    )

    assert code != 0
    assert out == ""
    assert "2025-03-09 02:30 does not exist in America/New_York" in err
    assert _json(capsys, "entries", "list", "--from", "2025-03-09", "--json") == []


def test_entries_add_overlap_is_refused_clearly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _run(capsys, "projects", "add", "Acme")
    first = _add(capsys, "Acme", "-s", f"{DAY} 09:00", "-d", "1h", "--tz", "UTC")

    code, _, err = _run(
        capsys, "entries", "add", "Acme", "-s", f"{DAY} 09:30", "-d", "1h", "--tz=UTC"
    )

    assert code != 0
    assert f"overlaps entry {first}" in err


def test_entries_edit_and_delete(capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "projects", "add", "Acme")
    _run(capsys, "projects", "add", "Globex")
    entry_id = _add(capsys, "Acme", "-s", f"{DAY} 09:00", "-d", "1h", "--tz", "UTC")

    code, out, err = _run(
        capsys,
        "entries",
        "edit",
        str(entry_id),
        "--project",
        "Globex",
        "--end",
        f"{DAY} 11:00",
        "--tz",
        "UTC",
    )
    assert code == 0, err
    assert out.startswith(f"Changed entry {entry_id}:")
    [row] = _json(capsys, "entries", "list", "--from", str(DAY), "--json")
    assert (row["project"], row["end"]) == ("Globex", f"{DAY}T11:00:00+00:00")

    code, out, _ = _run(capsys, "entries", "delete", str(entry_id))
    assert (code, out) == (0, f"Deleted entry {entry_id} (Globex).\n")
    assert _json(capsys, "entries", "list", "--from", str(DAY), "--json") == []


def test_projects_add_list_archive(capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "projects", "add", "Acme", "-t", "Design", "-t", "Build")
    code, _, err = _run(capsys, "projects", "add", "acme")
    assert code != 0
    assert "exists already" in err

    _run(capsys, "projects", "archive", "Acme", "--task", "Build")
    assert _json(capsys, "projects", "list", "--json") == [
        {
            "name": "Acme",
            "archived": False,
            "tasks": [{"name": "Design", "archived": False}],
        }
    ]

    _run(capsys, "projects", "archive", "Acme")
    assert _json(capsys, "projects", "list", "--json") == []
    code, _, err = _run(capsys, "start", "Acme")
    assert code != 0
    assert "punchclock projects unarchive Acme" in err


def test_archived_projects_and_tasks_take_no_new_time_until_unarchived(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _run(capsys, "projects", "add", "Acme", "-t", "Build")
    _run(capsys, "projects", "archive", "Acme", "--task", "Build")
    span = ("-s", f"{DAY} 09:00", "-d", "1h", "--tz", "UTC")

    code, _, err = _run(capsys, "entries", "add", "Acme", "--task", "Build", *span)
    assert code != 0
    assert "unarchive Acme --task Build" in err
    assert _json(capsys, "entries", "list", "--from", str(DAY), "--json") == []

    code, _, err = _run(capsys, "projects", "unarchive", "Acme")
    assert code != 0
    assert "'Acme' is not archived" in err

    assert _run(capsys, "projects", "unarchive", "Acme", "--task", "Build")[0] == 0
    _add(capsys, "Acme", "--task", "Build", *span)
    [project] = _json(capsys, "projects", "list", "--json")
    assert project["tasks"] == [{"name": "Build", "archived": False}]
