"""The headless agent loads a library only when it needs it (P2 in BRIEF).

Most of the agent's resident memory is what its imports leave behind, so a
library loaded "just in case" costs megabytes for as long as it runs: Alembic
~10 MB, httpx ~4 MB with its TLS, Pillow ~3 MB, mss ~1 MB. These tests start
a real ``punchclock agent`` on the virtual desktop under ``python -X
importtime``, which names every module the moment it is first imported, let
it tick, flush, settle and reach its first sync tick, stop it, and read which
modules it loaded over its whole life.

With consent given, screenshots off (the default), no server set and the
store at the newest schema, none of those may load. The control run turns
screenshots on and expects the screen grabber to be imported, so a broken
reading of the import log cannot pass for a lean agent.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent import runner
from agent.store import alembic_config
from agent.store import engine as engines
from tests.desktop import VirtualDesktop

pytestmark = pytest.mark.x11

ROOT = Path(__file__).resolve().parents[1]

# The agent's first sync tick comes this long after start (agent/service.py's
# SYNC_TICK_SECONDS); memory settles earlier (runner.SETTLE_SECONDS).
LIFETIME_S = 17.0

# Loaded only when due: a migration, an upload target, a screenshot.
NOT_BEFORE_NEEDED = [
    "alembic",  # only when the store's schema is behind (agent/store)
    "httpx",  # only when a server is set (sync/targets)
    "sync.targets.punchclock",
    "sync.targets.activitywatch",
    "mss",  # only when screenshots are on (capture/screenshot)
    "capture.screenshot.mss_backend",
]

SCREENSHOTS_ON = """version = 1
[capture]
screenshots_enabled = true
[screenshots]
per_slot = 3
"""


def _imported_by_agent(
    desktop: VirtualDesktop, home: Path, lifetime_s: float, *, behind: bool = False
) -> tuple[set[str], str]:
    """Every module the headless agent imported while it ran, and its log;
    with ``behind`` the store is one migration short of the newest."""
    env = {**desktop.env, "PUNCHCLOCK_HOME": str(home), "PYTHONPATH": str(ROOT)}
    cli = [sys.executable, "-m", "agent.cli"]
    subprocess.run([*cli, "consent", "accept"], env=env, check=True, cwd=ROOT)
    subprocess.run([*cli, "start", "Lean", "--create"], env=env, check=True, cwd=ROOT)
    if behind:
        _step_back(home / "data" / "punchclock.db")
    agent = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "agent.cli", "agent"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        window = desktop.open_xterm("lean agent")
        desktop.activate(window)
        time.sleep(lifetime_s)
    finally:
        os.kill(agent.pid, signal.SIGTERM)
        _, stderr = agent.communicate(timeout=30)
    assert agent.returncode == 0, stderr[-2000:]
    assert "headless agent running" in stderr, stderr[-2000:]

    # "import time: self [us] | cumulative | <indent>module"
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    return modules, stderr


def _step_back(database: Path) -> None:
    from alembic import command

    assert database.exists()
    engine = engines.make_engine(database, write=True)
    try:
        with engine.begin() as connection:
            command.downgrade(alembic_config(connection), "-1")
    finally:
        engine.dispose()


def _loaded(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(package + "."))


def test_the_headless_agent_leaves_unneeded_libraries_unloaded(
    desktop: VirtualDesktop, punchclock_home: Path
) -> None:
    modules, log_text = _imported_by_agent(desktop, punchclock_home, LIFETIME_S)

    # The reading works: the store and the X11 focus source were imported.
    assert "sqlalchemy" in modules
    assert "capture.focus.x11" in modules
    assert "capture is off" not in log_text
    loaded = {name: _loaded(modules, name) for name in NOT_BEFORE_NEEDED}
    assert {name: found for name, found in loaded.items() if found} == {}


def test_the_headless_agent_without_screenshots_leaves_pillow_unloaded(
    desktop: VirtualDesktop, punchclock_home: Path
) -> None:
    modules, _ = _imported_by_agent(desktop, punchclock_home, 3.0)

    assert "capture.focus.x11" in modules
    assert _loaded(modules, "PIL") == []


def test_screenshots_on_load_the_screen_grabber(
    desktop: VirtualDesktop, punchclock_home: Path
) -> None:
    (punchclock_home / "config").mkdir(parents=True, exist_ok=True)
    (punchclock_home / "config" / "settings.toml").write_text(SCREENSHOTS_ON)

    modules, _ = _imported_by_agent(desktop, punchclock_home, 3.0)

    # mss itself waits for the first grab, minutes away at 3 per slot.
    assert "capture.screenshot.mss_backend" in modules
    assert _loaded(modules, "alembic") == []


def test_a_store_behind_the_newest_schema_loads_alembic(
    desktop: VirtualDesktop, punchclock_home: Path
) -> None:
    modules, log_text = _imported_by_agent(desktop, punchclock_home, 3.0, behind=True)

    assert "alembic" in modules
    assert "migrating the store" in log_text
    assert _loaded(modules, "httpx") == []


def test_settled_memory_is_frozen_out_of_collections() -> None:
    try:
        runner.settle_memory()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
