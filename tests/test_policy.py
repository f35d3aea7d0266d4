"""The organisation's policy over the worker's settings: override and lock."""

from __future__ import annotations

import json

import pytest

from agent.paths import Paths
from agent.policy import (
    load_effective,
    policy_file,
    save_server_policy,
    server_policy_file,
)


def test_without_policy_the_workers_settings_apply_and_nothing_is_locked(
    paths: Paths,
) -> None:
    paths.settings_file.write_text("version = 1\n[idle]\nthreshold_minutes = 12\n")

    effective = load_effective(paths)

    assert effective.settings.idle.threshold_minutes == 12
    assert effective.locked == frozenset()
    assert effective.problems == []


def test_a_policy_file_overrides_and_locks_what_it_sets(paths: Paths) -> None:
    paths.settings_file.write_text(
        "version = 1\n[idle]\nthreshold_minutes = 12\n[timer]\nflush_seconds = 3\n"
    )
    policy_file(paths).write_text("[idle]\nthreshold_minutes = 3\n")

    effective = load_effective(paths)

    assert effective.settings.idle.threshold_minutes == 3
    assert effective.settings.timer.flush_seconds == 3
    assert effective.is_locked("idle", "threshold_minutes")
    assert not effective.is_locked("timer", "flush_seconds")


def test_the_servers_policy_wins_over_the_file(paths: Paths) -> None:
    policy_file(paths).write_text('[capture]\ntitle_level = "app-only"\n')
    server = json.dumps({"capture": {"title_level": "domain-only"}})

    effective = load_effective(paths, server_policy=server)

    assert effective.settings.capture.title_level == "domain-only"
    assert effective.locked == {"capture.title_level"}


def test_a_broken_policy_file_is_reported_and_left_alone(paths: Paths) -> None:
    path = policy_file(paths)
    path.write_text("[idle\nthreshold_minutes = 3\n")
    before = path.read_bytes()

    effective = load_effective(paths)

    assert effective.settings.idle.threshold_minutes == 5
    assert effective.locked == frozenset()
    assert any(
        str(path) in problem and "line 1" in problem for problem in effective.problems
    )
    assert path.read_bytes() == before


def test_an_invalid_policy_value_is_reported_and_not_locked(paths: Paths) -> None:
    policy_file(paths).write_text("[idle]\nthreshold_minutes = 100000\n")

    effective = load_effective(paths)

    assert effective.settings.idle.threshold_minutes == 5
    assert not effective.is_locked("idle", "threshold_minutes")
    assert any("idle.threshold_minutes" in problem for problem in effective.problems)


@pytest.mark.parametrize("body", ["{not json", "[1, 2]"])
def test_a_malformed_server_policy_is_ignored_with_a_message(
    paths: Paths, body: str
) -> None:
    effective = load_effective(paths, server_policy=body)

    assert effective.locked == frozenset()
    assert any("server's policy" in problem for problem in effective.problems)


def test_a_wrong_title_level_falls_back_to_the_most_private(paths: Paths) -> None:
    paths.settings_file.write_text('version = 1\n[capture]\ntitle_level = "app_only"\n')

    effective = load_effective(paths)

    assert effective.settings.capture.title_level == "app-only"
    [problem] = effective.problems
    assert "capture.title_level" in problem
    assert "most private" in problem


def test_the_stored_server_policy_is_read_by_default_and_kept_private(
    paths: Paths,
) -> None:
    paths.settings_file.write_text("version = 1\n[idle]\nthreshold_minutes = 12\n")
    policy = {"idle": {"threshold_minutes": 3}}

    assert save_server_policy(paths, policy) is True
    assert save_server_policy(paths, policy) is False, "unchanged: no rewrite"
    assert oct(server_policy_file(paths).stat().st_mode & 0o777) == "0o600"
    effective = load_effective(paths)
    assert effective.settings.idle.threshold_minutes == 3
    assert effective.locked == {"idle.threshold_minutes"}

    assert save_server_policy(paths, None) is True
    assert not server_policy_file(paths).exists()
    assert load_effective(paths).settings.idle.threshold_minutes == 12


def test_a_server_policy_never_sets_sync(paths: Paths) -> None:
    server = json.dumps({"sync": {"server_url": "https://elsewhere.example"}})

    effective = load_effective(paths, server_policy=server)

    assert effective.settings.sync.server_url == ""
    assert effective.locked == frozenset()
    assert any("cannot set [sync]" in problem for problem in effective.problems)


def test_an_unreadable_stored_server_policy_is_reported(paths: Paths) -> None:
    server_policy_file(paths).write_bytes(b"\xff\xfe not utf-8")

    effective = load_effective(paths)

    assert effective.locked == frozenset()
    assert any("server-policy.json" in problem for problem in effective.problems)
