"""`punchclock screenshots list` and `screenshots delete ID`: the notice's
rules from a terminal, with no agent running (the command deletes) and with
one running in this process (the agent deletes, asked through the store)."""

from __future__ import annotations

import dataclasses
import json
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from agent.cli import main
from agent.clock import ManualClock
from agent.instance import InstanceLock
from agent.paths import Paths
from agent.projects import Projects
from agent.screenshots import (
    DELETED,
    KEPT,
    PRUNED,
    UPLOADED,
    WAITING,
    Conditions,
    ScreenshotService,
    captures_between,
    slot_start,
)
from agent.settings import default_settings
from agent.store import Store
from agent.store.models import Entry, Meta, Screenshot
from agent.timer import Timer
from capture.screenshot import Frame, Monitor
from tests.screenshots import test_delete_time as delete_time
from tests.screenshots.conftest import START, FakeScreen, ShotWorld, busy_image
from tests.sync.queueing import queue_uploads

day = delete_time.day
GRACE = 300


def _noon_zone(now: datetime) -> str:
    """A fixed-offset zone where ``now`` is around noon: the test's captures
    all fall on one local day whatever the hour it runs."""
    offset = 12 - now.hour
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


@dataclass
class Desk:
    """Captures taken at the real time (the command's clock is the system's)."""

    store: Store
    clock: ManualClock
    service: ScreenshotService
    screen: FakeScreen
    timer: Timer
    zone: str
    # A moment of the current slot inside the grace period (at the real time).
    fresh_at: datetime

    def shoot(self, monitors: int = 1) -> int:
        self.screen.frames = [
            Frame(Monitor(i, 1280 * i, 0, 1280, 720), busy_image((1280, 720), i + 1))
            for i in range(monitors)
        ]
        capture = self.service.take_now().result(timeout=30)
        assert capture is not None
        assert capture.shot_ids
        return capture.shot_ids[0]

    def listed(
        self, capsys: pytest.CaptureFixture[str]
    ) -> dict[int, dict[str, object]]:
        assert main(["screenshots", "list", "--json", "--tz", self.zone]) == 0
        shown = json.loads(capsys.readouterr().out)
        return {int(row["id"]): row for row in shown["captures"]}


@pytest.fixture
def desk(paths: Paths, store: Store) -> Iterator[Desk]:
    now = datetime.now(UTC).replace(microsecond=0)
    slot = slot_start(now, default_settings().activity.slot_minutes)
    # The work began in the slot before: deleting a shot of this slot cuts
    # the entry at the slot's start, whatever the minute the test runs.
    clock = ManualClock(slot - timedelta(minutes=6))
    Projects(store, clock).add("Acme", [])
    timer = Timer(store, clock)
    entry = timer.start("Acme")
    policy = dataclasses.replace(
        default_settings().screenshots, per_slot=1, grace_seconds=GRACE
    )
    screen = FakeScreen()
    service = ScreenshotService(
        store,
        clock,
        paths.screenshots_dir,
        policy,
        default_settings().activity.slot_minutes,
        screen,
        lambda: Conditions(entry.id),
        random.Random(3),
    )
    fresh = max(slot, now - timedelta(seconds=30))
    yield Desk(store, clock, service, screen, timer, _noon_zone(now), fresh)
    service.close()


@pytest.mark.posix
def test_list_and_delete_without_an_agent(
    desk: Desk, paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    old = desk.shoot()  # 6 minutes before this slot: past the grace period
    desk.clock.advance((desk.fresh_at - desk.clock.now()).total_seconds())
    fresh = desk.shoot(monitors=2)  # in this slot, up to 30 s ago
    taken = desk.clock.now()
    with desk.store.read() as session:
        files = [
            paths.screenshots_dir / shot.path
            for shot in session.scalars(select(Screenshot).where(Screenshot.path != ""))
        ]
    assert len(files) == 3

    listed = desk.listed(capsys)
    assert listed[old]["state"] == KEPT
    assert listed[old]["deletable_until"] is None
    assert (listed[fresh]["monitors"], listed[fresh]["state"]) == (2, KEPT)
    assert (
        listed[fresh]["deletable_until"]
        == (taken + timedelta(seconds=GRACE)).isoformat()
    )

    assert main(["screenshots", "delete", str(fresh)]) == 0
    out = capsys.readouterr().out
    assert f"Deleted screenshot {fresh} (2 monitors)." in out
    assert "of the slot's time went with it" in out

    with desk.store.read() as session:
        shots = {s.id: s for s in session.scalars(select(Screenshot))}
        entries = list(
            session.scalars(
                select(Entry).where(Entry.deleted_at.is_(None)).order_by(Entry.start)
            )
        )
    gone = [s for s in shots.values() if s.deleted_at is not None]
    assert len(gone) == 2
    assert {s.deleted_by for s in gone} == {"worker"}
    assert [f.exists() for f in files] == [True, False, False]
    # The slot's time went: the entry ends where the slot began and a new
    # one carries the work on from the deletion.
    slot = slot_start(taken, default_settings().activity.slot_minutes)
    first, follow = entries
    assert first.end == slot
    assert follow.start > taken

    late = main(["screenshots", "delete", str(old)])
    assert late == 2
    assert "can no longer be deleted" in capsys.readouterr().err
    again = main(["screenshots", "delete", str(fresh)])
    assert again == 2
    assert "already deleted" in capsys.readouterr().err
    unknown = main(["screenshots", "delete", "12345"])
    assert unknown == 2
    assert "no screenshot with id 12345" in capsys.readouterr().err

    listed = desk.listed(capsys)
    assert listed[fresh]["state"] == DELETED
    assert listed[fresh]["deletable_until"] is None


def test_the_table_shows_each_capture_once(
    desk: Desk, capsys: pytest.CaptureFixture[str]
) -> None:
    shot = desk.shoot(monitors=2)
    assert main(["screenshots", "list", "--tz", desk.zone]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "TIME", "MONITORS", "STATE", "DELETABLE", "UNTIL"]
    [row] = lines[1:]
    assert row.split()[0] == str(shot)
    assert row.split()[2:4] == ["2", KEPT]


def test_the_states_of_captures(shot_world: ShotWorld) -> None:
    """kept (not signed in), waiting, uploaded, pruned, deleted."""
    shot_world.start()
    service = shot_world.service(grace_seconds=GRACE)
    kept = _take(shot_world, service)
    [alone] = captures_between(shot_world.store, START, START + timedelta(days=1))
    assert alone.state == KEPT  # not signed in: nothing queued
    queue_uploads(shot_world.store)  # the sign-in queues it
    waiting, uploaded, pruned, deleted = (_take(shot_world, service) for _ in range(4))
    with shot_world.store.write() as session:
        for shot_id in (uploaded, pruned):
            session.execute(
                update(Screenshot)
                .where(Screenshot.id == shot_id)
                .values(uploaded_at=shot_world.clock.now())
            )
        session.execute(
            update(Screenshot)
            .where(Screenshot.id == pruned)
            .values(pruned_at=shot_world.clock.now())
        )
    service.delete(deleted)

    rows = captures_between(shot_world.store, START, START + timedelta(days=1))

    states = {row.shot_ids[0]: row.state for row in rows}
    assert states == {
        kept: WAITING,
        waiting: WAITING,
        uploaded: UPLOADED,
        pruned: PRUNED,
        deleted: DELETED,
    }


def _take(world: ShotWorld, service: ScreenshotService) -> int:
    world.clock.advance(10)
    capture = service.take_now().result(timeout=30)
    assert capture is not None
    return capture.shot_ids[0]


def _while_the_agent_ticks(
    day: delete_time.Day, argv: list[str]
) -> tuple[int, list[str]]:
    """Runs the command on a thread while the agent ticks (the clock still)."""
    result: list[int] = []
    command = threading.Thread(target=lambda: result.append(main(argv)))
    command.start()
    while command.is_alive():
        day.agent.tick()
        command.join(timeout=0.05)
    with day.store.read() as session:
        left = list(session.scalars(select(Meta.key).where(Meta.key.like("screen%"))))
    return result[0], left


@pytest.fixture
def agent_lock(paths: Paths) -> Iterator[None]:
    """The instance lock Agent.start takes, so the command sees a running
    agent; the agent's timed jobs stay off (the test ticks it)."""
    lock = InstanceLock(paths.lock_file)
    lock.acquire()
    yield
    lock.release()


@pytest.mark.posix
@pytest.mark.usefixtures("agent_lock")
def test_delete_while_the_agent_runs_goes_through_the_agent(
    day: delete_time.Day, capsys: pytest.CaptureFixture[str]
) -> None:
    nine = delete_time.NINE
    entry = day.agent.timer.start("Acme", tracked=True)
    day.agent.tick()
    day.focus.focus("Editor")
    day.work(120)
    shot = day.shoot()  # 09:02
    day.work(60)  # 09:03

    code, left = _while_the_agent_ticks(day, ["screenshots", "delete", str(shot)])

    assert code == 0, capsys.readouterr().err
    assert "3.0 min of the slot's time went with it" in capsys.readouterr().out
    assert left == []  # the request and its answer are gone
    day.work(60)  # the agent records on after the cut
    first, follow = day.all_entries()
    assert first.id == entry.id
    assert first.deleted_at is not None  # it lay wholly in the slot
    assert follow.start == nine + timedelta(minutes=3)
    # Nothing the agent held in memory was written back into the cut.
    for start, end, entry_id, app in day.spans():
        assert start >= follow.start, f"{app} span {start}-{end} is in the cut"
        assert entry_id == follow.id

    again, left = _while_the_agent_ticks(day, ["screenshots", "delete", str(shot)])
    assert again == 2
    assert "already deleted" in capsys.readouterr().err

    late = day.shoot()  # 09:04
    day.work(GRACE + 1)
    code, left = _while_the_agent_ticks(day, ["screenshots", "delete", str(late)])
    assert code == 2
    assert "can no longer be deleted" in capsys.readouterr().err
    assert left == []
