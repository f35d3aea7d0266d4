"""The sync job inside a running agent, against the real reference server:
uploads after each slot ends at this agent's offset, at once on "sync now",
and a policy changed on the server applied without a restart."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agent.capturing import CaptureSet
from agent.cli import main
from agent.clock import Clock, ManualClock, SystemClock
from agent.paths import Paths
from agent.projects import Projects
from agent.service import Agent, AgentConfig
from agent.settings import default_settings
from agent.store import Store
from capture.focus.null import NullFocusSource
from capture.screenshot.mss_backend import MssScreenshotSource
from sync.backoff import agent_jitter
from sync.outbox import Outbox
from sync.service import JITTER_SPREAD_S
from sync.tokens import TokenStore
from tests.desktop import VirtualDesktop
from tests.sync import servers
from tests.sync.conftest import sign_in
from tests.sync.queueing import queue_uploads, queued
from tests.sync.test_pushed import put_setting

START = datetime(2026, 12, 3, 9, 3, 0, tzinfo=UTC)


def make_agent(
    paths: Paths,
    store: Store,
    clock: Clock,
    server: servers.RunningServer,
    capture: CaptureSet | None = None,
    **config: Any,
) -> Agent:
    """An agent signed in to ``server`` whose sync job looks every 0.1 s."""
    TokenStore(paths.config_dir).save(server.url, sign_in(server.url, store))
    queue_uploads(store, clock.now())
    sync = dataclasses.replace(default_settings().sync, server_url=server.url)
    settings = AgentConfig(flush_seconds=1, sync=sync, sync_tick_seconds=0.1, **config)
    return Agent(paths, store, clock, settings, capture)


@pytest.fixture
def agent_store(paths: Paths) -> Iterator[Store]:
    store = Store.open(paths.database)
    yield store
    store.close()


def server_entries(server: servers.RunningServer) -> list[dict[str, Any]]:
    with server.lead() as lead:
        agents = lead.get("/v1/lead/agents").json()["agents"]
        if not agents:
            return []
        answer = lead.get(
            f"/v1/lead/agents/{agents[0]['agent_id']}/records",
            params={"kind": "entry", "day": START.date().isoformat()},
        )
        answer.raise_for_status()
        return list(answer.json()["records"])


def stays(condition: Callable[[], bool], seconds: float = 0.6) -> bool:
    """``condition`` holds throughout ``seconds`` (several sync ticks)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not condition():
            return False
        time.sleep(0.05)
    return True


def test_uploads_after_each_slot_at_the_agents_offset_and_on_sync_now(
    sqlite_reference: servers.RunningServer, paths: Paths, agent_store: Store
) -> None:
    clock = ManualClock(START)
    Projects(agent_store, clock).add("Acme")
    agent = make_agent(paths, agent_store, clock, sqlite_reference)
    outbox = Outbox(agent_store)
    agent.start()
    try:
        # The first tick uploads what waits (the project) and plans the next
        # upload for the end of this slot plus this agent's own offset.
        jitter = agent_jitter(agent_store.store_id, JITTER_SPREAD_S)
        assert agent.sync is not None
        assert agent.sync.jitter_s == jitter
        assert 0 <= jitter < JITTER_SPREAD_S
        servers.wait_until(lambda: agent.sync is not None and agent.sync.next_run)
        planned = datetime(2026, 12, 3, 9, 10, tzinfo=UTC) + timedelta(seconds=jitter)
        assert agent.sync.next_run == planned
        assert outbox.counts(clock.now()).waiting == 0

        entry = agent.timer.start("Acme")
        assert stays(lambda: outbox.counts(clock.now()).waiting == 1)
        clock.advance((planned - clock.now()).total_seconds() - 1)
        assert stays(lambda: server_entries(sqlite_reference) == [])

        clock.advance(1)
        servers.wait_until(lambda: len(server_entries(sqlite_reference)) == 1)
        [uploaded] = server_entries(sqlite_reference)
        assert uploaded["id"] == str(entry.id)
        assert uploaded["data"]["end_ms"] is None
        servers.wait_until(
            lambda: (
                agent.sync is not None
                and agent.sync.next_run == planned + timedelta(minutes=10)
            )
        )

        # "Sync now": the stop goes up at once, whatever the schedule says.
        clock.advance(60)
        agent.timer.stop()
        agent.sync_now()
        servers.wait_until(
            lambda: server_entries(sqlite_reference)[0]["data"]["end_ms"] is not None
        )
        # (The slot's activity may be queued again by the next flush; the
        # entry is not, and waits for nothing.)
        assert queued(paths.database, "entry") == 0
    finally:
        agent.stop()


@pytest.mark.x11
def test_a_policy_changed_on_the_server_is_applied_by_the_running_agent(
    sqlite_reference: servers.RunningServer,
    paths: Paths,
    agent_store: Store,
    desktop: VirtualDesktop,
) -> None:
    clock = SystemClock()
    capture = CaptureSet(
        NullFocusSource("not under test"),
        None,
        screenshot=MssScreenshotSource(display=desktop.display),
    )
    shots = dataclasses.replace(default_settings().screenshots, per_slot=1)
    agent = make_agent(
        paths, agent_store, clock, sqlite_reference, capture, screenshots=shots
    )
    policy = {"idle": {"threshold_minutes": 2}, "screenshots": {"per_slot": 3}}
    put_setting(sqlite_reference, "policy", policy)
    agent.start()
    try:
        shooter = agent.screenshots
        assert shooter is not None
        assert agent.idle.policy.threshold_seconds == 300, "local defaults first"

        agent.sync_now()
        servers.wait_until(lambda: agent.idle.policy.threshold_seconds == 120)
        servers.wait_until(lambda: shooter.schedule.per_slot == 3)

        # Changed again on the server while the agent runs.
        policy = {"idle": {"threshold_minutes": 7}, "screenshots": {"per_slot": 2}}
        put_setting(sqlite_reference, "policy", policy)
        agent.sync_now()
        servers.wait_until(lambda: agent.idle.policy.threshold_seconds == 420)
        assert shooter.schedule.per_slot == 2

        # The server dropping the policy gives the local settings back.
        put_setting(sqlite_reference, "policy", None)
        agent.sync_now()
        servers.wait_until(lambda: agent.idle.policy.threshold_seconds == 300)
        assert shooter.schedule.per_slot == 1
    finally:
        agent.stop()


def server_records(server: servers.RunningServer, kind: str) -> list[dict[str, Any]]:
    with server.lead() as lead:
        agents = lead.get("/v1/lead/agents").json()["agents"]
        if not agents:
            return []
        answer = lead.get(
            f"/v1/lead/agents/{agents[0]['agent_id']}/records",
            params={"kind": kind, "day": START.date().isoformat()},
        )
        answer.raise_for_status()
        return list(answer.json()["records"])


def test_sign_in_and_sign_out_take_effect_in_the_running_agent(
    sqlite_reference: servers.RunningServer, paths: Paths, agent_store: Store
) -> None:
    clock = ManualClock(START)
    Projects(agent_store, clock).add("Acme")
    agent = Agent(paths, agent_store, clock, AgentConfig(sync_tick_seconds=0.1))
    agent.start()
    try:
        assert stays(lambda: agent.sync is not None and not agent.sync.enabled)

        url = sqlite_reference.url
        assert main(["sync", "login", url, "--key", servers.ENROLLMENT_KEY]) == 0
        # The agent follows the sign-in: the history (the project) goes up.
        servers.wait_until(lambda: len(server_records(sqlite_reference, "project")))
        servers.wait_until(lambda: agent.sync is not None and agent.sync.next_run)

        agent.timer.start("Acme")
        assert queued(paths.database, "entry") == 1
        assert main(["sync", "logout"]) == 0
        servers.wait_until(lambda: agent.sync is not None and not agent.sync.enabled)

        # Signed out, the entry waiting stays here, past any upload time.
        clock.advance(3600)
        agent.sync_now()
        assert stays(lambda: server_records(sqlite_reference, "entry") == [])
        assert queued(paths.database, "entry") == 1
    finally:
        agent.stop()
