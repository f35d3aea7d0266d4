"""Break policies in settings and policy files: lists of tables, validated
like any section, replaced and locked as a whole by a policy."""

from __future__ import annotations

import tomllib

import pytest

from agent.breaks import BreakPolicy, BreakRule
from agent.paths import Paths
from agent.policy import load_effective, policy_file
from agent.settings import default_settings, load_settings, save_settings


def test_the_defaults_ship_a_paid_short_break_and_an_unpaid_lunch() -> None:
    policies = [BreakPolicy.from_settings(p) for p in default_settings().breaks.policy]
    assert [(p.name, p.paid, p.minutes, p.rule) for p in policies] == [
        ("short", True, 15, BreakRule.ANY),
        ("lunch", False, 60, BreakRule.ONCE),
    ]


def test_a_policy_file_replaces_the_list_and_locks_it(paths: Paths) -> None:
    policy_file(paths).write_text(
        "version = 1\n"
        "[[breaks.policy]]\n"
        'name = "lunch"\nminutes = 45\nrule = "once"\nhours = 3.5\n'
        "[[breaks.policy]]\n"
        'name = "stretch"\npaid = true\nminutes = 5\nrule = "after"\nhours = 1\n',
        encoding="utf-8",
    )

    effective = load_effective(paths)

    assert effective.problems == []
    lunch, stretch = effective.settings.breaks.policy
    assert (lunch.name, lunch.paid, lunch.minutes, lunch.hours) == (
        "lunch",
        False,
        45,
        3.5,
    )
    assert (stretch.rule, stretch.paid) == ("after", True)
    assert effective.is_locked("breaks", "policy")
    assert not effective.is_locked("breaks", "session_gap_minutes")


@pytest.mark.parametrize(
    ("table", "why"),
    [
        ('name = "x"\nminutes = 0', "entry 1 whose value is not between 1 and 480"),
        ('name = "x"\ncolour = "red"', "entry 1 with unknown key colour"),
        ("minutes = 5", "entry 1 without a name"),
        ('name = "x"\nrule = "after"', 'rule "after" but no hours'),
        ('name = "x"\nrule = "sometimes"', "entry 1 whose value is not one of"),
    ],
)
def test_a_bad_policy_names_the_entry_and_keeps_the_default_list(
    paths: Paths, table: str, why: str
) -> None:
    paths.settings_file.write_text(
        f"version = 1\n[[breaks.policy]]\n{table}\n", encoding="utf-8"
    )

    result = load_settings(paths)

    (problem,) = result.problems
    assert "breaks.policy" in problem
    assert why in problem
    assert result.settings.breaks == default_settings().breaks


def test_two_policies_with_one_name_are_refused(paths: Paths) -> None:
    paths.settings_file.write_text(
        'version = 1\n[breaks]\npolicy = [{name = "a"}, {name = "A"}]\n',
        encoding="utf-8",
    )
    (problem,) = load_settings(paths).problems
    assert "names two break policies alike" in problem


def test_saved_policies_round_trip(paths: Paths) -> None:
    import dataclasses

    defaults = default_settings()
    one = dataclasses.replace(defaults.breaks.policy[1], minutes=30, hours=2.5)
    settings = dataclasses.replace(
        defaults, breaks=dataclasses.replace(defaults.breaks, policy=(one,))
    )

    save_settings(paths, settings)

    raw = tomllib.loads(paths.settings_file.read_text("utf-8"))
    assert raw["breaks"]["policy"][0]["hours"] == 2.5
    result = load_settings(paths)
    assert result.problems == []
    assert result.settings == settings
