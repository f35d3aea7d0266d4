"""Deleting a screenshot takes its slot's time out, through the running agent
(fake clock, real store): the entry is cut as the idle "discard" cuts it, the
slot's spans and activity go, exactly once, audited and queued for upload."""

from __future__ import annotations

import dataclasses
import itertools
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from agent.capturing import CaptureSet
from agent.clock import ManualClock
from agent.errors import UserError
from agent.paths import Paths
from agent.projects import Projects
from agent.reporting import collect_report
from agent.screenshots import ShotSchedule
from agent.service import Agent, AgentConfig
from agent.settings import default_settings
from agent.store import Store
from agent.store.models import Entry, OutboxItem, Screenshot, Slot, Span
from capture.base import (
    CaptureHealth,
    FocusSample,
    FocusSource,
    HealthCallback,
    SampleCallback,
)
from capture.idle import IdleReading, IdleSource
from capture.screenshot import Frame, Monitor
from sync.outbox import Outbox
from tests.screenshots.conftest import FakeScreen, busy_image
from tests.sync.queueing import queue_uploads

NINE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


class ScriptedFocus(FocusSource):
    """The focused app as the test says, delivered like a real source."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.on_sample: SampleCallback | None = None
        self.sample: FocusSample | None = None

    def start(
        self, on_sample: SampleCallback, on_health: HealthCallback | None = None
    ) -> None:
        self.on_sample = on_sample

    def focus(self, app: str) -> None:
        self.sample = FocusSample(
            at=self.clock.now(), mono=self.clock.monotonic(), app=app, title=app
        )
        assert self.on_sample is not None
        self.on_sample(self.sample)

    def stop(self) -> None:
        self.on_sample = None

    def health(self) -> CaptureHealth:
        return CaptureHealth.working("focus", "scripted")

    def current(self) -> FocusSample | None:
        return self.sample


class LiveScreen(FakeScreen):
    """A desktop whose picture changes from one grab to the next, as work does.

    A still picture while the scripted focus moves would rightly be taken
    for a wallpaper-only frame (test_wallpaper.py).
    """

    def grab(self) -> list[Frame]:
        self.frames = [
            Frame(Monitor(0, 0, 0, 1280, 720), busy_image((1280, 720), seed=self.grabs))
        ]
        return super().grab()


class PresentIdle(IdleSource):
    """The worker is at the keyboard: the OS idle time stays under a second."""

    def read(self) -> IdleReading:
        return IdleReading(0.2, False)

    def health(self) -> CaptureHealth:
        return CaptureHealth.working("idle", "fake")


@dataclass
class Day:
    agent: Agent
    store: Store
    clock: ManualClock
    focus: ScriptedFocus
    screen: FakeScreen = field(default_factory=LiveScreen)

    def work(self, seconds: int, *, switch_to: str | None = None) -> None:
        """Seconds of present work, ticked and flushed as the agent does."""
        if switch_to is not None:
            self.focus.focus(switch_to)
        for second in range(seconds):
            self.clock.advance(1)
            self.agent.tick()
            if second % 5 == 4:
                self.agent.flush()
        self.agent.flush()

    def shoot(self) -> int:
        assert self.agent.screenshots is not None
        capture = self.agent.screenshots.take_now().result(timeout=30)
        assert capture is not None
        assert capture.shot_ids
        return capture.shot_ids[0]

    def all_entries(self) -> list[Entry]:
        with self.store.read() as session:
            return list(session.scalars(select(Entry).order_by(Entry.id)))

    def spans(self) -> list[tuple[datetime, datetime, int, str]]:
        with self.store.read() as session:
            return [
                (s.start, s.end, s.entry_id, s.app.name if s.app else "")
                for s in session.scalars(select(Span).order_by(Span.start))
            ]

    def slots(self, start: datetime) -> dict[int, Slot]:
        with self.store.read() as session:
            rows = session.scalars(select(Slot).where(Slot.start == start))
            return {row.entry_id: row for row in rows}

    def by_app(self) -> dict[str, float]:
        today = self.clock.now().date()
        report = collect_report(
            self.store, "app", UTC_ZONE, today, today, self.clock.now()
        )
        return {row.key: row.seconds for row in report.rows}

    def queued(self, kind: str) -> set[int]:
        with self.store.read() as session:
            return set(
                session.scalars(
                    select(OutboxItem.record_id).where(OutboxItem.kind == kind)
                )
            )


@pytest.fixture
def day(paths: Paths, store: Store) -> Iterator[Day]:
    clock = ManualClock(NINE)
    queue_uploads(store, NINE)
    Projects(store, clock).add("Acme", [])
    settings = default_settings()
    config = AgentConfig(
        screenshots=dataclasses.replace(settings.screenshots, per_slot=1)
    )
    agent = Agent(paths, store, clock, config)
    focus = ScriptedFocus(clock)
    world = Day(agent, store, clock, focus)
    agent.enable_capture(CaptureSet(focus, None, None, PresentIdle(), world.screen))
    # Only the shots a test takes: a scheduled one would run on the worker
    # while the test moves the clock on.
    assert agent.screenshots is not None
    agent.screenshots.schedule = ShotSchedule(10, 0, random.Random(1))
    yield world
    agent.disable_capture()


def _start(day: Day, app: str) -> int:
    entry = day.agent.timer.start("Acme", tracked=True)
    day.agent.tick()
    day.focus.focus(app)
    return entry.id


def _no_span_in(
    spans: list[tuple[datetime, datetime, int, str]], start: datetime, end: datetime
) -> None:
    for first, last, _, app in spans:
        assert last <= start or first >= end, f"{app} span {first}–{last} is in the cut"


def _no_overlaps(spans: list[tuple[datetime, datetime, int, str]]) -> None:
    for (_, end, _, app), (start, _, _, other) in itertools.pairwise(spans):
        assert end <= start, f"{app} overlaps {other}"


def test_deleting_within_the_slot_takes_its_time_spans_and_activity(
    day: Day,
) -> None:
    day.clock.advance(30)  # 09:00:30
    old = _start(day, "Editor")
    day.work(90)
    day.work(110, switch_to="Browser")  # 09:03:50
    shot = day.shoot()
    day.work(50)
    day.work(50, switch_to="Terminal")  # 09:05:30
    deleted_at = day.clock.now()

    deletion = day.agent.delete_screenshot(shot)

    assert deletion.removed_seconds == pytest.approx(300)
    assert deletion.window == (NINE, deleted_at)
    day.work(60)

    # The entry: cut as idle "discard" leaves it, the work going on anew.
    first, follow = day.all_entries()
    assert first.id == old
    assert first.deleted_at == deleted_at  # it lay wholly in the slot
    assert (follow.start, follow.end, follow.deleted_at) == (deleted_at, None, None)
    # Spans: nothing before the deletion; Terminal goes on in the new entry.
    spans = day.spans()
    _no_span_in(spans, NINE, deleted_at)
    assert [(s[0], s[2], s[3]) for s in spans] == [(deleted_at, follow.id, "Terminal")]
    # Activity: the slot's 300 s are gone, the minute after counts.
    rows = day.slots(NINE)
    assert (rows[old].tracked_seconds, rows[old].active_seconds) == (0, 0)
    assert rows[follow.id].tracked_seconds == pytest.approx(60)
    assert rows[follow.id].active_seconds == pytest.approx(60, abs=1)
    assert day.by_app() == {"Terminal": pytest.approx(60)}

    # Audit, and what goes to the server.
    with day.store.read() as session:
        row = session.get(Screenshot, shot)
        assert row is not None
        assert (row.deleted_at, row.deleted_by, row.removed_seconds, row.path) == (
            deleted_at,
            "worker",
            300,
            "",
        )
    assert {old, follow.id} <= day.queued("entry")
    assert rows[old].id in day.queued("slot")
    [pending] = Outbox(day.store).next_screenshots(
        deleted_at + timedelta(hours=1), 10, Path(".")
    )
    assert pending.record_id == shot
    assert pending.problem == "deleted by the worker before upload"
    # The audit goes up on its own, without the image (tests/sync).
    assert day.queued("screenshot_deletion") == {shot}


def test_deleting_after_the_slot_ended_takes_only_the_slot(day: Day) -> None:
    day.clock.advance(-300)  # 08:55
    old = _start(day, "Editor")
    day.work(300 + 480)  # 09:08
    shot = day.shoot()
    day.work(60)
    day.work(120, switch_to="Browser")  # 09:11
    day.work(60, switch_to="Terminal")  # 09:12, inside the 300 s grace
    deleted_at = day.clock.now()
    slot_end = NINE + timedelta(minutes=10)

    deletion = day.agent.delete_screenshot(shot)
    day.work(30)

    assert deletion.removed_seconds == pytest.approx(600)
    before, after = [e for e in day.all_entries() if e.deleted_at is None]
    assert (before.id, before.start, before.end) == (
        old,
        NINE - timedelta(minutes=5),
        NINE,
    )
    assert (after.start, after.end) == (slot_end, None)
    spans = day.spans()
    _no_span_in(spans, NINE, slot_end)
    _no_overlaps(spans)
    assert [(s[0], s[1], s[2], s[3]) for s in spans[:3]] == [
        (NINE - timedelta(minutes=5), NINE, old, "Editor"),
        (slot_end, deleted_at - timedelta(seconds=60), after.id, "Browser"),
        (deleted_at - timedelta(seconds=60), spans[2][1], after.id, "Terminal"),
    ]
    assert day.by_app() == {
        "Editor": pytest.approx(300),
        "Browser": pytest.approx(60),
        "Terminal": pytest.approx(90),
    }
    assert day.slots(NINE)[old].tracked_seconds == 0
    assert deleted_at < slot_end + timedelta(seconds=300)


def test_a_late_deletion_moves_the_next_slots_activity_to_the_continuing_entry(
    day: Day,
) -> None:
    day.clock.advance(-300)  # 08:55
    old = _start(day, "Editor")
    day.work(300 + 480)  # 09:08
    shot = day.shoot()
    day.work(240)  # 09:12: 120 s of the next slot counted on the old entry
    slot_end = NINE + timedelta(minutes=10)
    counted = day.slots(slot_end)
    assert counted[old].active_seconds == pytest.approx(120, abs=1)

    day.agent.delete_screenshot(shot)
    day.work(30)  # 09:12:30, recorded on the continuing entry

    follow = next(e for e in day.all_entries() if e.start == slot_end)
    rows = day.slots(slot_end)
    continuing = rows[follow.id]
    # The whole of 09:10-09:12:30 was worked, on the entry that carries it on:
    # the seconds counted before the deletion added to the ones after it.
    assert continuing.tracked_seconds == pytest.approx(150)
    assert continuing.active_seconds == pytest.approx(150, abs=1)
    assert continuing.active_seconds / continuing.tracked_seconds == pytest.approx(
        1.0, abs=0.01
    )
    # Nothing left on the cut entry's row of that slot, and both go up.
    assert (rows[old].tracked_seconds, rows[old].active_seconds) == (0, 0)
    assert {old_row.id for old_row in rows.values()} <= day.queued("slot")
    # The cut slot itself stays empty.
    assert day.slots(NINE)[old].active_seconds == 0
    assert follow.id not in day.slots(NINE)


def test_a_deletion_happens_once_even_when_two_clicks_race(day: Day) -> None:
    day.clock.advance(60)
    _start(day, "Editor")
    day.work(120)
    shot = day.shoot()
    day.work(60)

    outcomes: list[object] = []
    barrier = threading.Barrier(2)

    def click() -> None:
        barrier.wait()
        try:
            outcomes.append(day.agent.delete_screenshot(shot))
        except UserError as error:
            outcomes.append(error)

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(timeout=30)

    errors = [o for o in outcomes if isinstance(o, UserError)]
    assert len(outcomes) == 2
    assert len(errors) == 1
    assert "already deleted" in str(errors[0])
    live = [e for e in day.all_entries() if e.deleted_at is None]
    assert len(live) == 1  # one cut, one follow-up: not cut twice
    with pytest.raises(UserError, match="already deleted"):
        day.agent.delete_screenshot(shot)


def test_a_refused_deletion_leaves_the_recorders_alone(day: Day) -> None:
    day.clock.advance(60)
    _start(day, "Editor")
    day.work(30)
    shot = day.shoot()
    day.work(301)  # the grace period is over

    with pytest.raises(UserError, match="no longer be deleted"):
        day.agent.delete_screenshot(shot)
    day.work(30)

    spans = day.spans()
    assert [(s[0], s[3]) for s in spans] == [(NINE + timedelta(seconds=60), "Editor")]
    assert spans[0][1] == day.clock.now()


def test_cut_out_splits_deletes_and_carries_on(store: Store) -> None:
    """Timer's cut_out, the cut the idle discard's way of leaving time out
    (end the entry, carry it on in a new one) is made of."""
    from agent.timer import Timer, cut_out

    queue_uploads(store, NINE)
    clock = ManualClock(NINE)
    Projects(store, clock).add("Acme", [])
    timer = Timer(store, clock)
    clock.advance(3600)  # 10:00
    at = NINE.replace

    split = timer.add("Acme", at(hour=7), at(hour=8))
    trimmed = timer.add("Acme", at(minute=0), at(minute=25))
    inside = timer.add("Acme", at(minute=27), at(minute=30))
    past = timer.add("Acme", at(minute=35), at(minute=50))
    running = timer.start("Acme")  # 10:00
    clock.advance(600)
    now = clock.now()

    with store.write() as session:
        first = cut_out(session, at(hour=7, minute=20), at(hour=7, minute=40), now)
        second = cut_out(session, at(minute=20), at(minute=40), now)
        third = cut_out(session, at(hour=10, minute=5), now, now)

    assert first.removed_seconds == 20 * 60
    assert second.removed_seconds == (5 + 3 + 5) * 60
    assert third.removed_seconds == 5 * 60
    with store.read() as session:
        rows = {e.id: e for e in session.scalars(select(Entry))}
        queued = set(
            session.scalars(
                select(OutboxItem.record_id).where(OutboxItem.kind == "entry")
            )
        )

    def span(entry_id: int) -> tuple[datetime, datetime | None, bool]:
        row = rows[entry_id]
        return row.start, row.end, row.deleted_at is not None

    # Around the cut: split in two.
    assert span(split.id) == (at(hour=7), at(hour=7, minute=20), False)
    assert span(first.follow_ups[split.id]) == (
        at(hour=7, minute=40),
        at(hour=8),
        False,
    )
    # Reaching into it: cut short; wholly inside: a tombstone.
    assert span(trimmed.id) == (at(minute=0), at(minute=20), False)
    assert rows[inside.id].deleted_at == now
    # From inside to past it: a tombstone, carried on after the cut.
    assert rows[past.id].deleted_at == now
    assert span(second.follow_ups[past.id]) == (at(minute=40), at(minute=50), False)
    assert set(second.follow_ups) == {past.id}
    # The running entry: ended at the cut, running on from its end.
    assert span(running.id) == (at(hour=10), at(hour=10, minute=5), False)
    assert span(third.follow_ups[running.id]) == (now, None, False)
    # Every change is newer than before and queued for upload.
    changed = {*first.entry_ids, *second.entry_ids, *third.entry_ids}
    assert all(rows[i].updated_at == now for i in changed)
    assert set(rows) <= queued
