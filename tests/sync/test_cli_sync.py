"""`punchclock sync` end to end: sign in, upload, status, against a real server."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from agent.cli import main
from agent.paths import Paths
from agent.store import Store
from sync.tokens import TokenStore
from tests.sync import servers
from tests.sync.day import write_day


def test_login_upload_and_status(
    sqlite_reference: servers.RunningServer,
    punchclock_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = Paths.under(punchclock_home)
    paths.ensure()
    store = Store.open(paths.database)
    day = write_day(store, spans=20)
    store.close()

    url = sqlite_reference.url
    assert main(["sync", "login", url, "--key", servers.ENROLLMENT_KEY]) == 0
    said = capsys.readouterr()
    assert "Signed in" in said.out
    if TokenStore(paths.config_dir).keyring_reason() is not None:
        assert "file only you can read" in said.err

    assert main(["sync", "--once"]) == 0
    assert f"Uploaded {day.total} new" in capsys.readouterr().out

    assert main(["sync", "--status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["server"] == url
    assert status["waiting"] == 0
    assert status["last_success"] is not None
    token = TokenStore(paths.config_dir).load(url)
    assert token
    assert token not in json.dumps(status)


def test_sync_without_a_server_says_what_to_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sync"]) == 5
    assert "punchclock sync login" in capsys.readouterr().err


def _outbox(paths: Paths) -> list[tuple[str, int]]:
    with sqlite3.connect(paths.database) as db:
        rows = db.execute("SELECT kind, attempts FROM outbox ORDER BY id").fetchall()
    return [(str(kind), int(attempts)) for kind, attempts in rows]


def test_history_stays_local_until_sign_in_and_stops_queueing_at_sign_out(
    sqlite_reference: servers.RunningServer,
    punchclock_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths = Paths.under(punchclock_home)
    assert main(["projects", "add", "Acme", "--task", "Design"]) == 0
    assert main(["start", "Acme", "--task", "Design"]) == 0
    assert main(["stop"]) == 0
    assert _outbox(paths) == [], "a local-only install must not fill the outbox"

    url = sqlite_reference.url
    capsys.readouterr()
    assert main(["sync", "login", url, "--key", servers.ENROLLMENT_KEY]) == 0
    assert "3 record(s) from before the sign-in" in capsys.readouterr().out
    assert sorted(_outbox(paths)) == [("entry", 0), ("project", 0), ("task", 0)]
    assert main(["sync", "--once"]) == 0
    assert "Uploaded 3 new, 0 already there" in capsys.readouterr().out

    assert main(["sync", "logout"]) == 0
    assert main(["start", "Acme"]) == 0
    assert main(["stop"]) == 0
    assert _outbox(paths) == [], "signed out, nothing is queued"

    # Signed in again: the history is queued once more, as possibly sent
    # (one attempt), and the server keeps one copy of each record.
    capsys.readouterr()
    assert main(["sync", "login", url, "--key", servers.ENROLLMENT_KEY]) == 0
    assert "4 record(s) from before" in capsys.readouterr().out
    assert sorted(_outbox(paths)) == [("entry", 1)] * 2 + [("project", 1), ("task", 1)]
    assert main(["sync", "--once"]) == 0
    assert "Uploaded 1 new, 3 already there" in capsys.readouterr().out
    assert _outbox(paths) == []


def test_a_failed_run_keeps_the_last_success(
    tmp_path: Path, punchclock_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = Paths.under(punchclock_home)
    paths.ensure()
    store = Store.open(paths.database)
    write_day(store, spans=5)
    store.close()
    database = f"sqlite:///{tmp_path / 'server.db'}"
    with servers.reference_server(database, tmp_path / "files") as server:
        key = servers.ENROLLMENT_KEY
        assert main(["sync", "login", server.url, "--key", key]) == 0
        assert main(["sync", "--once"]) == 0
    capsys.readouterr()

    # The server is gone: this run fails, in a process of its own.
    assert main(["start", "Acme"]) == 0
    assert main(["stop"]) == 0
    main(["sync", "--once"])
    capsys.readouterr()
    assert main(["sync", "--status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)

    assert status["last_error"]
    assert status["last_success"] is not None
