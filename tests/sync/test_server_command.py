"""`punchclock-server` as a real subprocess: one command to a working server."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.sync import servers

BIN = Path(sys.executable).parent
SERVER = str(BIN / "punchclock-server")
PUNCHCLOCK = str(BIN / "punchclock")


class ServerProcess:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [SERVER, *argv],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []

    def read_until(self, pattern: str) -> re.Match[str]:
        """Lines printed so far and up to the one matching ``pattern``."""
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise AssertionError(f"server ended: {self.lines} {err}")
            self.lines.append(line.rstrip("\n"))
            found = re.search(pattern, line)
            if found:
                return found

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def server_env() -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("PUNCHCLOCK_SERVER_"):
            del env[name]
    return env


@pytest.fixture
def started(server_env: dict[str, str]) -> Iterator[list[ServerProcess]]:
    running: list[ServerProcess] = []
    yield running
    for server in running:
        server.stop()


@pytest.mark.posix  # SIGTERM, exit 0
def test_one_command_starts_a_server_an_agent_can_sign_in_to(
    database_url: str,
    tmp_path: Path,
    server_env: dict[str, str],
    started: list[ServerProcess],
) -> None:
    argv = ["--host", "127.0.0.1", "--port", "0", "--database-url", database_url]
    server = ServerProcess([*argv, "--files", str(tmp_path / "files")], server_env)
    started.append(server)

    key = server.read_until(r"New enrollment key .*: (\S+)$").group(1)
    lead = server.read_until(r"New lead token .*: (\S+)$").group(1)
    url = server.read_until(r"listening on (http://127\.0\.0\.1:\d+) ").group(1)
    login = server.read_until(r"^  (punchclock sync login .*)$").group(1)
    assert login == f"punchclock sync login {url} --key {key}"
    assert "punchclock:punchclock@" not in "\n".join(server.lines), "no password"

    # The printed command, as the worker types it, signs an agent in.
    home = tmp_path / "agent-home"
    agent_env = {**os.environ, "PUNCHCLOCK_HOME": str(home)}
    for argv_ in (
        ["projects", "add", "Acme"],
        login.split()[1:],
        ["sync", "--once"],
    ):
        done = subprocess.run(
            [PUNCHCLOCK, *argv_], env=agent_env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    assert "Uploaded 1 new" in done.stdout

    answer = httpx.get(
        f"{url}/v1/lead/agents", headers={"Authorization": f"Bearer {lead}"}
    )
    assert answer.status_code == 200
    assert len(answer.json()["agents"]) == 1
    assert server.stop() == 0


def test_keys_from_the_environment_are_kept_and_not_printed(
    tmp_path: Path, server_env: dict[str, str], started: list[ServerProcess]
) -> None:
    database = tmp_path / "server.db"
    env = {
        **server_env,
        "PUNCHCLOCK_SERVER_ENROLLMENT_KEY": "kept-enrollment-key",
        "PUNCHCLOCK_SERVER_LEAD_TOKEN": "kept-lead-token",
    }
    server = ServerProcess(
        ["--port", "0", "--database-url", f"sqlite:///{database}"], env
    )
    started.append(server)
    url = server.read_until(r"listening on (\S+) ").group(1)
    server.read_until(r"sync login .* --key \$PUNCHCLOCK_SERVER_ENROLLMENT_KEY$")
    assert not any("kept-" in line for line in server.lines)

    answer = httpx.get(
        f"{url}/v1/lead/agents", headers={"Authorization": "Bearer kept-lead-token"}
    )
    assert answer.json() == {"agents": []}
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert {"agents", "records", "screenshots", "settings"} <= tables


def test_a_port_in_use_and_a_bad_database_are_one_line_each(
    tmp_path: Path, server_env: dict[str, str]
) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = subprocess.run(
            [SERVER, "--port", port, "--database-url", f"sqlite:///{tmp_path}/a.db"],
            env=server_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert busy.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in busy.stderr
    assert "Traceback" not in busy.stderr

    dead = f"postgresql+psycopg://nobody:secret@127.0.0.1:{servers.free_port()}/x"
    bad = subprocess.run(
        [SERVER, "--port", "0", "--database-url", dead],
        env=server_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "the database cannot be used" in bad.stderr
    assert "Traceback" not in bad.stderr
