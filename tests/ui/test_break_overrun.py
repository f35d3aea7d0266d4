"""A break that runs over its allotted length is told with a native
notification, once per break, whether or not its countdown is open.

The real agent over the test store, never started: the test calls
``agent.tick()`` where the scheduler would; the overrun reaches the tray
through a queued signal, as from the agent's thread in the app.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from agent.clock import ManualClock
from agent.service import Agent
from tests.ui.conftest import settle
from ui.shell import Shell

COFFEE_S = 15 * 60  # tests/ui/conftest.py's "coffee" policy


@pytest.fixture
def wired(qtbot: QtBot, shell: Shell, agent: Agent) -> Iterator[Shell]:
    shell.listen(agent)
    settle(qtbot, shell)
    yield shell
    shell.dialogs.close_all()


@pytest.fixture
def told(wired: Shell) -> list[tuple[str, str]]:
    """The notifications the tray was asked to show."""
    shown: list[tuple[str, str]] = []
    wired.tray.notified.connect(lambda title, text: shown.append((title, text)))
    return shown


def take_coffee(qtbot: QtBot, shell: Shell, agent: Agent) -> None:
    shell.services.add_project("Acme", None)
    agent.timer.start("Acme")
    agent.start_break("coffee")
    agent.tick()
    qtbot.waitUntil(lambda: shell.dialogs.countdown is not None)


def test_an_overrun_is_told_once_with_the_countdown_closed(
    qtbot: QtBot,
    wired: Shell,
    agent: Agent,
    clock: ManualClock,
    told: list[tuple[str, str]],
) -> None:
    take_coffee(qtbot, wired, agent)
    countdown = wired.dialogs.countdown
    assert countdown is not None
    countdown.close()  # the worker put it away

    clock.advance(COFFEE_S - 1)
    agent.tick()
    settle(qtbot, wired)
    assert told == []

    clock.advance(2)
    with qtbot.waitSignal(wired.tray.notified, timeout=5000):
        agent.tick()
    assert told == [
        (
            "Time is up for your coffee break",
            "The 15 min allotted to coffee are used up. End the break to resume work.",
        )
    ]

    for _ in range(3):
        clock.advance(60)
        agent.tick()
    settle(qtbot, wired)
    assert len(told) == 1


def test_each_break_that_overruns_is_told(
    qtbot: QtBot,
    wired: Shell,
    agent: Agent,
    clock: ManualClock,
    told: list[tuple[str, str]],
) -> None:
    take_coffee(qtbot, wired, agent)
    clock.advance(COFFEE_S + 1)
    with qtbot.waitSignal(wired.tray.notified, timeout=5000):
        agent.tick()
    # The countdown was open: it warns as well.
    countdown = wired.dialogs.countdown
    assert countdown is not None
    qtbot.waitUntil(lambda: countdown.warning.isVisible())

    agent.stop_break()
    agent.tick()
    clock.advance(60)
    agent.start_break("coffee")
    agent.tick()
    clock.advance(COFFEE_S + 1)
    with qtbot.waitSignal(wired.tray.notified, timeout=5000):
        agent.tick()
    # (Between them, the tray told that the timer runs on again.)
    overruns = [title for title, _ in told if title.startswith("Time is up")]
    assert overruns == ["Time is up for your coffee break"] * 2
