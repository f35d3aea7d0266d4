"""Settings saved from the tray reach the running agent at once."""

from __future__ import annotations

import threading

import pytest
from pytestqt.qtbot import QtBot

from agent.service import Agent
from agent.settings import Settings
from ui.shell import Shell


def test_a_new_idle_threshold_applies_without_a_restart(
    qtbot: QtBot, shell: Shell, agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert agent.idle.policy.threshold_seconds == 5 * 60
    applied_on: list[threading.Thread] = []
    apply = agent.apply_settings

    def recording(settings: Settings) -> None:
        applied_on.append(threading.current_thread())
        apply(settings)

    monkeypatch.setattr(agent, "apply_settings", recording)
    shell.open_settings()
    dialog = shell.settings_dialog
    assert dialog is not None
    dialog.idle_threshold.setValue(9)

    dialog.accept()
    qtbot.waitUntil(lambda: shell.runner.idle)

    assert agent.idle.policy.threshold_seconds == 9 * 60
    assert agent.config.idle.threshold_minutes == 9
    # Through the command runner, never on the UI thread.
    assert applied_on
    assert threading.main_thread() not in applied_on
