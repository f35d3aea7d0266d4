"""Slots, activity % and unusual-activity flags, from fake input marks on a
manual clock."""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from agent.activity import (
    ActivityRecorder,
    JigglerScan,
    SlotFlag,
    load_jiggler_names,
    regular_mouse_reason,
    slot_start,
)
from agent.settings import default_settings
from agent.store.models import Slot
from capture.idle import IdleReading
from capture.input import InputMarks
from tests.activity.conftest import START, World


class Driver:
    """Ticks the recorder once a second with the marks a test chooses."""

    def __init__(self, world: World, jigglers: JigglerScan | None = None) -> None:
        self.world = world
        self.recorder = ActivityRecorder(
            world.store,
            world.clock,
            default_settings().activity,
            jigglers or JigglerScan(frozenset(), lambda: []),
        )

    def second(
        self,
        *,
        keyboard: bool = False,
        mouse: bool = False,
        injected: int = 0,
        marks: bool = True,
        reading: IdleReading | None = None,
    ) -> None:
        mono = int(self.world.clock.monotonic())
        self.world.clock.advance(1)
        drained = InputMarks(
            keyboard=(mono,) if keyboard else (),
            mouse=(mono,) if mouse else (),
            injected=injected,
            last_input=float(mono) if keyboard or mouse else None,
        )
        entry = self.world.timer.current()
        self.recorder.record(entry, drained if marks else None, reading)
        if int(self.world.clock.monotonic()) % 60 == 0:
            self.recorder.flush()

    def slots(self) -> list[Slot]:
        self.recorder.flush()
        with self.world.store.read() as session:
            return list(session.scalars(select(Slot).order_by(Slot.start)))


@pytest.fixture
def driver(world: World) -> Iterator[Driver]:
    world.timer.start("Acme")
    return Driver(world)


def test_slots_are_aligned_to_the_hour() -> None:
    moment = datetime(2026, 1, 5, 9, 17, 31, tzinfo=UTC)
    assert slot_start(moment, 10) == datetime(2026, 1, 5, 9, 10, tzinfo=UTC)
    assert slot_start(moment, 15) == datetime(2026, 1, 5, 9, 15, tzinfo=UTC)
    assert slot_start(moment, 60) == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_activity_percent_and_the_keyboard_mouse_split(driver: Driver) -> None:
    for n in range(600):
        driver.second(keyboard=n < 300 and n % 3 == 0, mouse=n >= 300 and n % 2 == 0)

    (slot,) = driver.slots()
    assert (slot.start, slot.end) == (START, START + timedelta(minutes=10))
    assert slot.tracked_seconds == 600
    assert (slot.keyboard_seconds, slot.mouse_seconds) == (100, 150)
    assert slot.active_seconds == 250
    assert slot.synthetic_flags == 0
    assert slot.flag_reasons is None


def test_input_in_the_entrys_first_second_counts_though_the_clocks_straddle(
    world: World,
) -> None:
    world.clock.advance(0.7)  # the wall second and the monotonic one now differ
    world.clock.step_wall(-0.5)
    world.timer.start("Acme")  # at 09:00:00.200, monotonic 1000.7
    driver = Driver(world)
    # Typed 0.1 s after clocking in, in monotonic second 1000, which began
    # at wall 08:59:59.500: mapped onto the second before the entry's.
    world.clock.advance(0.1)
    mono = int(world.clock.monotonic())
    entry = world.timer.current()
    driver.recorder.record(entry, InputMarks(keyboard=(mono,), keyboard_events=3), None)

    (slot,) = driver.slots()
    assert (slot.keyboard_seconds, slot.active_seconds) == (1, 1)


def test_a_second_with_both_devices_counts_once(driver: Driver) -> None:
    for _ in range(10):
        driver.second(keyboard=True, mouse=True)

    (slot,) = driver.slots()
    assert (slot.active_seconds, slot.keyboard_seconds, slot.mouse_seconds) == (
        10,
        10,
        10,
    )


def test_an_entry_across_a_slot_boundary_has_a_row_per_slot(driver: Driver) -> None:
    for _ in range(900):
        driver.second(keyboard=True)

    first, second = driver.slots()
    assert (first.tracked_seconds, first.active_seconds) == (600, 600)
    assert (second.start, second.tracked_seconds) == (
        START + timedelta(minutes=10),
        300,
    )
    assert second.active_seconds == 300


def test_activity_is_unknown_not_zero_without_an_input_source(driver: Driver) -> None:
    for _ in range(60):
        driver.second(marks=False)

    (slot,) = driver.slots()
    assert slot.tracked_seconds == 60
    assert slot.active_seconds is None
    assert slot.keyboard_seconds is None
    assert slot.mouse_seconds is None


def test_os_idle_time_gives_activity_without_the_split(driver: Driver) -> None:
    for n in range(60):
        seconds = 0.2 if n % 2 else 30.0
        driver.second(marks=False, reading=IdleReading(seconds))

    (slot,) = driver.slots()
    assert slot.active_seconds == 30
    assert slot.keyboard_seconds is None
    assert slot.mouse_seconds is None


def test_stopped_time_is_not_tracked(driver: Driver) -> None:
    for _ in range(30):
        driver.second(keyboard=True)
    driver.world.timer.stop()
    for _ in range(30):
        driver.second(keyboard=True)

    (slot,) = driver.slots()
    assert (slot.tracked_seconds, slot.active_seconds) == (30, 30)


def test_injected_input_is_flagged_with_a_reason(driver: Driver) -> None:
    for _ in range(20):
        driver.second(mouse=True, injected=3)

    (slot,) = driver.slots()
    assert slot.synthetic_flags & SlotFlag.INJECTED
    assert "60 input events were marked" in (slot.flag_reasons or "")


def test_a_jiggler_rhythm_is_flagged(driver: Driver) -> None:
    for n in range(25 * 60):
        driver.second(mouse=n % 30 == 0)

    flagged = [s for s in driver.slots() if s.synthetic_flags & SlotFlag.REGULAR_MOUSE]
    assert flagged, "a mouse moved every 30 s for 25 minutes was not flagged"
    assert "every 30 s" in (flagged[-1].flag_reasons or "")


def test_a_normal_workers_pattern_is_not_flagged(driver: Driver) -> None:
    rng = random.Random(4)
    typing_until = mouse_until = 0
    for n in range(3 * 3600):
        if n >= typing_until and rng.random() < 0.02:
            typing_until = n + rng.randint(2, 40)
        if n >= mouse_until and rng.random() < 0.03:
            mouse_until = n + rng.randint(1, 8)
        driver.second(keyboard=n < typing_until, mouse=n < mouse_until)

    assert [s.flag_reasons for s in driver.slots() if s.synthetic_flags] == []


def test_mouse_only_for_hours_is_flagged(driver: Driver) -> None:
    rng = random.Random(7)
    for _ in range(2 * 3600 + 60):
        driver.second(mouse=rng.random() < 0.3)

    last = driver.slots()[-1]
    assert last.synthetic_flags & SlotFlag.MOUSE_ONLY
    assert "only the mouse was used for 2 hours" in (last.flag_reasons or "")


def test_regular_mouse_reason_tells_rhythm_from_a_person() -> None:
    every_minute = list(range(0, 1200, 60))
    assert regular_mouse_reason(every_minute, 20) is not None
    nonstop = list(range(1200))
    assert "every second" in (regular_mouse_reason(nonstop, 20) or "")
    rng = random.Random(1)
    person = sorted(rng.sample(range(1200), 200))
    assert regular_mouse_reason(person, 20) is None


def test_the_shipped_jiggler_list_is_read() -> None:
    names = load_jiggler_names()
    assert {"mousejiggler", "move mouse", "caffeine"} <= names
    assert not any(name.startswith("#") for name in names)


@pytest.mark.posix  # runs a copy of sleep under a jiggler's name
def test_a_running_jiggler_program_is_found_and_flagged(
    world: World, tmp_path: Path
) -> None:
    # A real process whose name is on the list: a copy of sleep.
    fake = tmp_path / "MouseJiggler"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", fake)
    proc = subprocess.Popen([str(fake), "60"])
    try:
        scan = JigglerScan(load_jiggler_names())
        assert any(f"(pid {proc.pid})" in found for found in scan.running())

        world.timer.start("Acme")
        driver = Driver(world, scan)
        for _ in range(10):
            driver.second(keyboard=True)
        (slot,) = driver.slots()
    finally:
        proc.kill()
        proc.wait()

    assert slot.synthetic_flags & SlotFlag.JIGGLER_PROGRAM
    assert "MouseJiggler" in (slot.flag_reasons or "")


def test_no_jiggler_running_means_no_flag(driver: Driver) -> None:
    scan = JigglerScan(load_jiggler_names())
    assert scan.running() == []
