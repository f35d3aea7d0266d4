"""Projects the server assigns meet the worker's own whatever the capitals
or the Unicode spelling: no second 'Übersetzung' beside 'übersetzung'."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from agent.cli import main
from agent.paths import Paths
from tests.sync import servers
from tests.sync.test_pushed import _projects, put_setting


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


def test_assigned_names_fold_onto_the_workers_own(
    sqlite_reference: servers.RunningServer,
    signed_in: Paths,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["projects", "add", "Übersetzung", "--task", "Тест"]) == 0
    nfd = unicodedata.normalize("NFD", "École")
    put_setting(
        sqlite_reference,
        "projects",
        [{"name": "übersetzung", "tasks": ["тест", nfd, nfd.lower()]}],
    )
    assert main(["sync", "--once"]) == 0
    said = capsys.readouterr().out
    assert "added: Übersetzung / École" in said
    assert _projects(signed_in) == {
        "Übersetzung": (False, {"École": False, "Тест": False}),
    }

    put_setting(sqlite_reference, "projects", [{"name": "ÜBERSETZUNG"}])
    assert main(["sync", "--once"]) == 0
    assert _projects(signed_in) == {
        "Übersetzung": (False, {"École": True, "Тест": True}),
    }
