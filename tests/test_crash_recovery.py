"""R1: `kill -9` of `punchclock agent` at random moments, SIGTERM, one agent only.

Each test runs the real console script in subprocesses against its own
PUNCHCLOCK_HOME, with the flush interval at one second.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.paths import Paths

pytestmark = [pytest.mark.slow, pytest.mark.posix]  # SIGKILL, SIGTERM

PUNCHCLOCK = str(Path(sys.executable).with_name("punchclock"))
FLUSH_SECONDS = 1
# Scheduling slack on a busy 2-core machine, on top of the flush interval.
SLACK = timedelta(seconds=1.5)


@pytest.fixture
def paths(punchclock_home: Path) -> Paths:
    paths = Paths.from_env()
    paths.ensure()
    paths.settings_file.write_text(
        f"version = 1\n\n[timer]\nflush_seconds = {FLUSH_SECONDS}\n"
    )
    return paths


@pytest.fixture
def env(punchclock_home: Path) -> dict[str, str]:
    return {**os.environ, "PUNCHCLOCK_HOME": str(punchclock_home)}


class AgentProcess:
    """`punchclock agent` in a subprocess, up once its log says it runs."""

    def __init__(self, paths: Paths, env: dict[str, str]) -> None:
        self._paths = paths
        self._mark = _log_size(paths)
        self.proc = subprocess.Popen(
            [PUNCHCLOCK, "agent"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_until_running(self) -> None:
        self.wait_for_log("headless agent running")

    def wait_for_log(self, needle: str, within: float = 20.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if needle in _log_since(self._paths, self._mark):
                return
            if self.proc.poll() is not None:
                pytest.fail(f"the agent exited early: {self.proc.stderr}")
            time.sleep(0.02)
        pytest.fail(f"{needle!r} not logged in {within} s")

    def kill(self, signum: signal.Signals) -> datetime:
        at = datetime.now(UTC)
        self.proc.send_signal(signum)
        return at

    def finish(self) -> tuple[int, str]:
        _, err = self.proc.communicate(timeout=20)
        return self.proc.returncode, err


@pytest.fixture
def agents(paths: Paths, env: dict[str, str]) -> Iterator[list[AgentProcess]]:
    started: list[AgentProcess] = []
    yield started
    for agent in started:
        if agent.proc.poll() is None:
            agent.proc.kill()
            agent.proc.wait()


def _log_size(paths: Paths) -> int:
    return paths.log_file.stat().st_size if paths.log_file.exists() else 0


def _log_since(paths: Paths, mark: int) -> str:
    if not paths.log_file.exists():
        return ""
    with open(paths.log_file, "rb") as handle:
        handle.seek(mark)
        return handle.read().decode(errors="replace")


def _cli(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run(
        [PUNCHCLOCK, *argv], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, (argv, done.stderr)
    assert "Traceback" not in done.stderr
    return done.stdout


def _cli_json(env: dict[str, str], *argv: str) -> Any:
    return json.loads(_cli(env, *argv, "--json"))


def _entries(env: dict[str, str]) -> list[dict[str, Any]]:
    return list(
        _cli_json(env, "entries", "list", "--from", "yesterday", "--to", "today")
    )


def _integrity(paths: Paths) -> str:
    with sqlite3.connect(paths.database) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def _start_agent(
    agents: list[AgentProcess], paths: Paths, env: dict[str, str]
) -> AgentProcess:
    agent = AgentProcess(paths, env)
    agents.append(agent)
    agent.wait_until_running()
    return agent


def test_kill_9_closes_the_entry_at_its_last_flush(
    paths: Paths, env: dict[str, str], agents: list[AgentProcess]
) -> None:
    rng = random.Random()
    _cli(env, "projects", "add", "Acme")

    for round_ in range(3):
        agent = _start_agent(agents, paths, env)
        _cli(env, "start", "Acme", "--note", f"round {round_}")
        # A random moment, before the agent's first flush of the entry or after.
        time.sleep(rng.uniform(0.0, FLUSH_SECONDS + 1.5))

        killed_at = agent.kill(signal.SIGKILL)
        code, _ = agent.finish()
        assert code == -signal.SIGKILL
        time.sleep(1.1)
        reopened_at = datetime.now(UTC)

        # Any process opening the store with no agent alive recovers it.
        entry = _entries(env)[-1]
        assert entry["note"] == f"round {round_}"
        assert entry["end"] is not None
        end = datetime.fromisoformat(entry["end"])
        start = datetime.fromisoformat(entry["start"])
        assert start <= end <= killed_at + timedelta(seconds=0.5)
        assert end >= killed_at - timedelta(seconds=FLUSH_SECONDS) - SLACK
        assert end < reopened_at - timedelta(seconds=1)
        assert _integrity(paths) == "ok"

    assert len(_entries(env)) == 3


def test_kill_9_before_the_first_flush_invents_no_time(
    paths: Paths, env: dict[str, str], agents: list[AgentProcess]
) -> None:
    agent = _start_agent(agents, paths, env)
    _cli(env, "start", "Acme", "--create")
    killed_at = agent.kill(signal.SIGKILL)
    agent.finish()

    [entry] = _entries(env)
    assert entry["end"] is not None
    assert datetime.fromisoformat(entry["end"]) <= killed_at


def test_next_agent_recovers_the_entry_at_its_last_flush(
    paths: Paths, env: dict[str, str], agents: list[AgentProcess]
) -> None:
    _cli(env, "start", "Acme", "--create")
    agent = _start_agent(agents, paths, env)
    agent.wait_for_log("running entry: 'Acme'")
    time.sleep(1.5)
    killed_at = agent.kill(signal.SIGKILL)
    agent.finish()
    time.sleep(1.5)

    again = _start_agent(agents, paths, env)
    [entry] = _entries(env)
    end = datetime.fromisoformat(entry["end"])
    assert killed_at - timedelta(seconds=FLUSH_SECONDS) - SLACK <= end <= killed_at
    assert "stopped unexpectedly" in _log_since(paths, 0)

    again.kill(signal.SIGTERM)
    code, err = again.finish()
    assert code == 0, err
    assert _integrity(paths) == "ok"


def test_sigterm_closes_the_entry_at_shutdown(
    paths: Paths, env: dict[str, str], agents: list[AgentProcess]
) -> None:
    agent = _start_agent(agents, paths, env)
    _cli(env, "start", "Acme", "--create", "--task", "Design")
    agent.wait_for_log("running entry: 'Acme'")

    stopped_at = agent.kill(signal.SIGTERM)
    code, err = agent.finish()

    assert code == 0, err
    assert "Traceback" not in err
    [entry] = _entries(env)
    end = datetime.fromisoformat(entry["end"])
    # The store keeps milliseconds: the signal's moment, cut the same way.
    stopped_ms = stopped_at.replace(microsecond=stopped_at.microsecond // 1000 * 1000)
    assert stopped_ms <= end <= stopped_at + SLACK
    assert _cli_json(env, "status")["state"] == "stopped"
    assert _integrity(paths) == "ok"


def test_second_agent_is_refused_clearly(
    paths: Paths, env: dict[str, str], agents: list[AgentProcess]
) -> None:
    first = _start_agent(agents, paths, env)
    _cli(env, "start", "Acme", "--create")

    second = subprocess.run(
        [PUNCHCLOCK, "agent"], env=env, capture_output=True, text=True, timeout=60
    )

    assert second.returncode != 0
    assert "Traceback" not in second.stderr
    assert "an agent is already running" in second.stderr
    assert str(first.proc.pid) in second.stderr
    # The second one touched nothing: the entry still runs under the first.
    assert _cli_json(env, "status")["state"] == "running"
    assert first.proc.poll() is None

    first.kill(signal.SIGTERM)
    assert first.finish()[0] == 0
