"""Fixtures for rates, budgets, limits and the value report: a real store,
a manual clock in a zone with daylight saving, and settings built the way
settings.toml or a policy would give them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent.clock import ManualClock
from agent.projects import Projects
from agent.settings import Settings, apply_layer, default_settings
from agent.store import Store
from agent.timer import Timer

BERLIN = ZoneInfo("Europe/Berlin")


def local(text: str) -> datetime:
    """A Berlin wall time, 'YYYY-MM-DD HH:MM', as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).astimezone(UTC)


def settings_from(raw: dict[str, Any]) -> Settings:
    """The defaults with ``raw`` applied as a settings file would be; a
    problem in ``raw`` fails the test."""
    problems: list[str] = []
    base = dataclasses.replace(
        default_settings(),
        general=dataclasses.replace(
            default_settings().general, time_zone="Europe/Berlin"
        ),
    )
    settings, _ = apply_layer(base, raw, Path("test.toml"), problems)
    assert problems == []
    return settings


@dataclass
class Desk:
    store: Store
    clock: ManualClock
    timer: Timer
    projects: Projects

    def work(self, project: str, start: str, end: str, task: str | None = None) -> None:
        """A manual entry from ``start`` to ``end`` (Berlin wall times)."""
        self.timer.add(project, local(start), local(end), task=task)


@pytest.fixture
def desk(store: Store) -> Desk:
    clock = ManualClock(local("2026-03-30 08:00"))
    projects = Projects(store, clock)
    projects.add("Acme", ["Design", "Translation"])
    projects.add("Globex", ["Translation"])
    return Desk(store, clock, Timer(store, clock), projects)
