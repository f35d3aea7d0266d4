"""The agent end to end on a real X desktop: windows in, spans in the store out.

Real xterm windows on Xvfb with openbox, focus moved with xdotool, the real
X11 focus source, the real agent and store; the stored spans are checked
against the moments the test switched.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from agent.capturing import CaptureSet
from agent.clock import SystemClock
from agent.paths import Paths
from agent.projects import Projects
from agent.reporting import collect_report
from agent.service import Agent, AgentConfig
from agent.store import Store
from agent.store.models import Span
from capture.focus import FocusPrivacy, create_focus_source
from tests.desktop import TestWindow, VirtualDesktop

pytestmark = pytest.mark.x11

# A recorded switch lies between the moment xdotool was called and the moment
# it returned; this much more is allowed for scheduling on a busy machine.
SLACK = timedelta(milliseconds=250)


@dataclass(frozen=True)
class StoredSpan:
    app: str | None
    title: str | None
    start: datetime
    end: datetime


@pytest.fixture
def agent(desktop: VirtualDesktop, tmp_path: Path) -> Iterator[Agent]:
    paths = Paths.from_env()
    paths.ensure()
    store = Store.open(paths.database)
    clock = SystemClock()
    focus = create_focus_source(clock, FocusPrivacy(), None, environ=desktop.env)
    agent = Agent(
        paths, store, clock, AgentConfig(flush_seconds=1), CaptureSet(focus, None)
    )
    Projects(store, clock).add("Acme")
    agent.start()
    yield agent
    agent.stop()
    store.close()


def _switch(desktop: VirtualDesktop, window: TestWindow) -> tuple[datetime, datetime]:
    before = datetime.now(UTC)
    desktop.activate(window)
    return before, datetime.now(UTC)


def _retitle(
    desktop: VirtualDesktop, window: TestWindow, title: str
) -> tuple[datetime, datetime]:
    before = datetime.now(UTC)
    desktop.set_title(window, title)
    return before, datetime.now(UTC)


def _settle(agent: Agent) -> None:
    """Let the source deliver, then have the agent take in what changed."""
    time.sleep(0.3)
    agent.tick()


def _spans(agent: Agent) -> list[StoredSpan]:
    with agent.store.read() as session:
        rows = session.scalars(select(Span).order_by(Span.start)).all()
        return [
            StoredSpan(
                row.app.name if row.app else None,
                row.title.text if row.title else None,
                row.start,
                row.end,
            )
            for row in rows
        ]


def _boundary_between(
    spans: list[StoredSpan], title: str, moment: tuple[datetime, datetime]
) -> StoredSpan:
    """The span of ``title`` that began between the two moments."""
    for span in spans:
        if span.title == title and moment[0] - SLACK <= span.start <= moment[1] + SLACK:
            return span
    raise AssertionError(f"no span of {title!r} started in {moment}; got {spans}")


def test_switches_title_changes_close_and_wm_restart_are_stored(
    agent: Agent, desktop: VirtualDesktop, artifacts_dir: Path
) -> None:
    spec = desktop.open_xterm("Spec - editor")
    inbox = desktop.open_xterm("Inbox - mail")
    notes = desktop.open_qt_window("Notes - Qt")
    _switch(desktop, spec)
    started = agent.timer.start("Acme", tracked=True)
    _settle(agent)

    to_inbox = _switch(desktop, inbox)
    _settle(agent)
    retitled = _retitle(desktop, inbox, "Inbox (1) - mail")
    _settle(agent)
    to_notes = _switch(desktop, notes)
    _settle(agent)
    back = _switch(desktop, spec)
    _settle(agent)
    desktop.screenshot(artifacts_dir / "agent-x11-desktop.png")
    closed = datetime.now(UTC)
    desktop.close(spec)
    closed = (closed, datetime.now(UTC) + timedelta(seconds=1))
    _settle(agent)
    desktop.restart_wm()
    # A new window takes the focus when it maps; activating it only makes sure.
    opening = datetime.now(UTC)
    late = desktop.open_xterm("After restart")
    after_restart = (opening, _switch(desktop, late)[1])
    _settle(agent)
    stopped = agent.timer.stop()
    agent.tick()
    agent.flush()
    assert stopped is not None
    assert stopped.end is not None

    spans = _spans(agent)
    assert {span.app for span in spans} == {"XTerm", "PunchclockTestWindow"}
    assert _boundary_between(spans, "Notes - Qt", to_notes).app == (
        "PunchclockTestWindow"
    )
    assert _boundary_between(spans, "Inbox - mail", to_inbox)
    assert _boundary_between(spans, "Inbox (1) - mail", retitled)
    assert _boundary_between(spans, "Spec - editor", back)
    # Closing the focused window hands the focus to another one at that moment.
    after_close = next(s for s in spans if s.start >= closed[0] - SLACK)
    assert after_close.start <= closed[1]
    assert after_close.title in ("Notes - Qt", "Inbox (1) - mail")
    assert _boundary_between(spans, "After restart", after_restart)

    # Spans lie inside the entry, in order, never overlapping.
    assert spans[0].start == started.start
    assert spans[-1].end == stopped.end
    for earlier, later in itertools.pairwise(spans):
        assert earlier.end <= later.start
        assert earlier.start < earlier.end


def test_report_by_title_adds_up_to_the_entry(
    agent: Agent, desktop: VirtualDesktop
) -> None:
    one = desktop.open_xterm("Report one")
    two = desktop.open_xterm("Report two")
    _switch(desktop, one)
    agent.timer.start("Acme", tracked=True)
    _settle(agent)
    for window in (two, one, two):
        _switch(desktop, window)
        time.sleep(0.4)
    _settle(agent)
    stopped = agent.timer.stop()
    agent.tick()
    assert stopped is not None
    assert stopped.end is not None

    utc = ZoneInfo("UTC")
    now = datetime.now(UTC)
    day = stopped.start.astimezone(utc).date()
    by_title = collect_report(agent.store, "title", utc, day, day, now)
    by_project = collect_report(agent.store, "project", utc, day, day, now)
    titles = {row.key: row.seconds for row in by_title.rows}

    assert by_title.total_seconds == pytest.approx(by_project.total_seconds)
    assert titles["Report one"] > 0.5
    assert titles["Report two"] > 0.5
    assert titles.get("(no title)", 0.0) < 0.05


def _run_headless_agent_through_a_switch(
    desktop: VirtualDesktop, home: Path, consent: bool
) -> tuple[int, str]:
    """Spans stored and the agent's log, after one timer with one switch."""
    import os
    import signal
    import subprocess
    import sys

    env = {**desktop.env, "PUNCHCLOCK_HOME": str(home)}
    cli = [sys.executable, "-m", "agent.cli"]
    if consent:
        subprocess.run([*cli, "consent", "accept"], env=env, check=True)
    agent = subprocess.Popen(
        [*cli, "agent"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        first = desktop.open_xterm(f"headless one {consent}")
        second = desktop.open_xterm(f"headless two {consent}")
        desktop.activate(first)
        time.sleep(1.5)
        subprocess.run([*cli, "start", "Acme", "--create"], env=env, check=True)
        time.sleep(1.5)
        desktop.activate(second)
        time.sleep(1.5)
        subprocess.run([*cli, "stop"], env=env, check=True)
        time.sleep(1.5)
    finally:
        os.kill(agent.pid, signal.SIGTERM)
        _, log_text = agent.communicate(timeout=10)

    store = Store.open(Paths.from_env().database)
    try:
        with store.read() as session:
            count = len(session.scalars(select(Span)).all())
    finally:
        store.close()
    return count, log_text


def test_the_headless_agent_captures_only_with_consent(
    desktop: VirtualDesktop, punchclock_home: Path
) -> None:
    spans, log_text = _run_headless_agent_through_a_switch(
        desktop, punchclock_home, consent=False
    )
    assert spans == 0
    assert "punchclock consent accept" in log_text

    spans, log_text = _run_headless_agent_through_a_switch(
        desktop, punchclock_home, consent=True
    )
    assert spans >= 2
    assert "capture is off" not in log_text


def test_a_full_screen_window_holds_break_reminders_back(
    agent: Agent, desktop: VirtualDesktop
) -> None:
    import subprocess

    slides = desktop.open_xterm("Quarterly slides")
    _switch(desktop, slides)
    _settle(agent)
    assert not agent._holding()

    subprocess.run(
        ["wmctrl", "-i", "-r", hex(slides.window_id), "-b", "add,fullscreen"],
        env=desktop.env,
        check=True,
        timeout=10,
    )
    _settle(agent)

    assert agent._holding()


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("app_name", "stored_app"), [("keep", "XTerm"), ("hide", "private")]
)
def test_a_window_whose_title_policy_makes_private_is_stored_without_it(
    desktop: VirtualDesktop,
    monkeypatch: pytest.MonkeyPatch,
    app_name: str,
    stored_app: str,
) -> None:
    import json

    from agent.policy import load_effective
    from agent.store.models import SpanFlag, Title

    for name, value in desktop.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    paths = Paths.from_env()
    paths.ensure()
    paths.settings_file.write_text(
        "version = 1\n[capture]\ninput_enabled = false\n"
        f"browser_receiver_port = {_free_port()}\n"
    )
    # The organisation's server sets the patterns and what is kept of the app.
    server = {"capture": {"private_titles": ["*bank*"], "private_app_name": app_name}}
    effective = load_effective(paths, json.dumps(server))
    assert effective.problems == []
    assert effective.is_locked("capture", "private_titles")

    store = Store.open(paths.database)
    clock = SystemClock()
    capture = CaptureSet.from_settings(effective.settings.capture, clock)
    agent = Agent(paths, store, clock, AgentConfig(flush_seconds=1), capture)
    Projects(store, clock).add("Acme")
    agent.start()
    try:
        notes = desktop.open_xterm("Plain notes")
        bank = desktop.open_xterm("Statements - My BANK online")
        _switch(desktop, notes)
        agent.timer.start("Acme", tracked=True)
        _settle(agent)
        _switch(desktop, bank)
        _settle(agent)
        _switch(desktop, notes)
        _settle(agent)
        agent.timer.stop()
        agent.tick()
        agent.flush()
        with store.read() as session:
            rows = session.scalars(select(Span).order_by(Span.start)).all()
            stored = [
                (
                    row.app.name if row.app else None,
                    row.title.text if row.title else None,
                    bool(row.flags & SpanFlag.PRIVATE),
                )
                for row in rows
            ]
            titles = {title.text for title in session.scalars(select(Title)).all()}
    finally:
        agent.stop()
        store.close()

    assert stored == [
        ("XTerm", "Plain notes", False),
        (stored_app, None, True),
        ("XTerm", "Plain notes", False),
    ]
    assert not any("bank" in title.lower() for title in titles)
