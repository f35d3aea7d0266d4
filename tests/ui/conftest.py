"""Fixtures for the tray app's tests: real services over a temporary store.

Offscreen Qt (tests/conftest.py sets it when there is no DISPLAY); the
store, timer, projects and consent are the real ones, the clock is a
:class:`~agent.clock.ManualClock`, capture and autostart are fakes that
record what they were asked to do.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from agent.clock import ManualClock
from agent.consent import Consent
from agent.paths import Paths
from agent.projects import Projects
from agent.service import Agent, AgentConfig
from agent.settings import (
    BreakPolicySettings,
    BreakSettings,
    Settings,
    default_settings,
)
from agent.store import Store
from agent.timer import Timer
from capture.base import CaptureHealth
from ui.autostart import Autostart
from ui.commands import CommandRunner
from ui.services import Services
from ui.shell import Shell


class FakeCapture:
    """Stands in for :class:`ui.capture_switch.CaptureSwitch`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.on = False
        self.calls: list[str] = []

    def turn_on(self) -> None:
        self.on = True
        self.calls.append("on")

    def turn_off(self) -> None:
        self.on = False
        self.calls.append("off")


class FakeAutostart(Autostart):
    def __init__(self) -> None:
        super().__init__(["punchclock"], {})
        self.on = False

    def enabled(self) -> bool:
        return self.on

    def enable(self) -> None:
        self.on = True

    def disable(self) -> None:
        self.on = False


@pytest.fixture(autouse=True)
def collect_on_the_ui_thread() -> Iterator[None]:
    """Collect a test's Qt objects on this thread when it ends.

    Widgets in reference cycles (a dialog and the lambda connected to its
    signal) wait for Python's cycle collector, which runs on whichever
    thread allocates next: a command runner's pool thread in the next
    test, where deleting a QObject with a timer crashes Qt.
    """
    yield
    gc.collect()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def health() -> list[CaptureHealth]:
    """The capture health the fake agent reports; tests change it in place."""
    return []


BREAK_POLICIES = (
    BreakPolicySettings("coffee", paid=True, minutes=15, rule="any"),
    BreakPolicySettings("lunch", paid=False, minutes=60, rule="once", hours=3),
)


@pytest.fixture
def agent_config() -> AgentConfig:
    """Two break policies: one any time, one only after 3 h of work."""
    return AgentConfig(breaks=BreakSettings(BREAK_POLICIES, session_gap_minutes=60))


@pytest.fixture
def agent(
    paths: Paths, store: Store, clock: ManualClock, agent_config: AgentConfig
) -> Iterator[Agent]:
    """The real agent over the test store, never started: tests call its
    ``tick`` where its scheduler would, on the test's thread."""
    agent = Agent(paths, store, clock, agent_config)
    yield agent
    agent.disable_capture()


@pytest.fixture
def services(
    paths: Paths,
    store: Store,
    clock: ManualClock,
    health: list[CaptureHealth],
    agent: Agent,
) -> Services:
    return Services(
        paths=paths,
        settings=default_settings(),
        store=store,
        timer=Timer(store, clock),
        projects=Projects(store, clock),
        consent=Consent(store, clock),
        health=lambda: list(health),
        now=clock.now,
        agent=agent,
    )


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[CommandRunner]:
    runner = CommandRunner(show_errors=False)
    yield runner
    runner.wait()


@pytest.fixture
def capture(services: Services) -> FakeCapture:
    return FakeCapture(services.settings)


@pytest.fixture
def autostart() -> FakeAutostart:
    return FakeAutostart()


@pytest.fixture
def shell(
    qtbot: QtBot,
    services: Services,
    runner: CommandRunner,
    capture: FakeCapture,
    autostart: FakeAutostart,
) -> Iterator[Shell]:
    """A shell whose model has its first snapshot; consent is not asked."""
    shell = Shell(services, runner, capture, autostart, ask_consent=False)  # type: ignore[arg-type]
    qtbot.addWidget(shell.window)
    with qtbot.waitSignal(shell.model.changed, timeout=5000):
        shell.model.refresh()
    yield shell
    runner.wait()
    shell._consent_poll.stop()
    shell.tray.icon.hide()


def settle(qtbot: QtBot, shell: Shell) -> None:
    """Wait until every queued command ran and its result was applied, a
    fresh snapshot last (results queue behind each other: waiting for one
    ``changed`` could catch an older snapshot's)."""
    shell.model.refresh()
    qtbot.waitUntil(lambda: shell.runner.idle, timeout=5000)
