"""Fixtures for the tray app's tests: real services over a temporary store.

Offscreen Qt (tests/conftest.py sets it when there is no DISPLAY); the
store, timer, projects and consent are the real ones, the clock is a
:class:`~agent.clock.ManualClock`, capture and autostart are fakes that
record what they were asked to do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from agent.clock import ManualClock
from agent.consent import Consent
from agent.paths import Paths
from agent.projects import Projects
from agent.settings import Settings, default_settings
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


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def paths(punchclock_home: Path) -> Paths:
    paths = Paths.under(punchclock_home)
    paths.ensure()
    return paths


@pytest.fixture
def store(paths: Paths) -> Iterator[Store]:
    store = Store.open(paths.database)
    yield store
    store.close()


@pytest.fixture
def health() -> list[CaptureHealth]:
    """The capture health the fake agent reports; tests change it in place."""
    return []


@pytest.fixture
def services(
    paths: Paths, store: Store, clock: ManualClock, health: list[CaptureHealth]
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
    """Wait until every queued command ran and its result was applied."""
    shell.runner.wait()
    with qtbot.waitSignal(shell.model.changed, timeout=5000):
        shell.model.refresh()
