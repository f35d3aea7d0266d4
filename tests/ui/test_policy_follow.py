"""The tray follows a server policy that changes capture while it runs.

Sync stores the server's policy (:func:`agent.policy.save_server_policy`);
the shell's poll sees its stamp change, takes the settings in force anew,
and restarts capture under them when the worker's consent covers them, or
stops it and asks again when the policy now collects more.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pytestqt.qtbot import QtBot

from agent.capturing import CaptureSet
from agent.clock import Clock
from agent.consent import ConsentState
from agent.paths import Paths
from agent.policy import save_server_policy
from agent.service import Agent
from agent.settings import CaptureSettings
from capture.base import HealthState
from capture.focus.null import NullFocusSource
from tests.ui.conftest import FakeAutostart, settle
from ui.capture_switch import CaptureSwitch
from ui.commands import CommandRunner
from ui.services import Services
from ui.shell import POLICY_LOCK, Shell

NARROWER = {"capture": {"private_apps": ["KeePassXC"]}}
WIDER = {"capture": {"screenshots_enabled": True}, "screenshots": {"per_slot": 1}}


@dataclass
class Made:
    """The capture sets the switch built, and the settings each came from."""

    settings: list[CaptureSettings] = field(default_factory=list)

    def make(self, settings: CaptureSettings, _clock: Clock) -> CaptureSet:
        self.settings.append(settings)
        focus = NullFocusSource("no desktop in this test", state=HealthState.OFF)
        return CaptureSet(focus, None)


@pytest.fixture
def made() -> Made:
    return Made()


@pytest.fixture
def following(
    qtbot: QtBot,
    services: Services,
    runner: CommandRunner,
    agent: Agent,
    autostart: FakeAutostart,
    made: Made,
) -> Iterator[Shell]:
    """A shell with the real capture switch, capture on with consent."""
    switch = CaptureSwitch(agent, services.settings, make=made.make)
    shell = Shell(services, runner, switch, autostart, ask_consent=False)
    qtbot.addWidget(shell.window)
    shell.listen(agent)
    shell._change_consent(True, confirmed=True)
    settle(qtbot, shell)
    assert agent.capture is not None
    yield shell
    runner.wait()
    shell._consent_poll.stop()
    if shell.consent_dialog is not None:
        shell.consent_dialog.close()
    shell.tray.icon.hide()


def follow(qtbot: QtBot, shell: Shell) -> None:
    """One tick of the shell's consent poll, and what it set off."""
    shell._poll_consent()
    settle(qtbot, shell)


def test_a_narrower_policy_restarts_capture_under_it(
    qtbot: QtBot, following: Shell, paths: Paths, agent: Agent, made: Made
) -> None:
    first = agent.capture
    assert len(made.settings) == 1

    save_server_policy(paths, NARROWER)
    follow(qtbot, following)

    assert following.services.settings.capture.private_apps == ("KeePassXC",)
    assert len(made.settings) == 2
    assert made.settings[-1].private_apps == ("KeePassXC",)
    assert agent.capture is not None
    assert agent.capture is not first
    assert following.capture is not None
    assert following.capture.settings.capture.private_apps == ("KeePassXC",)
    assert following.locked == {"capture.private_apps": POLICY_LOCK}
    assert following.model.consent is ConsentState.GIVEN
    assert following.consent_dialog is None

    follow(qtbot, following)  # the same stamp: nothing restarts
    assert len(made.settings) == 2


def test_a_wider_policy_stops_capture_and_asks_for_consent(
    qtbot: QtBot, following: Shell, paths: Paths, agent: Agent, made: Made
) -> None:
    save_server_policy(paths, WIDER)
    follow(qtbot, following)

    assert agent.capture is None
    assert following.model.consent is ConsentState.STALE
    assert following.services.collection().collects("screenshots")
    assert "capture.screenshots_enabled" in following.locked
    dialog = following.consent_dialog
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)

    # The worker agrees to the new policy: capture starts under it.
    following._change_consent(True, confirmed=True)
    settle(qtbot, following)
    assert agent.capture is not None
    assert made.settings[-1].screenshots_enabled


def test_a_policy_the_server_withdraws_puts_the_local_settings_back(
    qtbot: QtBot, following: Shell, paths: Paths, agent: Agent, made: Made
) -> None:
    save_server_policy(paths, NARROWER)
    follow(qtbot, following)
    save_server_policy(paths, None)
    follow(qtbot, following)

    assert following.services.settings.capture.private_apps == ()
    assert made.settings[-1].private_apps == ()
    assert following.locked == {}
    assert agent.capture is not None
