"""The money and limit commands end to end through ``punchclock``'s main,
on a real store under this test's PUNCHCLOCK_HOME."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.cli import main
from agent.paths import Paths

SETTINGS = """\
version = 1
[general]
time_zone = "UTC"
[rates]
rate = [
  {amount = 25, project = "Acme"},
  {amount = 60, kind = "bill", project = "Acme"},
  {amount = 80, kind = "bill", project = "Acme", task = "Review"},
]
[budgets]
budget = [{project = "Acme", hours = 10, thresholds = [50, 100]}]
"""


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def home(paths: Paths, capsys: pytest.CaptureFixture[str]) -> Paths:
    paths.settings_file.write_text(SETTINGS, encoding="utf-8")
    assert _run(capsys, "projects", "add", "Acme", "--task", "Review")[0] == 0
    for start, duration, task in (
        ("2026-03-16 09:00", "4h", []),
        ("2026-03-16 14:00", "1h30m", ["--task", "Review"]),
        ("2026-03-17 09:00", "2h", []),
    ):
        argv = ["entries", "add", "Acme", "--start", start, "--duration", duration]
        assert _run(capsys, *argv, *task)[0] == 0
    return paths


def test_report_with_cost_in_table_csv_and_json(
    home: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["report", "--from", "2026-03-16", "--to", "2026-03-17", "--with-cost"]

    code, table, _ = _run(capsys, *base)
    assert code == 0
    # 7.5 h paid at 25 = 187.50; billed 6 h x 60 + 1.5 h x 80 = 480.00;
    # the all-time hours budget: 7:30 of 10:00 used, 2:30 left.
    assert table.splitlines()[4].split() == [
        "Acme", "7:30", "187.50", "EUR", "480.00", "EUR", "2:30", "h", "left",
        "(75", "%)",
    ]  # fmt: skip

    _, text, _ = _run(capsys, *base, "--by", "day", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["key"], r["pay"], r["bill"]) for r in rows] == [
        ("2026-03-16", "137.5", "360.0"),
        ("2026-03-17", "50.0", "120.0"),
    ]

    _, text, _ = _run(capsys, *base, "--by", "task", "--format", "json")
    shown = json.loads(text)
    assert shown["total_seconds"] == 27000
    assert shown["total_pay"] == {"EUR": 187.5}
    assert shown["total_bill"] == {"EUR": 480.0}
    assert [(r["key"], r["bill"]) for r in shown["rows"]] == [
        ("Acme / (no task)", {"EUR": 360.0}),
        ("Acme / Review", {"EUR": 120.0}),
    ]


def test_report_with_cost_as_html_carries_the_cost_tables(
    home: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["report", "--from", "2026-03-16", "--to", "2026-03-17", "--with-cost"]

    code, page, _ = _run(capsys, *base, "--format", "html")

    assert code == 0
    table = page.split("<table id='cost'>", 1)[1].split("</table>", 1)[0]
    rows = [
        re.findall(r"<td[^>]*>(.*?)</td>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>", 1)[1])
    ]
    # As the table above: 7.5 h paid at 25, billed 480.00, 2:30 h of budget left.
    assert rows == [
        ["Acme", "7:30", "187.50 EUR", "480.00 EUR", "2:30 h left (75 %)"],
        ["Total", "7:30", "187.50 EUR", "480.00 EUR", ""],
    ]
    # The day pages follow, as without --with-cost.
    assert page.index("<table id='cost'>") < page.index("<section class='range'")


def test_report_with_cost_by_app_says_why_not(
    home: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "report", "--with-cost", "--by", "app")

    assert code == 2
    assert "--with-cost works with --by day, project or task" in err


def test_budgets_command(home: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    code, text, _ = _run(capsys, "budgets", "--format", "json")

    assert code == 0
    (budget,) = json.loads(text)["budgets"]
    assert (budget["used"], budget["remaining"], budget["state"]) == (
        7.5,
        2.5,
        "warning",
    )
    assert budget["thresholds_reached"] == [50]


def test_start_outside_the_shift_is_refused_with_when_it_may(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    # The only shift is two days from now: now is outside it.
    day = (datetime.now(UTC) + timedelta(days=2)).strftime("%A").lower()
    paths.settings_file.write_text(
        f'version = 1\n[general]\ntime_zone = "UTC"\n[limits]\n'
        f'outside_shift = "refuse"\nshift = [{{days = ["{day}"], start = "00:00", '
        f'end = "23:59"}}]\n',
        encoding="utf-8",
    )

    code, _, err = _run(capsys, "start", "Acme", "--create")

    assert code == 2
    assert (
        "cannot start: it is outside your shift windows; the next one starts on" in err
    )
    assert _run(capsys, "status", "--json")[1].startswith('{"state": "stopped"')
    code, text, _ = _run(capsys, "limits", "--json")
    assert json.loads(text)["may_start"] is False


def test_value_commands_and_a_bad_csv(
    paths: Paths, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    paths.settings_file.write_text(SETTINGS, encoding="utf-8")
    bad = tmp_path / "baselines.csv"
    bad.write_text(
        "kind,minutes_per_unit,cost_per_hour\nReview,20,50\nEditing,20,abc\n",
        encoding="utf-8",
    )

    code, _, err = _run(capsys, "value", "baseline", "import", str(bad))
    assert code == 2
    assert "nothing was imported" in err
    assert "line 3: cost per hour 'abc' is not a number above 0" in err
    assert json.loads(_run(capsys, "value", "baseline", "list", "--json")[1]) == []

    code, out, _ = _run(
        capsys, "value", "baseline", "set", "Review", "--minutes-per-unit", "20",
        "--cost-per-hour", "90",
    )  # fmt: skip
    assert code == 0
    assert "(30.00 EUR per unit)" in out
    _run(capsys, "projects", "add", "Acme", "--task", "Review")
    _run(
        capsys, "entries", "add", "Acme", "--task", "Review", "--start",
        "2026-03-16 09:00", "--duration", "2h",
    )  # fmt: skip
    assert (
        _run(capsys, "value", "units", "add", "review", "8", "--date", "2026-03-16")[0]
        == 0
    )

    code, text, _ = _run(
        capsys, "value", "report", "--from", "2026-03-16", "--to", "2026-03-22",
        "--format", "json",
    )  # fmt: skip
    (row,) = json.loads(text)["rows"]
    # 120 min / 8 = 15 min per unit; 2 h x 80 = 160 EUR, 20 per unit against
    # 30 in-house; saving 8 x 30 - 160 = 80.
    assert (row["minutes_per_unit"], row["cost_per_unit"], row["saving"]) == (
        15.0,
        20.0,
        80.0,
    )


def test_start_outside_the_shift_is_recorded_and_listed_when_policy_says_so(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    day = (datetime.now(UTC) + timedelta(days=2)).strftime("%A").lower()
    paths.settings_file.write_text(
        f'version = 1\n[general]\ntime_zone = "UTC"\n[limits]\n'
        f'outside_shift = "record"\nshift = [{{days = ["{day}"], start = "00:00", '
        f'end = "23:59"}}]\n',
        encoding="utf-8",
    )

    code, out, _ = _run(capsys, "start", "Acme", "--create")

    assert code == 0
    assert "Recorded as started outside the shift windows; the next shift" in out
    code, text, _ = _run(capsys, "limits")
    assert "Outside your shift (next starts on " in text
    assert "Started outside the shifts: " in text
    assert "on Acme (entry " in text
    shown = json.loads(_run(capsys, "limits", "--json")[1])
    assert shown["may_start"] is True
    assert [o["project"] for o in shown["outside_shift_this_week"]] == ["Acme"]


def test_cost_table_aligns_wide_names_and_lists_days_in_date_order(
    home: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.report import display_cells

    assert _run(capsys, "projects", "add", "🚀 宇宙 Launch")[0] == 0
    argv = ["entries", "add", "🚀 宇宙 Launch", "--start", "2026-03-18 08:00"]
    assert _run(capsys, *argv, "--duration", "9h")[0] == 0
    base = ["report", "--from", "2026-03-16", "--to", "2026-03-18", "--with-cost"]

    _, table, _ = _run(capsys, *base)
    rows = [line for line in table.splitlines() if "Acme" in line or "Launch" in line]
    # The time column ends in the same terminal cell on every row.
    ends = {display_cells(line[: line.index(":") + 3]) for line in rows}
    assert len(rows) == 2, table
    assert len(ends) == 1, table

    _, text, _ = _run(capsys, *base, "--by", "day", "--format", "csv")
    days = [row["key"] for row in csv.DictReader(io.StringIO(text))]
    # 2026-03-18 has the most time, yet a calendar reads down.
    assert days == ["2026-03-16", "2026-03-17", "2026-03-18"]
