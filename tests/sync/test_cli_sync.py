"""`punchclock sync` end to end: sign in, upload, status, against a real server."""

from __future__ import annotations

import json
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
