"""Figures the money commands refuse at input, stored figures the value
report cannot compute with, units records listed and deleted one by one,
and the messages of a bad rate and of a short unrated gap — end to end
through ``punchclock``'s main on a real store."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from agent.cli import main
from agent.paths import Paths
from agent.settings import load_settings

SETTINGS = """\
version = 1
[general]
time_zone = "UTC"
[rates]
currency = "EUR"
rate = [{amount = 60, kind = "bill", project = "Acme"}]
"""


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def home(paths: Paths, capsys: pytest.CaptureFixture[str]) -> Paths:
    paths.settings_file.write_text(SETTINGS, encoding="utf-8")
    code, _, err = _run(
        capsys, "value", "baseline", "set", "Build", "--minutes-per-unit", "30",
        "--cost-per-hour", "60",
    )  # fmt: skip
    assert code == 0, err
    return paths


def _units(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    code, out, err = _run(capsys, "value", "units", "list", "--json")
    assert code == 0, err
    rows: list[dict[str, object]] = json.loads(out)
    return rows


@pytest.mark.parametrize(
    ("units", "why"),
    [
        ("1e308", "'1e308' is more than 1,000,000,000"),
        ("1000000001", "is more than 1,000,000,000"),
        ("nan", "'nan' is not a number above 0"),
        ("inf", "'inf' is not a number above 0"),
        ("Infinity", "is not a number above 0"),
        ("0", "'0' is not a number above 0"),
    ],
)
def test_units_beyond_the_bounds_are_refused(
    home: Paths, capsys: pytest.CaptureFixture[str], units: str, why: str
) -> None:
    code, _, err = _run(capsys, "value", "units", "add", "Build", units)

    assert code == 2
    assert why in err
    assert "Traceback" not in err
    assert _units(capsys) == []


def test_a_billion_units_is_the_most_one_record_holds(
    home: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "value", "units", "add", "Build", "1e9")

    assert code == 0, err
    assert [row["units"] for row in _units(capsys)] == [1e9]


@pytest.mark.parametrize(
    ("minutes", "cost", "why"),
    [
        ("1e300", "60", "minutes per unit '1e300' is more than 1,000,000"),
        ("1000001", "60", "minutes per unit '1000001' is more than 1,000,000"),
        ("nan", "60", "minutes per unit 'nan' is not a number above 0"),
        ("30", "1e7.5", "cost per hour '1e7.5' is not a number above 0"),
        ("30", "10000001", "cost per hour '10000001' is more than 10,000,000"),
        ("30", "inf", "cost per hour 'inf' is not a number above 0"),
    ],
)
def test_baselines_beyond_the_bounds_are_refused(
    home: Paths, capsys: pytest.CaptureFixture[str], minutes: str, cost: str, why: str
) -> None:
    code, _, err = _run(
        capsys, "value", "baseline", "set", "Other", "--minutes-per-unit", minutes,
        "--cost-per-hour", cost,
    )  # fmt: skip

    assert code == 2
    assert why in err
    listed = json.loads(_run(capsys, "value", "baseline", "list", "--json")[1])
    assert [b["kind"] for b in listed] == ["Build"]


def test_csv_imports_check_the_same_bounds(
    home: Paths, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    baselines = tmp_path / "baselines.csv"
    baselines.write_text(
        "kind,minutes_per_unit,cost_per_hour\nA,20,50\nB,1e300,50\nC,20,nan\n",
        encoding="utf-8",
    )
    units = tmp_path / "units.csv"
    units.write_text(
        "kind,date,units\nBuild,2026-03-16,3\nBuild,2026-03-17,1e308\n",
        encoding="utf-8",
    )

    code, _, err = _run(capsys, "value", "baseline", "import", str(baselines))
    assert code == 2
    assert "line 3: minutes per unit '1e300' is more than 1,000,000" in err
    assert "line 4: cost per hour 'nan' is not a number above 0" in err
    code, _, err = _run(capsys, "value", "units", "import", str(units))
    assert code == 2
    assert "line 3: units '1e308' is more than 1,000,000,000" in err

    listed = json.loads(_run(capsys, "value", "baseline", "list", "--json")[1])
    assert [b["kind"] for b in listed] == ["Build"]
    assert _units(capsys) == []


def _store_huge_units(paths: Paths) -> None:
    """A record as an earlier version let it in: no bounds checked."""
    from agent.context import Context
    from agent.value import ValueBook

    ctx = Context.open()
    ValueBook(ctx.store, ctx.clock).add_units(
        [("Build", date(2026, 3, 16), Decimal("1e308"), "typo")]
    )


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_a_stored_record_beyond_the_bounds_is_named_not_a_traceback(
    home: Paths, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    _run(capsys, "value", "units", "add", "Build", "4", "--date", "2026-03-16")
    _store_huge_units(home)
    (good, bad) = _units(capsys)
    report = ["value", "report", "--from", "2026-03-16", "--to", "2026-03-22"]

    code, _, err = _run(capsys, *report, "--format", fmt)
    assert code == 2
    assert f"units record {bad['id']} (build, 2026-03-16)" in err
    assert f"`punchclock value units delete {bad['id']}`" in err
    assert "Traceback" not in err

    assert _run(capsys, "value", "units", "delete", str(bad["id"]))[0] == 0
    code, out, err = _run(capsys, *report, "--format", "json")
    assert code == 0, err
    (row,) = json.loads(out)["rows"]
    assert row["units"] == 4.0
    assert _units(capsys) == [good]


def test_units_are_listed_by_kind_and_days_and_deleted_one_by_one(
    home: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(
        capsys, "value", "baseline", "set", "Review", "--minutes-per-unit", "10",
        "--cost-per-hour", "50",
    )  # fmt: skip
    for kind, units, day in (
        ("Build", "3", "2026-03-16"),
        ("Review", "2.5", "2026-03-17"),
        ("build", "5", "2026-03-20"),
    ):
        argv = ["value", "units", "add", kind, units, "--date", day, "-n", "batch"]
        assert _run(capsys, *argv)[0] == 0
    everything = _units(capsys)
    assert [(r["date"], r["kind"], r["units"]) for r in everything] == [
        ("2026-03-16", "Build", 3.0),
        ("2026-03-17", "Review", 2.5),
        ("2026-03-20", "Build", 5.0),
    ]
    first_build, review, last_build = (r["id"] for r in everything)

    code, out, _ = _run(
        capsys, "value", "units", "list", "--kind", "BUILD", "--from", "2026-03-17",
        "--to", "2026-03-31",
    )  # fmt: skip
    assert code == 0
    assert out.split() == [str(last_build), "2026-03-20", "Build", "5", "batch"]

    code, out, _ = _run(capsys, "value", "units", "delete", str(review))
    assert code == 0
    assert out == (
        f"Units record {review} deleted: 2.5 unit(s) of Review on 2026-03-17.\n"
    )
    assert [r["id"] for r in _units(capsys)] == [first_build, last_build]
    listed = json.loads(_run(capsys, "value", "baseline", "list", "--json")[1])
    assert [b["kind"] for b in listed] == ["Build", "Review"]

    code, _, err = _run(capsys, "value", "units", "delete", str(review))
    assert code == 2
    assert f"no units record {review}" in err
    assert "`punchclock value units list`" in err


def test_an_empty_units_list_says_how_to_add(
    home: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "value", "units", "list")

    assert code == 0
    assert "punchclock value units add" in out


def test_a_bad_rate_names_the_key(paths: Paths) -> None:
    paths.settings_file.write_text(
        'version = 1\n[[rates.rate]]\namount = "lots"\n', encoding="utf-8"
    )

    (problem,) = load_settings(paths).problems

    assert "rates.rate" in problem
    assert "entry 1 whose value is not a number (key amount)" in problem


def test_an_unrated_gap_under_a_minute_shows_its_seconds(
    home: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    for project, start, duration in (
        ("Acme", "2026-03-16 09:00", "1h"),
        ("Other", "2026-03-16 11:00", "1s"),
    ):
        _run(capsys, "projects", "add", project)
        argv = ["entries", "add", project, "--start", start, "--duration", duration]
        assert _run(capsys, *argv)[0] == 0, capsys.readouterr()

    code, out, err = _run(
        capsys, "report", "--from", "2026-03-16", "--to", "2026-03-16", "--with-cost"
    )

    assert code == 0, err
    assert "No pay rate covers 1:00:01 of this time" not in out
    assert "No pay rate covers 1:00 of this time" in out
    assert "No bill rate covers 0:00:01 of this time" in out


def test_a_stored_baseline_beyond_the_bounds_is_named_and_can_be_set_again(
    home: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.context import Context
    from agent.value import Baseline, ValueBook

    ctx = Context.open()
    ValueBook(ctx.store, ctx.clock).set_baselines(
        [Baseline("Build", Decimal("1e300"), Decimal(60), "EUR")]
    )
    _run(capsys, "value", "units", "add", "Build", "4", "--date", "2026-03-16")
    report = ["value", "report", "--from", "2026-03-16", "--to", "2026-03-22"]

    code, _, err = _run(capsys, *report)
    assert code == 2
    assert "the baseline for 'Build' holds minutes per unit 1E+300" in err
    assert "`punchclock value baseline set 'Build' ...`" in err
    assert _run(capsys, "value", "baseline", "list")[0] == 0

    _run(
        capsys, "value", "baseline", "set", "Build", "--minutes-per-unit", "30",
        "--cost-per-hour", "60",
    )  # fmt: skip
    code, out, err = _run(capsys, *report, "--format", "json")
    assert code == 0, err
    assert json.loads(out)["rows"][0]["units"] == 4.0
