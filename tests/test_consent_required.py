"""A policy that requires capture keeps the timer for workers who consented."""

from __future__ import annotations

import json

import pytest

from agent.cli import main
from agent.paths import Paths
from agent.policy import load_effective, policy_file

REQUIRED = "[consent]\ncapture_required = true\n"


@pytest.fixture
def required(paths: Paths) -> Paths:
    policy_file(paths).write_text(REQUIRED, encoding="utf-8")
    return paths


def _status(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    status: dict[str, object] = json.loads(capsys.readouterr().out)
    return status


def test_the_policy_key_is_understood_and_locked(required: Paths) -> None:
    effective = load_effective(required)

    assert effective.problems == []
    assert effective.settings.consent.capture_required
    assert "consent.capture_required" in effective.locked


def test_start_is_refused_until_the_worker_consents(
    required: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["start", "Acme", "--create"]) != 0
    refused = capsys.readouterr().err
    assert "policy requires capture" in refused
    assert "you have not answered yet" in refused
    assert "punchclock consent accept" in refused
    assert _status(capsys)["state"] == "stopped"

    assert main(["consent", "revoke"]) == 0
    assert main(["start", "Acme", "--create"]) != 0
    assert "you declined it" in capsys.readouterr().err

    assert main(["consent", "accept"]) == 0
    assert main(["start", "Acme", "--create"]) == 0
    assert _status(capsys)["state"] == "running"


def test_consent_show_says_the_timer_needs_it(
    required: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["consent", "show", "--json"]) == 0

    assert json.loads(capsys.readouterr().out)["requires_capture"] is True


def test_without_the_policy_the_timer_starts_without_consent(
    paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["consent", "revoke"]) == 0

    assert main(["start", "Acme", "--create"]) == 0
