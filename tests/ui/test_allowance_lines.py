"""The tray menu and the main window show what is left of the work limits
and of the running project's budget (agent/allowance.py), and a limit's
notice reaches the tray as a notification."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from pytestqt.qtbot import QtBot

from agent.service import Agent, AgentConfig
from tests.money.conftest import settings_from
from tests.ui.conftest import settle
from ui.services import Services
from ui.shell import Shell


@pytest.fixture
def agent_config() -> AgentConfig:
    return AgentConfig.from_settings(
        settings_from(
            {
                "limits": {"daily_hours": 8},
                "budgets": {"budget": [{"project": "Acme", "hours": 40}]},
            }
        )
    )


def test_menu_and_window_show_limits_and_budget_left(
    qtbot: QtBot, shell: Shell, services: Services, agent: Agent, artifacts_dir: Path
) -> None:
    services.add_project("Acme", None)
    services.timer.start("Acme")
    agent.clock.advance(90 * 60)
    agent.tick()
    settle(qtbot, shell)

    menu = shell.tray.menu
    menu.aboutToShow.emit()
    lines = {a.objectName(): a for a in menu.actions() if a.objectName()}
    assert lines["allowance:0"].text() == "Work limit: 6:30 left today"
    assert lines["allowance:1"].text() == "Budget of Acme: 38:30 h left (4 % used)"
    assert not lines["allowance:0"].isEnabled()
    assert shell.window.allowance.text() == (
        "Work limit: 6:30 left today\nBudget of Acme: 38:30 h left (4 % used)"
    )

    menu.popup(QPoint(0, 0))
    qtbot.waitExposed(menu)
    assert menu.grab().save(str(artifacts_dir / "tray-menu-limits-budget.png"))
    menu.hide()
    shell.window.show()
    qtbot.waitExposed(shell.window)
    assert shell.window.grab().save(str(artifacts_dir / "tray-main-window-limits.png"))


def test_the_cap_stopping_the_timer_becomes_a_tray_notification(
    qtbot: QtBot,
    shell: Shell,
    services: Services,
    agent: Agent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ui.allowance_notices")
    services.add_project("Acme", None)
    services.timer.start("Acme")
    agent.tick()
    agent.clock.advance(8 * 3600 + 5)

    notices = shell.tray._allowance_notices
    with qtbot.waitSignal(notices.noticed) as signal:
        agent.tick()  # on the agent's thread in the app; queued to the UI

    (notice,) = signal.args
    assert notice.title == "Punchclock — timer stopped"
    assert notice.message.startswith("The timer stopped: the daily limit is reached.")
    assert services.current() is None
    # Shown later, on the UI thread, through the tray's notify.
    qtbot.waitUntil(lambda: "showing notice: Punchclock — timer" in caplog.text)
