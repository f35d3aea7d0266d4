"""``status`` from plain SQL: each state of the command-line contract."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from agent.clock import ManualClock
from agent.paths import Paths
from agent.projects import Projects
from agent.status import read_status
from agent.store import Store
from agent.store.models import IdlePeriod
from agent.timer import Timer

UTC = ZoneInfo("UTC")


@pytest.fixture
def store() -> Store:
    paths = Paths.from_env()
    paths.ensure()
    opened = Store.open(paths.database)
    Projects(opened, ManualClock()).add("Acme", ["Design"])
    return opened


def test_stopped_running_and_idle(store: Store) -> None:
    clock = ManualClock()
    timer = Timer(store, clock)

    stopped = read_status(store.path, UTC, clock.now(), agent_running=True)
    assert stopped is not None
    assert stopped.as_json_dict()["state"] == "stopped"

    entry = timer.start("Acme", "Design", tracked=True)
    clock.advance(600)
    running = read_status(store.path, UTC, clock.now(), agent_running=True)
    assert running is not None
    assert running.as_json_dict() == {
        "state": "running",
        "project": "Acme",
        "task": "Design",
        "since": entry.start.isoformat(),
        "today_seconds": 600,
    }

    # The agent cuts the entry at the last input and opens an idle period.
    timer.stop()
    with store.write() as session:
        session.add(IdlePeriod(entry_id=entry.id, start=clock.now(), cause="idle"))
    clock.advance(300)
    idle = read_status(store.path, UTC, clock.now(), agent_running=True)
    assert idle is not None
    assert idle.state == "idle"
    assert (idle.project, idle.task) == ("Acme", "Design")
    assert idle.since == clock.now() - timedelta(seconds=300)
    assert idle.today_seconds == 600


def test_an_entry_left_by_a_dead_agent_asks_for_the_full_path(store: Store) -> None:
    clock = ManualClock()
    Timer(store, clock).start("Acme", tracked=True)

    assert read_status(store.path, UTC, clock.now(), agent_running=False) is None
    assert read_status(store.path, UTC, clock.now(), agent_running=True) is not None
