"""A realistic workday written into a store the way the agent writes it:
rows and their outbox items in the same transaction."""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from agent.store import Store
from agent.store.models import (
    App,
    Entry,
    EntrySource,
    IdlePeriod,
    Project,
    Screenshot,
    Span,
    Task,
    Title,
)
from agent.store.outbox import enqueue

DAY = datetime(2024, 5, 6, tzinfo=UTC)
APPS = {
    "code": ["main.py — punchclock", "outbox.py — punchclock", "README.md"],
    "firefox": ["Issue 7 · GitHub", "httpx docs", "Mail"],
    "terminal": ["pytest", "bash"],
    "slack": ["#team", "DM"],
}


@dataclass
class Day:
    """What was written, for comparing with what a server holds."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    seconds_per_app: dict[str, float] = field(
        default_factory=lambda: defaultdict(float)
    )
    entry_ids: list[int] = field(default_factory=list)
    span_ids: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def write_day(
    store: Store,
    *,
    spans: int = 400,
    screenshots: int = 0,
    screenshots_dir: Path | None = None,
    screenshot_bytes: int = 2000,
    seed: int = 7,
    day: datetime = DAY,
) -> Day:
    rng = random.Random(seed)
    written = Day()
    with store.write() as session:
        projects = _projects(session, written, day)
        entries = _entries(session, written, projects, day)
        _spans(session, written, entries, spans, rng)
        _idle(session, written, entries)
        if screenshots:
            assert screenshots_dir is not None
            shots = (screenshots, screenshots_dir, screenshot_bytes)
            _screenshots(session, written, entries, *shots)
    return written


def _projects(
    session: Session, written: Day, day: datetime
) -> list[tuple[Project, Task]]:
    pairs = []
    for name, task_name in (("Acme", "Backend"), ("Globex", "Support")):
        project = Project(name=name, created_at=day)
        session.add(project)
        session.flush()
        task = Task(project_id=project.id, name=task_name, created_at=day)
        session.add(task)
        session.flush()
        enqueue(session, "project", project.id, day)
        enqueue(session, "task", task.id, day)
        written.counts["project"] += 1
        written.counts["task"] += 1
        pairs.append((project, task))
    return pairs


def _entries(
    session: Session,
    written: Day,
    projects: list[tuple[Project, Task]],
    day: datetime,
) -> list[Entry]:
    hours = [(9, 12), (13, 15), (15, 17.5), (18, 18.5)]
    entries = []
    for index, (start_h, end_h) in enumerate(hours):
        project, task = projects[index % 2]
        start = day + timedelta(hours=start_h)
        end = day + timedelta(hours=end_h)
        entry = Entry(
            project_id=project.id,
            task_id=task.id,
            source=EntrySource.MANUAL if index == 3 else EntrySource.TIMER,
            start=start,
            end=end,
            updated_at=end,
        )
        session.add(entry)
        session.flush()
        enqueue(session, "entry", entry.id, end)
        written.counts["entry"] += 1
        written.entry_ids.append(entry.id)
        entries.append(entry)
    return entries


def _spans(
    session: Session, written: Day, entries: list[Entry], count: int, rng: random.Random
) -> None:
    app_ids: dict[str, int] = {}
    title_ids: dict[str, int] = {}
    per_entry = max(count // 3, 1)
    made = 0
    for entry in entries[:3]:
        assert entry.end is not None
        length = (entry.end - entry.start) / per_entry
        for n in range(per_entry):
            if made == count:
                return
            app = rng.choice(sorted(APPS))
            title = rng.choice(APPS[app])
            start = entry.start + n * length
            end = start + length
            span = Span(
                entry_id=entry.id,
                start=start,
                end=end,
                app_id=_intern(session, App, "name", app, app_ids),
                title_id=_intern(session, Title, "text", title, title_ids),
                flags=0,
            )
            session.add(span)
            session.flush()
            enqueue(session, "span", span.id, end)
            written.counts["span"] += 1
            written.span_ids.append(span.id)
            written.seconds_per_app[app] += (end - start).total_seconds()
            made += 1


def _intern(
    session: Session, model: type, column: str, value: str, cache: dict[str, int]
) -> int:
    if value not in cache:
        row = model(**{column: value})
        session.add(row)
        session.flush()
        cache[value] = row.id
    return cache[value]


def _idle(session: Session, written: Day, entries: list[Entry]) -> None:
    for entry in entries[:3]:
        start = entry.start + timedelta(minutes=40)
        idle = IdlePeriod(
            entry_id=entry.id,
            start=start,
            end=start + timedelta(minutes=7),
            cause="idle",
            resolution="kept",
            resolved_at=start + timedelta(minutes=7),
        )
        session.add(idle)
        session.flush()
        enqueue(session, "idle_period", idle.id, start)
        written.counts["idle_period"] += 1


def _screenshots(
    session: Session,
    written: Day,
    entries: list[Entry],
    count: int,
    directory: Path,
    size: int,
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    entry = entries[0]
    for n in range(count):
        content = random.Random(n).randbytes(size)
        path = directory / f"shot-{n}.jpg"
        path.write_bytes(content)
        taken = entry.start + timedelta(seconds=10 * n)
        shot = Screenshot(
            entry_id=entry.id,
            taken_at=taken,
            slot_start=taken.replace(minute=taken.minute // 10 * 10, second=0),
            monitor=0,
            width=1920,
            height=1080,
            size_bytes=size,
            sha256=hashlib.sha256(content).hexdigest(),
            path=str(path),
            blurred=False,
        )
        session.add(shot)
        session.flush()
        enqueue(session, "screenshot", shot.id, taken)
        written.counts["screenshot"] += 1
