"""The policy and projects a real reference server pushes, applied by sync."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from agent.clock import SystemClock
from agent.paths import Paths
from agent.policy import load_effective, server_policy_file
from agent.projects import Projects
from agent.store import Store
from tests.sync import servers


def put_setting(server: servers.RunningServer, key: str, value: Any) -> None:
    with server.lead() as lead:
        lead.put(
            f"/v1/lead/settings/{key}",
            content=json.dumps(value),
            headers={"Content-Type": "application/json"},
        ).raise_for_status()


def _projects(paths: Paths) -> dict[str, tuple[bool, dict[str, bool]]]:
    """{project: (archived, {task: archived})} as the store has them."""
    store = Store.open(paths.database)
    try:
        views = Projects(store, SystemClock()).all(include_archived=True)
    finally:
        store.close()
    return {p.name: (p.archived, {t.name: t.archived for t in p.tasks}) for p in views}


@pytest.fixture
def signed_in(
    sqlite_reference: servers.RunningServer,
    punchclock_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> Paths:
    paths = Paths.under(punchclock_home)
    paths.ensure()
    url = sqlite_reference.url
    assert main(["sync", "login", url, "--key", servers.ENROLLMENT_KEY]) == 0
    capsys.readouterr()
    return paths


@pytest.mark.posix  # 0600 file mode
def test_the_servers_policy_wins_where_it_speaks_and_local_settings_elsewhere(
    sqlite_reference: servers.RunningServer,
    signed_in: Paths,
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = signed_in
    signed = paths.settings_file.read_text()
    paths.settings_file.write_text(
        signed + "\n[idle]\nthreshold_minutes = 12\n[timer]\nflush_seconds = 3\n"
    )
    policy = {"idle": {"threshold_minutes": 2}, "screenshots": {"per_slot": 2}}
    put_setting(sqlite_reference, "policy", policy)

    assert main(["sync", "--once"]) == 0
    assert "From the server: a new policy" in capsys.readouterr().out

    kept = server_policy_file(paths)
    assert json.loads(kept.read_text()) == policy
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    effective = load_effective(paths)
    assert effective.settings.idle.threshold_minutes == 2
    assert effective.settings.screenshots.per_slot == 2
    assert effective.settings.timer.flush_seconds == 3, "server silent: local"
    assert effective.locked == {"idle.threshold_minutes", "screenshots.per_slot"}

    # Unchanged on the next sync; the server dropping its policy hands
    # every key back to the worker's settings.
    assert main(["sync", "--once"]) == 0
    assert "From the server" not in capsys.readouterr().out
    put_setting(sqlite_reference, "policy", None)
    assert main(["sync", "--once"]) == 0
    assert not kept.exists()
    assert load_effective(paths).settings.idle.threshold_minutes == 12


def test_a_policy_cannot_move_the_agent_to_another_server(
    sqlite_reference: servers.RunningServer, signed_in: Paths
) -> None:
    put_setting(
        sqlite_reference,
        "policy",
        {"sync": {"server_url": "https://evil.example"}, "idle": {"no_answer": "keep"}},
    )
    assert main(["sync", "--once"]) == 0

    effective = load_effective(signed_in)
    assert effective.settings.sync.server_url == sqlite_reference.url
    assert effective.settings.idle.no_answer == "keep"
    assert any("cannot set [sync]" in problem for problem in effective.problems)


def test_projects_are_upserted_and_archived_when_the_server_drops_them(
    sqlite_reference: servers.RunningServer,
    signed_in: Paths,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["projects", "add", "Mine", "--task", "Own"]) == 0
    assert main(["projects", "add", "Globex"]) == 0
    assert main(["projects", "archive", "Globex"]) == 0
    put_setting(
        sqlite_reference,
        "projects",
        [
            {"name": "Acme", "tasks": ["Design", {"name": "Build"}]},
            {"name": "globex", "tasks": []},
        ],
    )
    assert main(["sync", "--once"]) == 0
    said = capsys.readouterr().out
    assert "added: Acme, Acme / Design, Acme / Build" in said
    assert "offered again: Globex" in said
    assert _projects(signed_in) == {
        "Acme": (False, {"Build": False, "Design": False}),
        "Globex": (False, {}),
        "Mine": (False, {"Own": False}),
    }

    put_setting(sqlite_reference, "projects", [{"name": "Acme", "tasks": ["Build"]}])
    assert main(["sync", "--once"]) == 0
    assert _projects(signed_in) == {
        "Acme": (False, {"Build": False, "Design": True}),
        "Globex": (True, {}),
        "Mine": (False, {"Own": False}),
    }, "only what the server assigned is archived; the worker's own stays"

    # The archived ones went up as records too (the lead sees them archived).
    capsys.readouterr()
    assert main(["sync", "--status", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["waiting"] == 0


def test_an_unusable_project_list_changes_nothing_and_says_why(
    sqlite_reference: servers.RunningServer,
    signed_in: Paths,
    caplog: pytest.LogCaptureFixture,
) -> None:
    put_setting(sqlite_reference, "projects", [{"name": "Acme"}])
    assert main(["sync", "--once"]) == 0
    put_setting(sqlite_reference, "projects", [{"name": "   "}, {"name": "B"}])

    assert main(["sync", "--once"]) == 0

    assert _projects(signed_in) == {"Acme": (False, {})}
    assert "not fetched: an assigned project is unusable" in caplog.text
