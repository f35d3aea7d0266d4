"""Names and notes as people type them: any script's capitals, NFC and NFD,
and no control characters reaching the terminal or the store."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
from sqlalchemy import update

from agent.cli import main
from agent.store import Store
from agent.store.models import Entry, Project, Task


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _projects(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    code, out, err = _run(capsys, "projects", "list", "--json")
    assert code == 0, err
    return list(json.loads(out))


def test_a_project_with_a_non_ascii_capital_can_be_used(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _run(capsys, "projects", "add", "Übersetzung")[0] == 0

    code, out, err = _run(capsys, "start", "Übersetzung")
    assert (code, err) == (0, "")
    assert "Clocked in on Übersetzung" in out
    assert _run(capsys, "stop")[0] == 0

    code, out, err = _run(capsys, "projects", "add", "Übersetzung")
    assert code == 2
    assert err.startswith("punchclock: a project named 'Übersetzung' exists")
    assert "Traceback" not in err
    assert "IntegrityError" not in err

    code, out, err = _run(capsys, "start", "übersetzung")
    assert (code, err) == (0, "")
    assert "Clocked in on Übersetzung" in out


def test_start_create_with_a_non_ascii_capital(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run(capsys, "start", "Ärzte", "--create", "--task", "Тест")
    assert (code, err) == (0, "")
    assert "Clocked in on Ärzte / Тест" in out
    assert [p["name"] for p in _projects(capsys)] == ["Ärzte"]

    assert _run(capsys, "stop")[0] == 0
    code, out, err = _run(capsys, "start", "ÄRZTE", "--create", "--task", "тЕСТ")
    assert (code, err) == (0, "")
    assert "Clocked in on Ärzte / Тест" in out
    [project] = _projects(capsys)
    assert [t["name"] for t in project["tasks"]] == ["Тест"]


def test_a_cyrillic_task_is_found_in_any_case(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _run(capsys, "projects", "add", "Отчёт", "--task", "Тест")[0] == 0
    code, out, err = _run(capsys, "start", "ОТЧЁТ", "--task", "ТЕСТ")
    assert (code, err) == (0, "")
    assert "Clocked in on Отчёт / Тест" in out

    code, _, err = _run(capsys, "projects", "add", "отчёт", "--task", "тест")
    assert code == 2
    assert "already has a task named 'тест'" in err


def test_capitals_do_not_make_a_second_project(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _run(capsys, "projects", "add", "ÜBER")[0] == 0
    code, _, err = _run(capsys, "projects", "add", "über")
    assert code == 2
    assert "a project named 'ÜBER' exists already" in err
    # Full case folding, not just lower(): ß folds to ss.
    assert _run(capsys, "projects", "add", "Straße")[0] == 0
    assert _run(capsys, "projects", "add", "STRASSE")[0] == 2
    assert [p["name"] for p in _projects(capsys)] == ["Straße", "ÜBER"]


def test_nfc_and_nfd_spellings_are_one_project(
    capsys: pytest.CaptureFixture[str],
) -> None:
    nfc = unicodedata.normalize("NFC", "école")
    nfd = unicodedata.normalize("NFD", "école")
    assert nfc != nfd
    assert _run(capsys, "projects", "add", nfd)[0] == 0
    assert _run(capsys, "projects", "add", nfc)[0] == 2
    assert _run(capsys, "projects", "add", "École")[0] == 2
    [project] = _projects(capsys)
    assert project["name"] == nfc
    code, _out, err = _run(capsys, "start", nfc)
    assert (code, err) == (0, "")


def test_notes_keep_no_control_characters(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _run(capsys, "projects", "add", "Acme")
    note = "first\nline\r\n2  Acme  [manual]\x1b[2J\x07 done\x85"
    code, out, err = _run(
        capsys, "entries", "add", "Acme",
        "--start", "2026-01-05 09:00", "--end", "2026-01-05 10:00",
        "--note", note,
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out.count("\n") == 1
    assert "\x1b" not in out
    assert "\r" not in out
    assert "\x07" not in out

    code, out, err = _run(capsys, "entries", "list", "--from", "2026-01-05")
    assert (code, err) == (0, "")
    assert out.count("\n") == 1
    assert "\x1b" not in out
    assert "\r" not in out
    assert "\x07" not in out
    code, out, err = _run(capsys, "entries", "list", "--from", "2026-01-05", "--json")
    [entry] = json.loads(out)
    assert entry["note"] == "first line  2  Acme  [manual][2J done"


@pytest.mark.parametrize("bidi", ["\u202e", "\u2066", "\u202a", "\u2069"])
def test_bidi_controls_are_refused_in_names_and_notes(
    bidi: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "projects", "add", f"Acme{bidi}gnp.exe")
    assert code == 2
    assert "a project name cannot contain bidi control characters" in err
    code, _, err = _run(capsys, "projects", "add", "Acme", "--task", f"x{bidi}")
    assert code == 2
    assert "a task name cannot contain bidi control characters" in err
    assert _projects(capsys) == []

    _run(capsys, "projects", "add", "Acme")
    code, _, err = _run(capsys, "start", "Acme", "--note", f"a{bidi}b")
    assert code == 2
    assert "a note cannot contain bidi control characters" in err
    code, out, _ = _run(capsys, "entries", "list", "--json")
    assert json.loads(out) == []


def test_control_characters_leave_names(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run(capsys, "projects", "add", "Acme\x1b[2J\nInc\x00")
    assert (code, err) == (0, "")
    assert [p["name"] for p in _projects(capsys)] == ["Acme[2J Inc"]


def test_lists_never_print_stored_control_characters(
    capsys: pytest.CaptureFixture[str], store: Store
) -> None:
    """Text stored before input was cleaned (or by another program) is
    still printed one entry per line, without escapes or bidi controls."""
    _run(capsys, "projects", "add", "Acme", "--task", "Build")
    _run(
        capsys, "entries", "add", "Acme", "--task", "Build",
        "--start", "2026-01-05 09:00", "--end", "2026-01-05 10:00",
    )  # fmt: skip
    raw = "a\nb\r\x1b[2J\u202ec\x9b"
    with store.write() as session:
        session.execute(update(Entry).values(note=raw))
        session.execute(update(Project).values(name="Acme" + raw))
        session.execute(update(Task).values(name="Build" + raw))

    code, out, err = _run(capsys, "entries", "list", "--from", "2026-01-05")
    assert (code, err) == (0, "")
    assert out.count("\n") == 1
    assert "Acmea b \ufffd[2Jc\ufffd / Builda b \ufffd[2Jc\ufffd" in out
    assert out.rstrip("\n").endswith("  a b \ufffd[2Jc\ufffd")

    code, out, _ = _run(capsys, "projects", "list")
    assert out.splitlines() == [
        "Acmea b \ufffd[2Jc\ufffd",
        "  - Builda b \ufffd[2Jc\ufffd",
    ]

    code, out, _ = _run(capsys, "entries", "list", "--from", "2026-01-05", "--json")
    assert json.loads(out)[0]["note"] == raw


def test_names_in_settings_match_whatever_their_unicode_form() -> None:
    from decimal import Decimal

    from agent.budgets import Budget
    from agent.rates import _fold

    nfd = unicodedata.normalize("NFD", "École")
    budget = Budget(nfd, "hours", Decimal(10), "EUR", "week", "pay", (80,))

    assert budget.matches("école")
    assert budget.matches(unicodedata.normalize("NFC", "ÉCOLE"))
    assert _fold(nfd) == _fold("école")
