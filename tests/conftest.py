"""Shared fixtures: an isolated PUNCHCLOCK_HOME per test and a safe Qt platform."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.paths import Paths
from agent.store import Store

# Qt aborts the whole process when it has neither a display nor a platform
# (shared/TESTING.md): default to offscreen before any QApplication exists.
if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ARTIFACTS = Path(__file__).parent / "artifacts"

pytest_plugins = ["tests.desktop"]


@pytest.fixture(autouse=True)
def punchclock_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data, config and log directories."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("PUNCHCLOCK_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests keep screenshots and other things a person should look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Put the process-wide logging state back as pytest had it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    hooks = sys.excepthook, threading.excepthook
    yield

    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    sys.excepthook, threading.excepthook = hooks
    logging.captureWarnings(False)


@pytest.fixture
def paths(punchclock_home: Path) -> Paths:
    """This test's directories, created."""
    paths = Paths.under(punchclock_home)
    paths.ensure()
    return paths


@pytest.fixture
def store(paths: Paths) -> Iterator[Store]:
    """A real store in this test's data directory."""
    store = Store.open(paths.database)
    yield store
    store.close()
