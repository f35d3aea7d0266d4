"""Rates and budgets from the server's policy and from local settings: item
by item, the server's wins where both set one, and the rest of both apply."""

from __future__ import annotations

import json

from agent.paths import Paths
from agent.policy import load_effective

LOCAL = """\
version = 1
[rates]
rate = [
  {amount = 20, project = "Acme"},
  {amount = 15, project = "Globex"},
  {amount = 50, kind = "bill", project = "Acme", effective_from = "2026-01-01"},
]
[budgets]
budget = [
  {project = "Acme", hours = 40, period = "week"},
  {project = "Globex", amount = 500},
]
over_budget = "continue"
"""

SERVER = {
    "rates": {
        "rate": [
            {"amount": 22, "project": " acme "},
            {"amount": 55, "kind": "bill", "project": "Acme"},
        ]
    },
    "budgets": {"budget": [{"project": "ACME", "hours": 30, "period": "week"}]},
}


def test_the_servers_rates_and_budgets_win_where_both_exist(paths: Paths) -> None:
    paths.settings_file.write_text(LOCAL, encoding="utf-8")

    effective = load_effective(paths, json.dumps(SERVER))

    assert effective.problems == []
    rates = {
        (r.kind, r.project.strip().casefold(), r.effective_from): r.amount
        for r in effective.settings.rates.rate
    }
    assert rates == {
        ("pay", "acme", ""): 22.0,  # the server's, over the local 20
        ("bill", "acme", ""): 55.0,  # only the server sets it
        ("pay", "globex", ""): 15.0,  # only local: kept
        ("bill", "acme", "2026-01-01"): 50.0,  # a different date: kept
    }
    budgets = {
        (b.project.casefold(), b.period): (b.hours, b.amount)
        for b in effective.settings.budgets.budget
    }
    assert budgets == {("acme", "week"): (30.0, 0.0), ("globex", "total"): (0.0, 500.0)}
    assert "rates.rate" in effective.locked


def test_a_bad_rate_from_the_server_is_named_and_the_local_ones_stay(
    paths: Paths,
) -> None:
    paths.settings_file.write_text(LOCAL, encoding="utf-8")
    hostile = {"rates": {"rate": [{"amount": -3}]}, "limits": {"daily_hours": 30}}

    effective = load_effective(paths, json.dumps(hostile))

    assert len(effective.settings.rates.rate) == 3
    assert effective.settings.limits.daily_hours == 0
    text = "\n".join(effective.problems)
    assert "the server's policy: rates.rate" in text
    assert "is not an amount from 0" in text
    assert "limits.daily_hours = 30 is not between 0 and 24" in text


def test_settings_refuse_ambiguous_rates_and_budgets(paths: Paths) -> None:
    paths.settings_file.write_text(
        'version = 1\n[rates]\nrate = [{amount = 1, task = "Design"}]\n'
        '[budgets]\nbudget = [{project = "Acme", hours = 1, amount = 2}]\n'
        '[limits]\nshift = [{days = ["funday"]}]\n',
        encoding="utf-8",
    )

    effective = load_effective(paths, None)

    text = "\n".join(effective.problems)
    assert "has rate 1 with a task but no project" in text
    assert "has budget 1 without exactly one of hours or amount" in text
    assert 'has "funday", which is not "monday" ... "sunday"' in text
    assert effective.settings.rates.rate == ()
