"""Rates: the most specific wins, effective dates split time, a rate change
never rewrites the cost of time already worked, and paid breaks and kept idle
time are costed as policy says while unpaid breaks never are."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.cost_report import collect_cost_report
from agent.idle import IdleAnswer
from agent.rates import CostedTime, CostKind, Money, costed_time, total
from agent.settings import Settings
from tests.breaks.conftest import POLICIES, BreakWorld, make_world
from tests.money.conftest import Desk, local, settings_from

EUR = "EUR"


def _costs(desk: Desk, settings: Settings, start: str, end: str) -> list[CostedTime]:
    with desk.store.read() as session:
        return costed_time(
            session, settings, local(start), local(end), desk.clock.now()
        )


def test_task_rate_beats_project_rate_beats_the_workers_own(desk: Desk) -> None:
    settings = settings_from(
        {
            "rates": {
                "rate": [
                    {"amount": 10},
                    {"amount": 20, "project": "Acme"},
                    {"amount": 30, "project": "acme", "task": " DESIGN "},
                    {"amount": 50, "kind": "bill", "project": "Acme"},
                ]
            }
        }
    )
    desk.work("Acme", "2026-03-23 09:00", "2026-03-23 10:00", task="Design")
    desk.work("Acme", "2026-03-23 10:00", "2026-03-23 11:00", task="Translation")
    desk.work("Globex", "2026-03-23 11:00", "2026-03-23 11:30")

    pieces = _costs(desk, settings, "2026-03-23 00:00", "2026-03-24 00:00")

    assert [(p.project, p.task, p.pay, p.bill) for p in pieces] == [
        ("Acme", "Design", Money.of(Decimal(30), EUR), Money.of(Decimal(50), EUR)),
        ("Acme", "Translation", Money.of(Decimal(20), EUR), Money.of(Decimal(50), EUR)),
        ("Globex", None, Money.of(Decimal(5), EUR), Money()),
    ]
    # Globex has no bill rate: uncosted, and said so, not billed at 0.
    assert pieces[2].bill_rated is False
    assert pieces[2].pay_rated is True


def test_an_entry_across_a_rates_effective_date_is_costed_at_each(desk: Desk) -> None:
    rates = [
        {"amount": 20, "project": "Acme"},
        {"amount": 26, "project": "Acme", "effective_from": "2026-03-24"},
    ]
    settings = settings_from({"rates": {"rate": rates}})
    # 23:00 to 01:00 local: one hour before the new rate, one after.
    desk.work("Acme", "2026-03-23 23:00", "2026-03-24 01:00")

    pieces = _costs(desk, settings, "2026-03-23 00:00", "2026-03-25 00:00")

    assert total(p.pay for p in pieces) == Money.of(Decimal(46), EUR)


@pytest.mark.parametrize("shown_in", ["Europe/Berlin", "America/New_York", "UTC"])
def test_a_rates_effective_date_is_the_workers_midnight_in_any_report_zone(
    desk: Desk, shown_in: str
) -> None:
    rates = [
        {"amount": 20, "project": "Acme"},
        {"amount": 26, "project": "Acme", "effective_from": "2026-03-24"},
    ]
    settings = settings_from({"rates": {"rate": rates}})  # the worker: Berlin
    # 23:00 to 01:00 in Berlin: one hour at 20, one at 26, wherever the
    # report is read (in New York it is 17:00 to 19:00 on the 23rd).
    desk.work("Acme", "2026-03-23 23:00", "2026-03-24 01:00")

    report = collect_cost_report(
        desk.store,
        settings,
        "project",
        ZoneInfo(shown_in),
        date(2026, 3, 23),
        date(2026, 3, 24),
        desk.clock.now(),
    )

    assert report.total.pay == Money.of(Decimal(46), EUR)


def test_a_rate_change_leaves_the_cost_of_earlier_time_as_it_was(desk: Desk) -> None:
    before = [{"amount": 20, "project": "Acme"}]
    desk.work("Acme", "2026-03-23 09:00", "2026-03-23 12:00")
    desk.work("Acme", "2026-03-25 09:00", "2026-03-25 10:00")
    old = _costs(
        desk,
        settings_from({"rates": {"rate": before}}),
        "2026-03-23 00:00",
        "2026-03-26 00:00",
    )

    # The rate goes up from the 25th: a new rate from a later date.
    raised = [
        *before,
        {"amount": 30, "project": "Acme", "effective_from": "2026-03-25"},
    ]
    new = _costs(
        desk,
        settings_from({"rates": {"rate": raised}}),
        "2026-03-23 00:00",
        "2026-03-26 00:00",
    )

    assert old[0].pay == new[0].pay == Money.of(Decimal(60), EUR)
    assert old[1].pay == Money.of(Decimal(20), EUR)
    assert new[1].pay == Money.of(Decimal(30), EUR)


def test_an_entry_across_the_spring_forward_costs_its_elapsed_hours(desk: Desk) -> None:
    settings = settings_from({"rates": {"rate": [{"amount": 15}]}})
    # 01:00 to 04:00 on the night clocks skip 02:00-03:00: two hours worked.
    desk.work("Globex", "2026-03-29 01:00", "2026-03-29 04:00")

    pieces = _costs(desk, settings, "2026-03-29 00:00", "2026-03-30 00:00")

    assert pieces[0].seconds == 7200
    assert pieces[0].pay == Money.of(Decimal(30), EUR)


def _day_with_breaks_and_idle(tmp_path: Path) -> BreakWorld:
    """From 09:00: a minute of typing, 10 minutes away (kept as work), work
    to 10:00, a paid 15-minute coffee break, 10:15-11:15 work, an unpaid
    30-minute nap, 11:45-12:15 work."""
    world = make_world(tmp_path, POLICIES)
    world.timer.start("Acme")
    world.tick(60, typing=True)
    world.tick(600, typing=False)  # cut at the last input, 09:01
    world.tick(1)  # back: the idle period closes and the entry continues
    prompt = world.monitor.pending()
    assert prompt is not None
    world.monitor.resolve(prompt.period_id, IdleAnswer.keep())
    world.clock.advance((local_utc(10) - world.clock.now()).total_seconds())
    world.breaks.start("coffee")
    world.work(0.25)
    world.breaks.stop()
    world.work(1)
    world.breaks.start("nap")
    world.work(0.5)
    world.breaks.stop()
    world.work(0.5)
    world.timer.stop()
    return world


def local_utc(hour: int) -> datetime:
    return datetime(2026, 1, 5, hour, tzinfo=UTC)


def _cost_of_day(
    world: BreakWorld, settings: Settings
) -> tuple[Money, Money, dict[str, float]]:
    store, clock = world.store, world.clock
    with store.read() as session:
        start = local_utc(0)
        pieces = costed_time(session, settings, start, clock.now(), clock.now())
    seconds: dict[str, float] = {}
    for piece in pieces:
        seconds[piece.kind] = seconds.get(piece.kind, 0.0) + piece.seconds
    return total(p.pay for p in pieces), total(p.bill for p in pieces), seconds


RATES = [
    {"amount": 10, "project": "Acme"},
    {"amount": 40, "kind": "bill", "project": "Acme"},
]


def test_paid_breaks_and_kept_idle_are_costed_by_policy_unpaid_breaks_never(
    tmp_path: Path,
) -> None:
    world = _day_with_breaks_and_idle(tmp_path)
    settings = settings_from(
        {"rates": {"rate": RATES, "paid_breaks": "pay", "kept_idle": "pay-and-bill"}}
    )

    pay, bill, seconds = _cost_of_day(world, settings)

    # By hand: work 09:00-09:01, 09:11:01-10:00, 10:15-11:15 and 11:45-12:15
    # is 60 + 2939 + 3600 + 1800 = 8399 s; kept idle 09:01-09:11:01 is 601 s;
    # the paid coffee break 900 s; the unpaid nap (1800 s) counts nowhere.
    assert seconds == {
        CostKind.WORK: 8399,
        CostKind.KEPT_IDLE: 601,
        CostKind.PAID_BREAK: 900,
    }
    # Pay: 8399 + 601 + 900 = 9900 s at 10/h = 27.50; bill (breaks are paid,
    # not billed): 8399 + 601 = 9000 s at 40/h = 100.00.
    assert pay == Money.of(Decimal("27.5"), EUR)
    assert bill == Money.of(Decimal(100), EUR)


def test_breaks_and_kept_idle_cost_nothing_when_policy_says_none(
    tmp_path: Path,
) -> None:
    world = _day_with_breaks_and_idle(tmp_path)
    settings = settings_from(
        {"rates": {"rate": RATES, "paid_breaks": "none", "kept_idle": "none"}}
    )

    pay, bill, _ = _cost_of_day(world, settings)

    # Only the 8399 s of work: 23.33 paid, 93.32 billed.
    assert pay.rounded() == {EUR: Decimal("23.33")}
    assert bill.rounded() == {EUR: Decimal("93.32")}


def test_money_rounds_half_to_even_only_when_shown() -> None:
    money = Money.of(Decimal("0.125"), EUR) + Money.of(Decimal("1000"), "USD")

    assert money.text() == "0.12 EUR + 1,000.00 USD"
    assert Money().text() == "—"
    assert money.as_json() == {EUR: 0.12, "USD": 1000.0}
