"""Wallpaper-only frames (synthetic images): recognised, never uploaded as
work, reported once; a normal desktop, however still, is never flagged."""

from __future__ import annotations

import dataclasses
import random

import pytest
from PIL import Image, ImageDraw

from agent.capturing import CaptureSet
from agent.clock import ManualClock
from agent.paths import Paths
from agent.projects import Projects
from agent.screenshot_images import look, same_picture
from agent.screenshots import SKIP_WALLPAPER, Conditions, ShotSchedule, WallpaperWatch
from agent.service import Agent, AgentConfig
from agent.settings import default_settings
from agent.store import Store
from capture.base import CaptureHealth, HealthState
from capture.focus import NullFocusSource
from capture.input.common import InputMarks, InputSource
from capture.screenshot import Frame, Monitor
from tests.screenshots.conftest import (
    START,
    FakeScreen,
    ShotWorld,
    busy_image,
    wallpaper,
)
from tests.sync.queueing import queue_uploads

FULL_HD = Monitor(0, 0, 0, 1920, 1080)


def with_typing(image: Image.Image, line: int) -> Image.Image:
    """The same desktop after a line was typed into the window in front."""
    changed = image.copy()
    ImageDraw.Draw(changed).text((40, 300 + 18 * line), "a new line", fill=(0, 0, 0))
    return changed


def _focus(world: ShotWorld, key: str) -> None:
    world.state = dataclasses.replace(world.state, focus=key)


def test_same_picture_tells_a_still_screen_from_a_changed_one() -> None:
    desktop = busy_image()
    assert same_picture(look(desktop).fingerprint, look(desktop.copy()).fingerprint)
    assert not same_picture(
        look(desktop).fingerprint, look(with_typing(desktop, 1)).fingerprint
    )
    # One typed character is enough to tell.
    typed = desktop.copy()
    ImageDraw.Draw(typed).text((900, 500), "x", fill=(0, 0, 0))
    assert not same_picture(look(desktop).fingerprint, look(typed).fingerprint)


def test_a_wallpaper_while_the_focus_changes_is_caught_and_withdrawn(
    shot_world: ShotWorld, caplog: pytest.LogCaptureFixture
) -> None:
    shot_world.start()
    shot_world.screen.frames = [Frame(FULL_HD, wallpaper())]
    service = shot_world.service()

    _focus(shot_world, "editor")
    first = service.take_now().result(timeout=30)
    assert first is not None
    assert first.shot_ids
    _focus(shot_world, "browser")
    second = service.take_now().result(timeout=30)

    assert second is not None
    assert second.skipped == SKIP_WALLPAPER
    # The first capture showed the same background: withdrawn before upload.
    withdrawn, skipped = shot_world.shots()
    assert withdrawn.id == first.shot_ids[0]
    assert (withdrawn.skipped_reason, withdrawn.path) == (SKIP_WALLPAPER, "")
    assert skipped.skipped_reason == SKIP_WALLPAPER
    assert list(shot_world.directory.rglob("*.*")) == []
    health = service.health()
    assert health.state is HealthState.UNAVAILABLE
    assert "wallpaper" in health.reason
    assert "focused window changed" in health.reason
    assert "Screen Recording" in health.fix
    assert "Wayland" in health.fix

    # Known now: the same background is caught at once, focus or not.
    for focus in ("browser", "browser", "terminal"):
        _focus(shot_world, focus)
        later = service.take_now().result(timeout=30)
        assert later is not None
        assert later.skipped == SKIP_WALLPAPER
    faults = [r for r in caplog.records if "screenshot fault" in r.getMessage()]
    assert len(faults) == 1

    # The windows show again: stored as work, the fault is over.
    shot_world.screen.frames = [Frame(FULL_HD, busy_image())]
    back = service.take_now().result(timeout=30)
    assert back is not None
    assert back.shot_ids
    assert service.health().ok


def test_the_outbox_drops_a_withdrawn_shot(shot_world: ShotWorld) -> None:
    from pathlib import Path

    from sync.outbox import Outbox

    queue_uploads(shot_world.store)
    shot_world.start()
    shot_world.screen.frames = [Frame(FULL_HD, wallpaper())]
    service = shot_world.service()
    _focus(shot_world, "editor")
    service.take_now().result(timeout=30)
    _focus(shot_world, "browser")
    service.take_now().result(timeout=30)

    later = shot_world.clock.now().replace(year=2027)
    pending = Outbox(shot_world.store).next_screenshots(later, 10, Path("."))
    assert [p.problem for p in pending] == [f"not taken: {SKIP_WALLPAPER}"]


@pytest.mark.parametrize(
    ("frames", "focus"),
    [
        # Reading: the screen and the window in front stay as they are.
        ([busy_image(), busy_image()], ["editor", "editor"]),
        # Work: the focus moves and the screen changes with it.
        ([busy_image(), busy_image(seed=2)], ["editor", "browser"]),
        # A still screen, but no focus source to say it should have changed.
        ([wallpaper(), wallpaper()], [None, None]),
        # Typing in one window: the picture changes a little, focus stays.
        ([busy_image(), with_typing(busy_image(), 1)], ["editor", "editor"]),
    ],
)
def test_a_normal_desktop_is_not_flagged(
    shot_world: ShotWorld, frames: list[Image.Image], focus: list[str | None]
) -> None:
    shot_world.start()
    service = shot_world.service()
    for image, key in zip(frames, focus, strict=True):
        shot_world.screen.frames = [Frame(FULL_HD, image)]
        _focus(shot_world, key)  # type: ignore[arg-type]
        capture = service.take_now().result(timeout=30)
        assert capture is not None
        assert capture.skipped is None
    assert all(s.skipped_reason is None for s in shot_world.shots())
    assert service.health().ok


def test_a_background_only_monitor_beside_a_busy_one_is_not_flagged(
    shot_world: ShotWorld,
) -> None:
    shot_world.start()
    service = shot_world.service()
    second = Monitor(1, 1920, 0, 1920, 1080)
    for line, key in enumerate(["editor", "browser", "terminal"]):
        shot_world.screen.frames = [
            Frame(FULL_HD, with_typing(busy_image(), line)),
            Frame(second, wallpaper()),
        ]
        _focus(shot_world, key)
        capture = service.take_now().result(timeout=30)
        assert capture is not None
        assert len(capture.shot_ids) == 2
    assert service.health().ok


def test_the_watch_compares_whole_captures() -> None:
    watch = WallpaperWatch()
    background = look(wallpaper()).fingerprint
    busy = look(busy_image()).fingerprint
    watch.remember([background, busy], "editor", (1, 2))
    assert watch.judge([background, busy], "browser") == (
        "the picture stayed the same while the focused window changed: "
        "the desktop shows its background instead of the windows",
        (1, 2),
    )
    other = look(busy_image(seed=3)).fingerprint
    assert watch.judge([background, other], "anything") is None  # not all known
    assert watch.judge([background, busy], "again") is not None
    assert WallpaperWatch().judge([background, busy], "again") is None


def test_conditions_carry_what_is_in_front() -> None:
    from datetime import UTC, datetime

    from agent.screenshots import conditions, focus_key
    from capture.base import FocusSample

    at = datetime(2026, 1, 5, tzinfo=UTC)
    a = FocusSample(at=at, mono=0, app="Firefox", title="Docs", window_id=7)
    b = dataclasses.replace(a, title="Mail")
    c = dataclasses.replace(a, window_id=8)
    keys = {focus_key(sample) for sample in (a, b, c)}
    assert len(keys) == 3
    state = conditions(1, away=False, on_break=False, focus=a)
    assert state == Conditions(1, focus=focus_key(a))


def _typed(world: ShotWorld, seconds: int) -> None:
    world.state = dataclasses.replace(world.state, typed=seconds)


@pytest.mark.parametrize(("typed", "caught"), [(25, True), (10, False)])
def test_typing_that_never_shows_is_evidence_too(
    shot_world: ShotWorld, typed: int, caught: bool
) -> None:
    """No focus source (focus unknown), but the keyboard was used: text
    typed for twenty seconds shows on a real screen."""
    shot_world.start()
    shot_world.screen.frames = [Frame(FULL_HD, wallpaper())]
    service = shot_world.service()
    _typed(shot_world, 100)
    service.take_now().result(timeout=30)
    _typed(shot_world, 100 + typed)
    capture = service.take_now().result(timeout=30)

    assert capture is not None
    assert (capture.skipped == SKIP_WALLPAPER) is caught
    if caught:
        assert f"keyboard was used for {typed} s" in service.health().reason


class Typist(InputSource):
    """An input source that reports a new second of typing on every drain."""

    def __init__(self) -> None:
        self.second = 0

    def start(self) -> None:
        return None

    def stop(self) -> None:
        return None

    def drain(self) -> InputMarks:
        self.second += 1
        return InputMarks(keyboard=(self.second,), keyboard_events=3)

    def health(self) -> CaptureHealth:
        return CaptureHealth.working("input", "fake")


def test_the_agent_counts_typing_for_the_check(paths: Paths, store: Store) -> None:
    """Through the agent: its input source's keyboard seconds reach the
    check; a still picture while typing for 30 s is caught."""
    clock = ManualClock(START)
    Projects(store, clock).add("Acme", [])
    settings = default_settings()
    config = AgentConfig(
        screenshots=dataclasses.replace(settings.screenshots, per_slot=1)
    )
    agent = Agent(paths, store, clock, config)
    screen = FakeScreen([Frame(FULL_HD, wallpaper())])
    focus = NullFocusSource("no focus source in this test", state=HealthState.OFF)
    typist = Typist()
    agent.enable_capture(CaptureSet(focus, None, typist, None, screen))
    assert agent.screenshots is not None
    agent.screenshots.schedule = ShotSchedule(10, 0, random.Random(1))
    try:
        agent.timer.start("Acme", tracked=True)
        agent.tick()
        first = agent.screenshots.take_now().result(timeout=30)
        for _ in range(30):
            clock.advance(1)
            agent.tick()
        second = agent.screenshots.take_now().result(timeout=30)
    finally:
        agent.disable_capture()

    assert first is not None
    assert first.shot_ids
    assert second is not None
    assert second.skipped == SKIP_WALLPAPER
