""" "Sync now" sends the records at once but leaves a screenshot on the
machine until its deletion grace period is over: the real reference server on
loopback, the running agent of tests/screenshots/test_delete_time.py."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from agent.capturing import CaptureSet
from agent.clock import ManualClock
from agent.paths import Paths
from agent.projects import Projects
from agent.screenshots import ShotSchedule
from agent.service import Agent, AgentConfig
from agent.settings import default_settings
from agent.store import Store
from agent.store.models import OutboxItem
from sync.outbox import Outbox
from sync.targets.punchclock import PunchclockTarget
from sync.uploader import Uploader, UploaderConfig
from tests.screenshots.test_delete_time import NINE, Day, PresentIdle, ScriptedFocus
from tests.sync import servers
from tests.sync.conftest import sign_in
from tests.sync.test_screenshot_deletion import Synced

GRACE = 300


@pytest.fixture
def synced(
    paths: Paths, store: Store, sqlite_reference: servers.RunningServer
) -> Iterator[Synced]:
    clock = ManualClock(NINE)
    Projects(store, clock).add("Acme", [])
    settings = default_settings()
    policy = dataclasses.replace(settings.screenshots, per_slot=1, grace_seconds=GRACE)
    agent = Agent(paths, store, clock, AgentConfig(screenshots=policy))
    focus = ScriptedFocus(clock)
    day = Day(agent, store, clock, focus)
    agent.enable_capture(CaptureSet(focus, None, None, PresentIdle(), day.screen))
    assert agent.screenshots is not None
    agent.screenshots.schedule = ShotSchedule(10, 0, random.Random(1))
    target = PunchclockTarget(
        sqlite_reference.url, sign_in(sqlite_reference.url, store)
    )
    config = UploaderConfig(screenshots_dir=paths.screenshots_dir)
    uploader = Uploader(Outbox(store), target, clock, config, rand=lambda: 0.5)
    yield Synced(day, sqlite_reference, uploader, target)
    agent.disable_capture()
    target.close()


def test_sync_now_during_the_grace_sends_records_but_not_the_image(
    synced: Synced,
) -> None:
    day = synced.day
    day.agent.timer.start("Acme", tracked=True)
    day.agent.tick()
    day.focus.focus("Editor")
    day.work(120)
    shot = day.shoot()  # 09:02, deletable until 09:07
    day.work(60)

    report = synced.uploader.run(force=True)  # 09:03: sync now

    assert report.error is None, report.error
    assert report.screenshots == 0
    assert synced.server_records("entry")
    assert synced.server_shots() == []
    assert synced.image_files() == []
    with day.store.read() as session:
        [held] = session.scalars(
            select(OutboxItem.next_attempt_at).where(OutboxItem.kind == "screenshot")
        )
    assert held == NINE + timedelta(seconds=120 + GRACE)

    day.work(GRACE - 60)  # 09:07, the grace is over
    report = synced.uploader.run(force=True)

    assert report.error is None, report.error
    assert report.screenshots == 1
    [row] = synced.server_shots()
    assert row["id"] == str(shot)
    [file] = synced.image_files()
    assert synced.image(shot).content == file.read_bytes()


def test_sync_now_releases_a_screenshot_backing_off_after_a_failed_upload(
    store: Store,
) -> None:
    """Tried once and failed: its wait is a backoff, which sync now skips;
    untried, the wait is the grace, which it keeps."""
    later = NINE + timedelta(hours=1)
    with store.write() as session:
        tried = OutboxItem(kind="screenshot", record_id=1, created_at=NINE, attempts=1)
        untried = OutboxItem(
            kind="screenshot", record_id=2, created_at=NINE, attempts=0
        )
        record = OutboxItem(kind="entry", record_id=3, created_at=NINE, attempts=0)
        session.add_all([tried, untried, record])
        session.flush()
        session.execute(update(OutboxItem).values(next_attempt_at=later))

    Outbox(store).retry_now()

    with store.read() as session:
        waits = dict(
            session.execute(select(OutboxItem.record_id, OutboxItem.next_attempt_at))
            .tuples()
            .all()
        )
    assert waits == {1: None, 2: later, 3: None}
