""" "What is collected now" deletes the last screenshot within its grace
period, through the real agent (fake screen, real store)."""

from __future__ import annotations

import dataclasses
import random

import pytest
from pytestqt.qtbot import QtBot

from agent.capturing import CaptureSet
from agent.clock import ManualClock
from agent.screenshots import ShotSchedule
from agent.service import Agent, AgentConfig
from agent.settings import default_settings
from tests.screenshots.test_delete_time import LiveScreen, PresentIdle, ScriptedFocus
from tests.ui.conftest import settle
from ui.collected import CollectedWindow
from ui.services import Services
from ui.shell import Shell

GRACE_S = 120


@pytest.fixture
def agent_config() -> AgentConfig:
    settings = default_settings()
    screenshots = dataclasses.replace(
        settings.screenshots, per_slot=1, grace_seconds=GRACE_S
    )
    return AgentConfig(screenshots=screenshots)


@pytest.fixture
def shot(services: Services, agent: Agent, clock: ManualClock) -> int:
    """One screenshot taken by the agent while a timer runs; its id."""
    settings = services.settings
    capture = dataclasses.replace(settings.capture, screenshots_enabled=True)
    services.settings = dataclasses.replace(settings, capture=capture)
    services.consent.accept(services.collection())
    focus = ScriptedFocus(clock)
    agent.enable_capture(CaptureSet(focus, None, None, PresentIdle(), LiveScreen()))
    assert agent.screenshots is not None
    agent.screenshots.schedule = ShotSchedule(10, 0, random.Random(1))
    services.add_project("Acme", None)
    agent.timer.start("Acme")
    agent.tick()
    focus.focus("editor")
    clock.advance(30)
    agent.tick()
    taken = agent.screenshots.take_now().result(timeout=30)
    assert taken is not None
    assert taken.shot_ids
    return taken.shot_ids[0]


def open_collected(qtbot: QtBot, shell: Shell) -> CollectedWindow:
    shell.open_collected()
    window = shell.collected
    assert window is not None
    qtbot.addWidget(window)
    qtbot.waitUntil(window.delete_button.isVisible)
    return window


def test_the_last_screenshot_is_deleted_from_the_window_within_its_grace(
    qtbot: QtBot, shell: Shell, services: Services, shot: int
) -> None:
    window = open_collected(qtbot, shell)
    assert window.delete_button.isEnabled()

    window.delete_button.click()
    qtbot.waitUntil(lambda: "Deleted by you" in window.screenshot.text())

    last = services.last_capture()
    assert last is not None
    assert last.shot_ids[0] == shot
    assert last.deleted_by == "worker"
    assert not window.delete_button.isEnabled()
    assert not window.delete_note.isVisible()
    window.close()


def test_after_the_grace_the_button_is_off_and_a_late_click_is_refused(
    qtbot: QtBot, shell: Shell, services: Services, clock: ManualClock, shot: int
) -> None:
    window = open_collected(qtbot, shell)
    assert window.delete_button.isEnabled()

    clock.advance(GRACE_S + 1)
    # A click that left before the window knew: the agent refuses it.
    shell.delete_screenshot(shot)
    qtbot.waitUntil(window.delete_note.isVisible)
    settle(qtbot, shell)

    assert "over" in window.delete_note.text()
    assert not window.delete_button.isEnabled()
    last = services.last_capture()
    assert last is not None
    assert last.deleted_at is None
    window.close()
