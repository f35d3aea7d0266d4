"""Uploads follow the agent's own slots: ``[activity] slot_minutes``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from agent.clock import ManualClock
from agent.paths import Paths
from agent.settings import default_settings
from agent.store import Store
from tests.sync import servers
from tests.sync.test_agent_sync import START, make_agent


@pytest.fixture
def agent_store(paths: Paths) -> Iterator[Store]:
    store = Store.open(paths.database)
    yield store
    store.close()


def test_uploads_come_after_each_slot_of_the_length_the_settings_give(
    sqlite_reference: servers.RunningServer, paths: Paths, agent_store: Store
) -> None:
    clock = ManualClock(START)  # 09:03
    activity = dataclasses.replace(default_settings().activity, slot_minutes=15)
    agent = make_agent(paths, agent_store, clock, sqlite_reference, activity=activity)
    agent.start()
    try:
        sync = agent.sync
        assert sync is not None
        servers.wait_until(lambda: sync.next_run)
        # The slot 09:00-09:15 ends at 09:15 (10-minute slots: 09:10).
        planned = datetime(2026, 12, 3, 9, 15, tzinfo=UTC)
        planned += timedelta(seconds=sync.jitter_s)
        assert sync.next_run == planned

        clock.advance((planned - clock.now()).total_seconds())
        servers.wait_until(lambda: sync.next_run == planned + timedelta(minutes=15))
    finally:
        agent.stop()
