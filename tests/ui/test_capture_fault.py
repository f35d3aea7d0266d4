"""A capture source that stops working reaches the tray at once.

The real agent publishes its capture health on its flush job's thread; the
tray hears it through a queued signal: the icon turns to the fault state
and one notification names the source and the fix, once per fault.
"""

from __future__ import annotations

import threading

from pytestqt.qtbot import QtBot

from agent.capturing import CaptureSet
from agent.service import Agent
from capture.base import CaptureHealth, FocusSample, FocusSource
from tests.ui.conftest import settle
from ui.icons import TrayState
from ui.services import Services
from ui.shell import Shell

REASON = "the X server closed the connection"
FIX = "log out and back in"
BROKEN = CaptureHealth.unavailable("focus", "x11", REASON, FIX)


class FocusHealth(FocusSource):
    """A focus source whose health the test sets."""

    def __init__(self) -> None:
        self.now = CaptureHealth.working("focus", "x11")

    def start(self, on_sample: object, on_health: object = None) -> None:
        return None

    def stop(self) -> None:
        return None

    def health(self) -> CaptureHealth:
        return self.now

    def current(self) -> FocusSample | None:
        return None


def flush_elsewhere(agent: Agent) -> None:
    """The agent's flush job, on a thread of its own as the scheduler's."""
    job = threading.Thread(target=agent.flush)
    job.start()
    job.join()


def test_a_failing_source_turns_the_icon_and_notifies_once_per_fault(
    qtbot: QtBot, shell: Shell, services: Services, agent: Agent
) -> None:
    services.consent.accept(services.collection())
    focus = FocusHealth()
    shell.listen(agent)
    agent.enable_capture(CaptureSet(focus, None))
    settle(qtbot, shell)
    notices: list[tuple[str, str]] = []
    shell.tray.notified.connect(lambda title, text: notices.append((title, text)))
    assert shell.model.state() is TrayState.STOPPED

    focus.now = BROKEN
    flush_elsewhere(agent)
    qtbot.waitUntil(lambda: shell.tray._shown_state is TrayState.FAULT)
    assert len(notices) == 1
    title, text = notices[0]
    assert "capture" in title.lower()
    assert text == (
        "Which app is in front stopped working: the X server closed the "
        "connection. To fix it: log out and back in."
    )
    assert REASON in shell.tray.icon.toolTip()

    flush_elsewhere(agent)  # the same fault again: nothing new to say
    settle(qtbot, shell)
    assert len(notices) == 1

    focus.now = CaptureHealth.working("focus", "x11")
    flush_elsewhere(agent)
    qtbot.waitUntil(lambda: shell.tray._shown_state is TrayState.STOPPED)
    assert len(notices) == 1

    focus.now = BROKEN
    flush_elsewhere(agent)
    qtbot.waitUntil(lambda: shell.tray._shown_state is TrayState.FAULT)
    assert len(notices) == 2
    assert notices[1] == notices[0]


def test_a_snapshot_read_before_the_announcement_does_not_bring_it_back(
    qtbot: QtBot, shell: Shell, services: Services, agent: Agent
) -> None:
    """The services' probe still says "working" (read before the fault):
    the announced fault stays until the agent announces otherwise."""
    services.consent.accept(services.collection())
    focus = FocusHealth()
    shell.listen(agent)
    agent.enable_capture(CaptureSet(focus, None))
    settle(qtbot, shell)
    focus.now = BROKEN
    flush_elsewhere(agent)
    qtbot.waitUntil(lambda: shell.tray._shown_state is TrayState.FAULT)

    settle(qtbot, shell)  # the fixture's probe reports no sources at all

    assert shell.model.fault() == BROKEN
