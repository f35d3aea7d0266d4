"""The outsourcing value report on a worked example checked by hand, and
baselines and units imported from CSV all or nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from agent.breaks import Breaks
from agent.budgets import budget_status
from agent.errors import UserError
from agent.settings import BreakSettings
from agent.value import (
    ValueBook,
    baseline_from,
    read_baselines_csv,
    read_units_csv,
    render_value,
    value_report,
)
from tests.breaks.conftest import POLICIES
from tests.money.conftest import BERLIN, Desk, settings_from

RATES = {
    "rate": [
        {"amount": 20, "kind": "bill", "project": "Acme"},
        {"amount": 24, "kind": "bill", "project": "Globex"},
        {"amount": 15, "kind": "pay"},
    ]
}


def _example(desk: Desk) -> ValueBook:
    """Two weeks of outsourced translation against an in-house baseline of
    30 minutes per unit at 60 EUR per hour (30 EUR per unit)."""
    book = ValueBook(desk.store, desk.clock)
    book.set_baselines([baseline_from("translation", "30", "60", "", "EUR")])
    # Week of 16 March: 6 h on Acme, 10 units.
    desk.work("Acme", "2026-03-16 09:00", "2026-03-16 15:00", task="Translation")
    # Week of 23 March: 4 h on Acme, 1 h on Globex, 12 units.
    desk.work("Acme", "2026-03-23 09:00", "2026-03-23 13:00", task="Translation")
    desk.work("Globex", "2026-03-24 09:00", "2026-03-24 10:00", task="Translation")
    # Design has no baseline: not in the report.
    desk.work("Acme", "2026-03-24 10:00", "2026-03-24 12:00", task="Design")
    book.add_units(
        [
            ("Translation", date(2026, 3, 16), Decimal(6), None),
            ("translation", date(2026, 3, 17), Decimal(4), "batch 2"),
            ("Translation", date(2026, 3, 25), Decimal(12), None),
        ]
    )
    return book


def test_the_value_report_of_a_worked_example_checked_by_hand(desk: Desk) -> None:
    _example(desk)
    settings = settings_from({"rates": RATES})

    report = value_report(
        desk.store,
        settings,
        BERLIN,
        date(2026, 3, 16),
        date(2026, 3, 29),
        desk.clock.now(),
    )
    first, second = (row.as_json() for row in report.rows)

    # Week 1: 360 min / 10 units = 36 min per unit, 6 min (20 %) over the
    # baseline's 30. Cost 6 h x 20 = 120 EUR, 12 EUR per unit against 30
    # in-house: 18 EUR (60 %) less; saving 10 x 30 - 120 = 180 EUR.
    assert first == {
        "kind": "translation",
        "period_start": "2026-03-16",
        "seconds": 21600,
        "units": 10.0,
        "minutes_per_unit": 36.0,
        "baseline_minutes_per_unit": 30.0,
        "time_difference_minutes": 6.0,
        "time_difference_percent": 20.0,
        "currency": "EUR",
        "cost": 120.0,
        "cost_per_unit": 12.0,
        "baseline_cost_per_unit": 30.0,
        "cost_difference_per_unit": -18.0,
        "cost_difference_percent": -60.0,
        "saving": 180.0,
        "cost_trend_percent": None,
        "time_trend_percent": None,
    }
    # Week 2: 300 min / 12 = 25 min per unit (5 min, 16.7 % under). Cost
    # 4 h x 20 + 1 h x 24 = 104 EUR, 8.67 per unit: 21.33 (71.1 %) under 30;
    # saving 12 x 30 - 104 = 256. Trend: 8.67 against 12 is -27.8 %, 25 min
    # against 36 is -30.6 %.
    assert second["seconds"] == 18000
    assert second["units"] == 12.0
    assert second["minutes_per_unit"] == 25.0
    assert second["time_difference_percent"] == -16.7
    assert second["cost"] == 104.0
    assert second["cost_per_unit"] == 8.67
    assert second["cost_difference_per_unit"] == -21.33
    assert second["cost_difference_percent"] == -71.1
    assert second["saving"] == 256.0
    assert second["cost_trend_percent"] == -27.8
    assert second["time_trend_percent"] == -30.6
    # Both weeks: 660 min / 22 units = 30 min, 224 EUR, saving 660 - 224.
    (total,) = (row.as_json() for row in report.totals)
    assert (total["minutes_per_unit"], total["cost"], total["saving"]) == (
        30.0,
        224.0,
        436.0,
    )
    assert total["cost_per_unit"] == 10.18

    lines = render_value(report, "table").splitlines()
    assert lines[5].split() == [
        "translation", "2026-03-23", "12", "5:00", "25.0", "30.0", "-17", "%",
        "8.67", "EUR", "30.00", "EUR", "-71", "%", "256.00", "EUR", "-28", "%",
    ]  # fmt: skip
    assert lines[7].split()[:4] == ["translation", "total", "22", "11:00"]
    csv_lines = render_value(report, "csv").splitlines()
    assert csv_lines[0].startswith("kind,period_start,seconds,units,minutes_per_unit")
    assert csv_lines[1].startswith("translation,2026-03-16,21600,10.0,36.0,30.0,6.0")


def test_the_pay_basis_and_a_month_period(desk: Desk) -> None:
    _example(desk)
    settings = settings_from({"rates": RATES})

    report = value_report(
        desk.store,
        settings,
        BERLIN,
        date(2026, 3, 1),
        date(2026, 3, 29),
        desk.clock.now(),
        period="month",
        basis="pay",
    )

    (row,) = report.rows
    # 11 h paid at 15/h = 165 EUR for 22 units.
    assert (row.as_json()["cost"], row.as_json()["cost_per_unit"]) == (165.0, 7.5)


def test_a_baseline_csv_with_a_bad_line_imports_nothing(
    desk: Desk, tmp_path: Path
) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "kind,minutes_per_unit,cost_per_hour,currency\n"
        "Translation,30,60,eur\n"
        "Review,12.5,45.50,\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "kind,minutes_per_unit,cost_per_hour\n"
        "Layout,20,50\n"
        "Proofing,-5,40\n"
        "\n"
        "Captions,ten,40\n"
        "Extra,1,2,3\n"
        "layout,25,50\n",
        encoding="utf-8",
    )
    book = ValueBook(desk.store, desk.clock)

    with pytest.raises(UserError) as refused:
        read_baselines_csv(bad, "EUR")
    message = str(refused.value)
    assert "nothing was imported" in message
    assert "line 3: minutes per unit '-5' is not a number above 0" in message
    assert "line 5: minutes per unit 'ten' is not a number above 0" in message
    assert "line 6: 4 cells where the header has 3" in message
    assert "line 7: 'layout' is on line 2 already; keep one" in message
    assert "line 2:" not in message  # Layout itself is fine
    assert book.baselines() == []

    book.set_baselines(read_baselines_csv(good, "USD"))
    # 12.5 min at 45.50/h is 9.48 per unit; a currency left empty takes the
    # default, one in small letters is read in capitals.
    assert [
        (b.kind, round(b.cost_per_unit, 2), b.currency) for b in book.baselines()
    ] == [
        ("Review", Decimal("9.48"), "USD"),
        ("Translation", Decimal(30), "EUR"),
    ]


def test_a_units_csv_names_a_kind_without_baseline_and_imports_nothing(
    desk: Desk, tmp_path: Path
) -> None:
    book = _example(desk)
    path = tmp_path / "units.csv"
    path.write_text(
        "date,kind,units,note\n"
        "2026-03-26,Translation,3,\n"
        "2026-03-26,Subtitles,2,\n"
        "26.03.2026,Translation,1,\n",
        encoding="utf-8",
    )

    with pytest.raises(UserError) as refused:
        read_units_csv(path, {"translation"})

    assert "line 3: no baseline for the kind of task 'Subtitles'" in str(refused.value)
    assert "line 4: date '26.03.2026' is not written YYYY-MM-DD" in str(refused.value)
    assert sum(book.units(date(2026, 3, 1), date(2026, 3, 31)).values()) == 22


def _translation_with_a_coffee_break(desk: Desk) -> None:
    """Monday 30 March: 08:00-09:00 translation, a paid 15-minute coffee
    break, 09:15-10:15 translation; 4 units."""
    book = ValueBook(desk.store, desk.clock)
    book.set_baselines([baseline_from("translation", "30", "60", "", "EUR")])
    book.add_units([("Translation", date(2026, 3, 30), Decimal(4), None)])
    breaks = Breaks(desk.store, desk.clock, BreakSettings(POLICIES, 60))
    desk.timer.start("Acme", "Translation")
    desk.clock.advance(3600)
    breaks.start("coffee")
    desk.clock.advance(900)
    breaks.stop()
    desk.clock.advance(3600)
    desk.timer.stop()


@pytest.mark.parametrize(
    ("paid_breaks", "seconds", "pay"),
    [("none", 7200, 30.0), ("pay", 8100, 33.75), ("pay-and-bill", 8100, 33.75)],
)
def test_paid_breaks_count_in_the_value_report_as_rates_policy_says(
    desk: Desk, paid_breaks: str, seconds: int, pay: float
) -> None:
    _translation_with_a_coffee_break(desk)
    settings = settings_from({"rates": {**RATES, "paid_breaks": paid_breaks}})

    def row(basis: str) -> dict[str, object]:
        report = value_report(
            desk.store,
            settings,
            BERLIN,
            date(2026, 3, 30),
            date(2026, 3, 30),
            desk.clock.now(),
            basis=basis,
        )
        (only,) = report.rows
        return only.as_json()

    # Budgets count the same time (hours budget of Acme, all time).
    budget = settings_from(
        {
            "rates": {**RATES, "paid_breaks": paid_breaks},
            "budgets": {"budget": [{"project": "Acme", "hours": 10}]},
        }
    )
    with desk.store.read() as session:
        (status,) = budget_status(session, budget, BERLIN, desk.clock.now())
    assert status.used * 3600 == seconds
    # 2 h of work (+ 15 min of break where it counts) at 15/h pay.
    assert (row("pay")["seconds"], row("pay")["cost"]) == (seconds, pay)
    # Billed: 2 h x 20, plus the break only under "pay-and-bill".
    billed = 45.0 if paid_breaks == "pay-and-bill" else 40.0
    assert row("bill")["cost"] == billed


def test_a_period_after_an_empty_one_has_no_trend(desk: Desk) -> None:
    """Weeks of 2 and 9 March with work and units, nothing in the week of
    16 March, work and units again in the week of 23 March: that week's
    previous period is the empty one, not the week of 9 March."""
    book = ValueBook(desk.store, desk.clock)
    book.set_baselines([baseline_from("translation", "30", "60", "", "EUR")])
    for day, hours in (("02", 10), ("09", 6), ("23", 4)):
        end = f"2026-03-{day} {8 + hours:02d}:00"
        desk.work("Acme", f"2026-03-{day} 08:00", end, task="Translation")
        book.add_units([("Translation", date(2026, 3, int(day)), Decimal(10), None)])
    settings = settings_from({"rates": RATES})

    report = value_report(
        desk.store,
        settings,
        BERLIN,
        date(2026, 3, 2),
        date(2026, 3, 29),
        desk.clock.now(),
    )

    shown = [row.as_json() for row in report.rows]
    assert [row["period_start"] for row in shown] == [
        "2026-03-02",
        "2026-03-09",
        "2026-03-23",
    ]
    # 9 March against 2 March: 36 min per unit against 60 is -40 %.
    assert shown[1]["time_trend_percent"] == -40.0
    assert shown[1]["cost_trend_percent"] == -40.0
    # 23 March against the empty week of 16 March: no trend.
    assert shown[2]["time_trend_percent"] is None
    assert shown[2]["cost_trend_percent"] is None
    assert render_value(report, "table").splitlines()[6].split()[-1] == "—"
