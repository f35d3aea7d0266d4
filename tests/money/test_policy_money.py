"""Rates and budgets from the server's policy and from local settings: item
by item, the server's wins where both set one, and the rest of both apply."""

from __future__ import annotations

import json

import pytest

from agent.cli import main
from agent.paths import Paths
from agent.policy import load_effective, save_server_policy

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
        # The server's bill rate for Acme replaces the local one, dated or not:
        # a later-dated local rate must not outbid the policy.
        ("bill", "acme", ""): 55.0,
        ("pay", "globex", ""): 15.0,  # only local: kept
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

    assert len(effective.settings.rates.rate) == 3  # the server's bad one dropped
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


def test_the_policy_sync_stored_reaches_every_command(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    paths.settings_file.write_text(LOCAL, encoding="utf-8")
    save_server_policy(paths, SERVER)
    main(["projects", "add", "Acme"])
    main(["entries", "add", "Acme", "--start", "2026-03-16 09:00", "--duration", "2h"])
    capsys.readouterr()

    main(["report", "--from", "2026-03-16", "--with-cost", "--format", "json"])

    shown = json.loads(capsys.readouterr().out)
    # 2 h at the server's 22/h pay and 55/h bill, not the local 20 and 50.
    assert shown["total_pay"] == {"EUR": 44.0}
    assert shown["total_bill"] == {"EUR": 110.0}
