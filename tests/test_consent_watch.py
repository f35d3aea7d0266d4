"""A running headless agent follows consent given or withdrawn elsewhere.

The watch over a real store, then the real ``punchclock agent`` process on
Xvfb: `punchclock consent revoke` stops capture (no span of a window focused
afterwards), `punchclock consent accept` starts it again, no restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from agent.clock import ManualClock
from agent.consent import Collection, Consent, ConsentWatch
from agent.paths import Paths
from agent.settings import default_settings
from agent.store import Store
from agent.store.models import Span
from tests.desktop import VirtualDesktop

# BRIEF: a running agent reflects CLI commands within two seconds; the rest
# is room for a busy two-core machine.
REFLECT_SECONDS = 2.0
MARGIN_SECONDS = 4.0


def test_the_watch_reports_only_a_changed_answer(store: Store) -> None:
    clock = ManualClock()
    collection = Collection.from_settings(default_settings())
    consent = Consent(store, clock)
    watch = ConsentWatch(store, clock, collection)
    assert not watch.allowed
    assert watch.poll() is None

    # Another process (another connection) answers.
    other = Store.open(store.path)
    try:
        Consent(other, clock).accept(collection)
        assert watch.poll() is True
        assert watch.poll() is None
        other_writes_something_else(other)
        assert watch.poll() is None
        Consent(other, clock).decline()
        assert watch.poll() is False
        Consent(other, clock).decline()
        assert watch.poll() is None
    finally:
        other.close()
    assert not consent.capture_allowed(collection)


def other_writes_something_else(store: Store) -> None:
    from agent.projects import Projects

    Projects(store, ManualClock()).add("Unrelated")


class AgentProcess:
    """The real headless agent, its stderr read line by line."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent.cli", "agent"],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()

    def wait_for(self, text: str, after: int, timeout: float) -> int:
        """Index of the first line from ``after`` on that holds ``text``."""

        def found() -> int | None:
            for index in range(after, len(self.lines)):
                if text in self.lines[index]:
                    return index
            return None

        with self._changed:
            self._changed.wait_for(lambda: found() is not None, timeout)
            index = found()
        if index is None:
            raise AssertionError(
                f"the agent never logged {text!r}:\n{''.join(self.lines)}"
            )
        return index + 1

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=15)
        self._reader.join(timeout=5)


@pytest.fixture
def cli_env(desktop: VirtualDesktop, punchclock_home: Path) -> dict[str, str]:
    return {**desktop.env, "PUNCHCLOCK_HOME": str(punchclock_home)}


@pytest.fixture
def agent_process(cli_env: dict[str, str]) -> Iterator[AgentProcess]:
    _cli(cli_env, "consent", "accept")
    agent = AgentProcess(cli_env)
    yield agent
    agent.stop()


def _cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "agent.cli", *args], env=env, check=True)


def _titles() -> set[str | None]:
    store = Store.open(Paths.from_env().database)
    try:
        with store.read() as session:
            spans = session.scalars(select(Span)).all()
            return {span.title.text if span.title else None for span in spans}
    finally:
        store.close()


def test_revoke_and_accept_reach_the_running_headless_agent(
    agent_process: AgentProcess, cli_env: dict[str, str], desktop: VirtualDesktop
) -> None:
    seen = agent_process.wait_for("headless agent running", 0, 20)
    before = desktop.open_xterm("Consent before revoke")
    during = desktop.open_xterm("Consent while revoked")
    after = desktop.open_xterm("Consent after accept")
    desktop.activate(before)
    _cli(cli_env, "start", "Acme", "--create")
    seen = agent_process.wait_for("running entry: 'Acme'", seen, 10)

    _cli(cli_env, "consent", "revoke")
    seen = agent_process.wait_for(
        "capture stopped", seen, REFLECT_SECONDS + MARGIN_SECONDS
    )
    desktop.activate(during)
    # Long enough for a running focus source to report the switch.
    time.sleep(1.0)
    # Back before consent returns: the source's first sample is this window.
    desktop.activate(before)

    _cli(cli_env, "consent", "accept")
    seen = agent_process.wait_for(
        "capture started", seen, REFLECT_SECONDS + MARGIN_SECONDS
    )
    desktop.activate(after)
    time.sleep(1.0)
    _cli(cli_env, "stop")
    agent_process.wait_for("running entry: none", seen, 10)
    agent_process.stop()

    titles = _titles()
    assert "Consent before revoke" in titles
    assert "Consent after accept" in titles
    assert "Consent while revoked" not in titles


def test_a_server_policy_change_reaches_the_running_headless_agent(
    agent_process: AgentProcess, cli_env: dict[str, str], desktop: VirtualDesktop
) -> None:
    from agent.policy import save_server_policy

    paths = Paths.from_env()
    seen = agent_process.wait_for("headless agent running", 0, 20)
    full = desktop.open_xterm("Policy full titles")
    narrowed = desktop.open_xterm("Policy narrowed titles")
    widened = desktop.open_xterm("Policy widened to screenshots")
    desktop.activate(full)
    _cli(cli_env, "start", "Acme", "--create")
    seen = agent_process.wait_for("running entry: 'Acme'", seen, 10)

    # Narrower: titles no more. The sources restart under it at once.
    save_server_policy(paths, {"capture": {"title_level": "app-only"}})
    seen = agent_process.wait_for(
        "capture restarted under the changed policy",
        seen,
        REFLECT_SECONDS + MARGIN_SECONDS,
    )
    desktop.activate(narrowed)
    time.sleep(1.0)

    # Wider than the consent: capture stops until the worker agrees again.
    save_server_policy(
        paths,
        {"capture": {"title_level": "full", "screenshots_enabled": True}},
    )
    seen = agent_process.wait_for(
        "collects more than was consented to", seen, REFLECT_SECONDS + MARGIN_SECONDS
    )
    desktop.activate(widened)
    time.sleep(1.0)
    _cli(cli_env, "stop")
    agent_process.wait_for("running entry: none", seen, 10)
    agent_process.stop()

    titles = _titles()
    assert "Policy full titles" in titles
    assert "Policy narrowed titles" not in titles
    assert "Policy widened to screenshots" not in titles
