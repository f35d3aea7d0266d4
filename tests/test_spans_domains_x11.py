"""The domain a browser shows in its window title, on a real X desktop.

An xterm with a browser's window class and a browser's title on Xvfb, the
real X11 focus source with the title level "domain-only" and no browser
extension, the real agent and store; the CLI's report finds the domain.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator

import pytest

from agent.capturing import CaptureSet
from agent.cli import main
from agent.clock import SystemClock
from agent.paths import Paths
from agent.projects import Projects
from agent.service import Agent, AgentConfig
from agent.store import Store
from capture.focus import FocusPrivacy, TitleLevel, create_focus_source
from tests.desktop import TestWindow, VirtualDesktop

pytestmark = pytest.mark.x11

BROWSER_TITLE = "github.com - Mozilla Firefox"


@pytest.fixture
def agent(desktop: VirtualDesktop) -> Iterator[Agent]:
    paths = Paths.from_env()
    paths.ensure()
    store = Store.open(paths.database)
    clock = SystemClock()
    privacy = FocusPrivacy(title_level=TitleLevel.DOMAIN_ONLY)
    focus = create_focus_source(clock, privacy, None, environ=desktop.env)
    agent = Agent(
        paths, store, clock, AgentConfig(flush_seconds=1), CaptureSet(focus, None)
    )
    Projects(store, clock).add("Acme")
    agent.start()
    yield agent
    agent.stop()
    store.close()


def _open_browser_lookalike(desktop: VirtualDesktop, title: str) -> TestWindow:
    """An xterm whose WM_CLASS says Firefox: what the focus source reads."""
    proc = subprocess.Popen(
        [
            "xterm", "-class", "Firefox", "-name", "Navigator", "-T", title,
            "-geometry", "80x20", "-xrm", "XTerm*allowTitleOps: false",
            "-e", "sleep", "3600",
        ],
        env=desktop.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    window = TestWindow(proc, desktop.find_window(f"^{title}$"), title)
    desktop.windows.append(window)  # closed with the desktop's own
    return window


def _settle(agent: Agent) -> None:
    """Let the source deliver, then have the agent take in what changed."""
    time.sleep(0.3)
    agent.tick()


def test_the_domain_in_a_browser_title_reaches_the_report(
    agent: Agent, desktop: VirtualDesktop, capsys: pytest.CaptureFixture[str]
) -> None:
    browser = _open_browser_lookalike(desktop, BROWSER_TITLE)
    shell = desktop.open_xterm("make test")
    desktop.activate(browser)
    agent.timer.start("Acme", tracked=True)
    _settle(agent)
    time.sleep(1.0)  # long enough to show as a second in the report
    desktop.activate(shell)
    _settle(agent)
    agent.timer.stop()
    agent.tick()
    agent.flush()

    with sqlite3.connect(agent.store.path) as conn:
        pages = conn.execute(
            "SELECT a.name, u.url, u.domain, min(s.start_ms) FROM spans s "
            "JOIN apps a ON a.id = s.app_id JOIN urls u ON u.id = s.url_id "
            "GROUP BY 1, 2, 3"
        ).fetchall()
        titles = conn.execute("SELECT count(*) FROM titles").fetchone()[0]
    assert [page[:3] for page in pages] == [("Firefox", None, "github.com")]
    assert titles == 0  # domain-only: no window titles kept

    day = time.strftime("%Y-%m-%d", time.gmtime(pages[0][3] / 1000))
    capsys.readouterr()
    args = ["report", "--from", day, "--tz", "UTC", "--format", "json"]
    assert main([*args, "--by", "domain"]) == 0
    by_domain = json.loads(capsys.readouterr().out)
    assert main([*args, "--by", "project-domain"]) == 0
    per_project = json.loads(capsys.readouterr().out)

    assert "github.com" in {row["key"] for row in by_domain["rows"]}
    assert "Acme / github.com" in {row["key"] for row in per_project["rows"]}
