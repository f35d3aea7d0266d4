"""Budgets: used and left per period, each threshold told once (also across
a restart of the agent), and policy deciding whether tracking goes past 100 %."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from agent.allowance import Allowance, BudgetUsedUpError, Notice, StartGuard
from agent.budgets import budget_status, render_budgets
from agent.clock import ManualClock
from agent.settings import Settings
from agent.store import Store
from agent.timer import Timer
from tests.money.conftest import BERLIN, Desk, local, settings_from


def _budget(**budget: object) -> dict[str, object]:
    return {"project": "Acme", **budget}


class Agentish:
    """What the agent builds for budgets, over a store that can be reopened."""

    def __init__(self, path: Path, clock: ManualClock, settings: Settings) -> None:
        self.path, self.clock, self.settings = path, clock, settings
        self.notices: list[Notice] = []
        self.open()

    def open(self) -> None:
        self.store = Store.open(self.path)
        self.timer = Timer(self.store, self.clock, StartGuard(self.settings))
        self.allowance = Allowance(self.store, self.clock, self.timer, self.settings)
        self.allowance.add_listener(self.notices.append)

    def restart(self) -> None:
        self.store.close()
        self.open()

    def run(self, minutes: int) -> None:
        for _ in range(minutes):
            self.clock.advance(60)
            self.allowance.tick(self.timer.current())


def test_each_threshold_is_told_once_across_restarts(desk: Desk) -> None:
    settings = settings_from(
        {"budgets": {"budget": [_budget(hours=2, thresholds=[50, 100])]}}
    )
    agent = Agentish(desk.store.path, desk.clock, settings)
    agent.timer.start("Acme", "Design")
    agent.run(59)
    assert agent.notices == []

    agent.run(2)  # past 1 h: 50 %
    agent.restart()
    agent.run(30)  # still over 50 % after the restart: not told again
    agent.timer.stop()
    agent.restart()
    agent.timer.start("Acme")
    agent.run(40)  # past 2 h: 100 %; tracking goes on ("continue")

    messages = [notice.message for notice in agent.notices]
    assert len(messages) == 2
    assert messages[0].startswith(
        "50 % of the budget of Acme (2:00 h in total) is used"
    )
    assert messages[1].startswith("The budget of Acme (2:00 h in total) is used up")
    assert agent.timer.current() is not None
    assert agent.allowance.lines() == [
        "Budget of Acme: used up (2:11 h of 2:00 h in total)"
    ]
    agent.store.close()


def test_a_weekly_budget_tells_again_in_the_next_week(desk: Desk) -> None:
    settings = settings_from(
        {"budgets": {"budget": [_budget(hours=1, period="week", thresholds=[100])]}}
    )
    desk.work("Acme", "2026-03-23 09:00", "2026-03-23 10:30")  # last week
    agent = Agentish(desk.store.path, desk.clock, settings)
    agent.timer.start("Acme")
    agent.allowance.tick(agent.timer.current())
    assert agent.notices == []  # last week's 1.5 h count for last week
    assert agent.allowance.lines() == [
        "Budget of Acme: 1:00 h left this week (0 % used)"
    ]
    agent.run(61)

    assert len(agent.notices) == 1
    agent.store.close()


def test_over_budget_stop_ends_the_timer_at_the_budget_and_refuses_a_start(
    desk: Desk,
) -> None:
    rates = {"rate": [{"amount": 60, "kind": "bill", "project": "Acme"}]}
    budgets = {
        "budget": [_budget(amount=90, thresholds=[100])],
        "over_budget": "stop",
    }
    settings = settings_from({"rates": rates, "budgets": budgets})
    agent = Agentish(desk.store.path, desk.clock, settings)
    agent.timer.start("Acme")  # 08:00, billed 60/h: 90 EUR last 1.5 h
    agent.run(120)

    with desk.store.read() as session:
        (status,) = budget_status(session, settings, BERLIN, desk.clock.now())
    assert status.used == Decimal(90)
    assert agent.timer.current() is None
    assert [n.title for n in agent.notices] == [
        "Punchclock — budget",
        "Punchclock — timer stopped",
    ]
    with pytest.raises(
        BudgetUsedUpError, match=r"budget of 90\.00 EUR in total is used up"
    ):
        agent.timer.start("Acme")
    assert agent.timer.start("Globex").project == "Globex"
    agent.store.close()


def test_the_budget_report_in_table_csv_and_json(desk: Desk) -> None:
    settings = settings_from(
        {
            "rates": {"rate": [{"amount": 50, "kind": "bill"}]},
            "budgets": {
                "budget": [
                    _budget(hours=10, period="month"),
                    _budget(amount=1000, currency="EUR"),
                ]
            },
        }
    )
    desk.work("Acme", "2026-03-02 09:00", "2026-03-02 17:00")  # 8 h: 80 %
    desk.work("Acme", "2026-02-27 09:00", "2026-02-27 11:00")  # February
    now = local("2026-03-30 08:00")
    with desk.store.read() as session:
        statuses = budget_status(session, settings, BERLIN, now)

    table = render_budgets(statuses, "table", now)
    assert table.splitlines()[2].split() == [
        "Acme", "10:00", "h", "a", "month", "2026-03-01", "8:00", "h", "2:00", "h",
        "80", "%", "warning",
    ]  # fmt: skip
    # All time: 10 h billed at 50/h = 500 of 1,000.
    assert "500.00 EUR" in table.splitlines()[3]
    assert render_budgets(statuses, "csv", now).splitlines()[1] == (
        "Acme,hours,month,2026-03-01,,,10.0,8.0,2.0,80.0,warning"
    )
    json_text = render_budgets(statuses, "json", now)
    assert '"used": 500.0' in json_text
    assert '"state": "ok"' in json_text
