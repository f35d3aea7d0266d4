"""A policy changed while the agent runs reaches the next capture: blur
turned on by the server blurs the very next shot, before it is written."""

from __future__ import annotations

import dataclasses
import random

from PIL import Image, ImageFilter, ImageStat
from sqlalchemy import select

from agent.capturing import CaptureSet
from agent.clock import ManualClock
from agent.paths import Paths
from agent.projects import Projects
from agent.screenshots import ShotSchedule, thumbnail_path
from agent.service import Agent, AgentConfig
from agent.settings import default_settings
from agent.store import Store
from agent.store.models import Screenshot
from capture.base import HealthState
from capture.focus import NullFocusSource
from tests.screenshots.conftest import START, FakeScreen


def _sharpness(image: Image.Image) -> float:
    edges = image.convert("L").filter(ImageFilter.FIND_EDGES)
    return ImageStat.Stat(edges).mean[0]


def _shots(store: Store) -> list[Screenshot]:
    with store.read() as session:
        query = select(Screenshot).order_by(Screenshot.taken_at, Screenshot.id)
        return list(session.scalars(query))


def test_blur_turned_on_by_a_policy_change_blurs_the_next_capture(
    paths: Paths, store: Store
) -> None:
    clock = ManualClock(START)
    Projects(store, clock).add("Acme", [])
    settings = default_settings()
    sharp_policy = dataclasses.replace(
        settings.screenshots, per_slot=1, blur=False, format="jpeg"
    )
    config = AgentConfig(screenshots=sharp_policy)
    agent = Agent(paths, store, clock, config)
    focus = NullFocusSource("no focus source in this test", state=HealthState.OFF)
    agent.enable_capture(CaptureSet(focus, None, None, None, FakeScreen()))
    assert agent.screenshots is not None
    service = agent.screenshots
    service.schedule = ShotSchedule(10, 0, random.Random(1))
    try:
        agent.timer.start("Acme", tracked=True)
        agent.tick()
        service.take_now().result(timeout=30)
        clock.advance(60)
        blurred_policy = dataclasses.replace(sharp_policy, blur=True, format="webp")
        agent.apply_settings(dataclasses.replace(settings, screenshots=blurred_policy))
        # The same service goes on: the change reached it, not a new one.
        assert agent.screenshots is service
        service.take_now().result(timeout=30)
    finally:
        agent.disable_capture()

    sharp, blurred = _shots(store)
    assert (sharp.blurred, blurred.blurred) == (False, True)
    assert blurred.path.endswith(".webp")
    directory = paths.screenshots_dir
    sharp_image = Image.open(directory / sharp.path)
    blurred_image = Image.open(directory / blurred.path)
    assert blurred_image.format == "WEBP"
    assert _sharpness(blurred_image) < _sharpness(sharp_image) / 4
    sharp_thumb = Image.open(thumbnail_path(directory / sharp.path))
    blurred_thumb = Image.open(thumbnail_path(directory / blurred.path))
    assert _sharpness(blurred_thumb) < _sharpness(sharp_thumb) / 2


def test_the_per_slot_count_follows_from_the_next_slot(
    paths: Paths, store: Store
) -> None:
    clock = ManualClock(START)
    settings = default_settings()
    policy = dataclasses.replace(settings.screenshots, per_slot=1)
    agent = Agent(paths, store, clock, AgentConfig(screenshots=policy))
    focus = NullFocusSource("no focus source in this test", state=HealthState.OFF)
    agent.enable_capture(CaptureSet(focus, None, None, None, FakeScreen()))
    assert agent.screenshots is not None
    try:
        schedule = agent.screenshots.schedule
        schedule.due(clock.now())
        assert len(schedule.moments) == 1
        three = dataclasses.replace(policy, per_slot=3)
        agent.apply_settings(dataclasses.replace(settings, screenshots=three))
        assert len(schedule.moments) == 1
        schedule.due(START.replace(minute=10))
        assert len(schedule.moments) == 3
    finally:
        agent.disable_capture()
