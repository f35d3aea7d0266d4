"""`punchclock break start --policy lunch` and `break stop` from a terminal
while a real `punchclock agent` runs for the same PUNCHCLOCK_HOME."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess

import pytest

from agent.paths import Paths
from tests import test_crash_recovery as crash
from tests.sync.queueing import queue_uploads
from tests.test_crash_recovery import PUNCHCLOCK, AgentProcess

# The agent-process fixtures of the crash tests: PUNCHCLOCK_HOME with a
# one-second flush, the environment, and agents killed at teardown.
paths = crash.paths
env = crash.env
agents = crash.agents


def cli(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PUNCHCLOCK, *argv], env=env, capture_output=True, text=True, timeout=60
    )


def status(env: dict[str, str]) -> dict[str, object]:
    done = cli(env, "status", "--json")
    assert done.returncode == 0, done.stderr
    shown: dict[str, object] = json.loads(done.stdout)
    return shown


@pytest.mark.posix
def test_break_start_and_stop_while_the_agent_runs(
    paths: Paths, env: dict[str, str], agents: list[AgentProcess]
) -> None:
    agent = AgentProcess(paths, env)
    agents.append(agent)
    agent.wait_until_running()
    queue_uploads(paths.database)
    assert cli(env, "projects", "add", "Acme", "-t", "Design").returncode == 0
    assert cli(env, "start", "Acme", "-t", "Design").returncode == 0
    agent.wait_for_log("running entry: 'Acme'")

    taken = cli(env, "break", "start", "--policy", "lunch")
    assert taken.returncode == 0, taken.stderr
    assert "On a break: lunch (unpaid" in taken.stdout
    agent.wait_for_log("on a break under 'lunch'")
    shown = status(env)
    assert (shown["state"], shown["project"], shown["task"]) == (
        "break",
        "Acme",
        "Design",
    )

    again = cli(env, "break", "start", "--policy", "lunch")
    assert again.returncode == 2
    assert "on a break already" in again.stderr

    ended = cli(env, "break", "stop")
    assert ended.returncode == 0, ended.stderr
    assert "back on Acme" in ended.stdout
    agent.wait_for_log("the break under 'lunch' is over")
    shown = status(env)
    assert (shown["state"], shown["task"]) == ("running", "Design")

    refused = cli(env, "break", "start", "--policy", "lunch")
    assert refused.returncode == 2
    assert "once per work session" in refused.stderr

    agent.kill(signal.SIGTERM)
    code, _ = agent.finish()
    assert code == 0
    with sqlite3.connect(paths.database) as db:
        rows = db.execute(
            "SELECT policy, paid, origin, allotted_seconds, end_ms IS NOT NULL "
            "FROM breaks"
        ).fetchall()
        queued = db.execute(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'break'"
        ).fetchone()
        entries = db.execute(
            "SELECT flushed_at IS NOT NULL FROM entries ORDER BY start_ms"
        ).fetchall()
    assert rows == [("lunch", 0, "taken", 3600, 1)]
    assert queued == (1,)
    assert entries == [(1,), (1,)], "the entry resumed is tracked by the agent"
