"""Fixtures for screenshot logic: a store with a project, a manual clock, a
fake screen whose frames a test sets, and a switchable gate."""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from agent.clock import ManualClock
from agent.projects import Projects
from agent.screenshots import Conditions, ScreenshotService
from agent.settings import ScreenshotSettings, default_settings
from agent.store import Store
from agent.store.models import Entry, Screenshot
from agent.timer import Timer
from capture.base import CaptureHealth
from capture.screenshot import Frame, Monitor, ScreenshotSource

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def busy_image(size: tuple[int, int] = (1920, 1080), seed: int = 1) -> Image.Image:
    """Something like a desktop: coloured panels and lines of 'text'."""
    rng = random.Random(seed)
    image = Image.new("RGB", size, (236, 239, 244))
    draw = ImageDraw.Draw(image)
    width, height = size
    for x in range(0, width, width // 4):
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle((x + 8, 40, x + width // 4 - 8, 120), fill=colour)
    for y in range(140, height - 20, 18):
        for x in range(20, width - 200, 300):
            words = rng.randrange(4, 14)
            draw.text((x, y), "lorem ipsum " * (words // 3), fill=(20, 20, 20))
    return image


def wallpaper(size: tuple[int, int] = (1920, 1080)) -> Image.Image:
    """A photo-like background: a gradient with soft shapes, no text."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((300, 200, 900, 700), fill=(40, 90, 160))
    draw.ellipse((1200, 400, 1700, 900), fill=(200, 150, 60))
    return image


class FakeScreen(ScreenshotSource):
    """Grabs the frames a test set; can hold a grab until released."""

    backend = "fake"

    def __init__(self, frames: list[Frame] | None = None) -> None:
        self.frames = frames or [Frame(Monitor(0, 0, 0, 1920, 1080), busy_image())]
        self.grabs = 0
        self.hold: threading.Event | None = None
        self.grabbing = threading.Event()
        self.closed = False

    def grab(self) -> list[Frame]:
        self.grabs += 1
        self.grabbing.set()
        if self.hold is not None:
            self.hold.wait(timeout=30)
        return list(self.frames)

    def health(self) -> CaptureHealth:
        return CaptureHealth.working("screenshot", self.backend)

    def close(self) -> None:
        self.closed = True


def uniform_frame(colour: tuple[int, int, int], index: int = 0) -> Frame:
    return Frame(Monitor(index, 0, 0, 1280, 720), Image.new("RGB", (1280, 720), colour))


@dataclass
class ShotWorld:
    store: Store
    clock: ManualClock
    timer: Timer
    screen: FakeScreen
    directory: Path
    settings: ScreenshotSettings
    state: Conditions = field(default_factory=lambda: Conditions(None))
    services: list[ScreenshotService] = field(default_factory=list)

    def service(self, **changes: object) -> ScreenshotService:
        settings = dataclasses.replace(self.settings, **changes)
        service = ScreenshotService(
            self.store,
            self.clock,
            self.directory,
            settings,
            10,
            self.screen,
            lambda: self.state,
            random.Random(7),
        )
        self.services.append(service)
        return service

    def start(self, project: str = "Acme") -> int:
        entry = self.timer.start(project)
        self.state = Conditions(entry.id)
        return entry.id

    def shots(self) -> list[Screenshot]:
        with self.store.read() as session:
            query = select(Screenshot).order_by(Screenshot.taken_at, Screenshot.id)
            return list(session.scalars(query))

    def entries(self) -> list[Entry]:
        with self.store.read() as session:
            query = select(Entry).where(Entry.deleted_at.is_(None))
            return list(session.scalars(query.order_by(Entry.start)))


@pytest.fixture
def shot_world(tmp_path: Path) -> Iterator[ShotWorld]:
    store = Store.open(tmp_path / "punchclock.db")
    clock = ManualClock(START)
    Projects(store, clock).add("Acme", [])
    settings = dataclasses.replace(default_settings().screenshots, per_slot=3)
    world = ShotWorld(
        store, clock, Timer(store, clock), FakeScreen(), tmp_path / "shots", settings
    )
    world.directory.mkdir()
    yield world
    for service in world.services:
        service.close()
    store.close()
