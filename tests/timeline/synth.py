"""Synthetic days written straight into a store, for the timeline's tests
and its benchmark.

Small records go through the ORM; spans (tens of thousands for the
benchmark) through one executemany each, with their apps, titles and URLs
interned as the agent does.
"""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from PIL import Image, ImageDraw
from sqlalchemy import text

from agent.report import day_start
from agent.store import Store
from agent.store.models import (
    Break,
    Entry,
    IdlePeriod,
    Project,
    Screenshot,
    Slot,
    Task,
    to_millis,
)

APPS = ("firefox", "code", "slack", "terminal", "libreoffice")
URLS = (
    "https://github.com/acme/widget/pull/12",
    "https://docs.python.org/3/library/bisect.html",
    "https://www.example.com/report",
    None,
)


@dataclass(frozen=True)
class SpanSpec:
    start: datetime
    end: datetime
    app: str | None
    title: str | None = None
    url: str | None = None
    flags: int = 0


def add_project(store: Store, name: str, tasks: Sequence[str] = ()) -> None:
    now = datetime.now().astimezone()
    with store.write() as session:
        project = Project(name=name, created_at=now)
        session.add(project)
        session.flush()
        for task in tasks:
            session.add(Task(project_id=project.id, name=task, created_at=now))


def add_entry(
    store: Store,
    project: str,
    start: datetime,
    end: datetime | None,
    task: str | None = None,
    *,
    note: str | None = None,
    source: str = "timer",
) -> int:
    with store.write() as session:
        found = session.execute(
            text("SELECT id FROM projects WHERE name = :name"), {"name": project}
        ).scalar_one()
        task_id = None
        if task:
            task_id = session.execute(
                text("SELECT id FROM tasks WHERE project_id = :p AND name = :t"),
                {"p": found, "t": task},
            ).scalar_one()
        entry = Entry(
            project_id=found,
            task_id=task_id,
            note=note,
            source=source,
            start=start,
            end=end,
            updated_at=start,
        )
        session.add(entry)
        session.flush()
        return entry.id


def add_spans(store: Store, entry_id: int, spans: Sequence[SpanSpec]) -> None:
    with store.write() as session:
        ids: dict[tuple[str, str], int] = {}

        def intern(table: str, column: str, value: str | None) -> int | None:
            if value is None:
                return None
            if (table, value) not in ids:
                extra = ", domain" if table == "urls" else ""
                values = ", NULL" if table == "urls" else ""
                session.execute(
                    text(
                        f"INSERT OR IGNORE INTO {table} ({column}{extra}) "
                        f"VALUES (:v{values})"
                    ),
                    {"v": value},
                )
                ids[(table, value)] = session.execute(
                    text(f"SELECT id FROM {table} WHERE {column} = :v"), {"v": value}
                ).scalar_one()
            return ids[(table, value)]

        rows = [
            {
                "start": to_millis(spec.start),
                "id": index + entry_id % 1_000_000 * 1_000_000,
                "entry": entry_id,
                "end": to_millis(spec.end),
                "app": intern("apps", "name", spec.app),
                "title": intern("titles", "text", spec.title),
                "url": intern("urls", "url", spec.url),
                "flags": spec.flags,
            }
            for index, spec in enumerate(spans)
        ]
        session.execute(
            text(
                "INSERT INTO spans (start_ms, id, entry_id, end_ms, app_id, title_id,"
                " url_id, flags) VALUES (:start, :id, :entry, :end, :app, :title,"
                " :url, :flags)"
            ),
            rows,
        )


def add_slot(
    store: Store,
    entry_id: int,
    start: datetime,
    tracked: float,
    active: float | None,
    *,
    minutes: int = 10,
    flags: int = 0,
    reasons: str | None = None,
) -> None:
    with store.write() as session:
        session.add(
            Slot(
                entry_id=entry_id,
                start=start,
                end=start + timedelta(minutes=minutes),
                tracked_seconds=tracked,
                active_seconds=active,
                passive_seconds=0.0,
                synthetic_flags=flags,
                flag_reasons=reasons,
            )
        )


def add_idle(
    store: Store,
    start: datetime,
    end: datetime | None,
    resolution: str | None,
    *,
    cause: str = "idle",
    by: str | None = "worker",
    note: str | None = None,
) -> None:
    with store.write() as session:
        session.add(
            IdlePeriod(
                start=start,
                end=end,
                cause=cause,
                resolution=resolution,
                resolved_by=by if resolution else None,
                note=note,
            )
        )


def add_break(
    store: Store,
    start: datetime,
    end: datetime | None,
    policy: str = "lunch",
    *,
    paid: bool = False,
    origin: str = "taken",
) -> None:
    with store.write() as session:
        session.add(
            Break(
                policy=policy,
                paid=paid,
                start=start,
                end=end,
                origin=origin,
                allotted_seconds=1800,
            )
        )


def add_screenshot(
    store: Store,
    screenshots_dir: Path,
    entry_id: int | None,
    taken: datetime,
    *,
    colour: tuple[int, int, int] = (40, 90, 160),
    blurred: bool = False,
    deleted_by: str | None = None,
    skipped: str | None = None,
) -> int:
    """A screenshot row; with an image file and its thumbnail unless skipped or
    deleted."""
    relative, full = "", b""
    if deleted_by is None and skipped is None:
        relative = f"{taken:%Y-%m-%d}/{to_millis(taken)}.jpg"
        image = screenshots_dir / relative
        image.parent.mkdir(parents=True, exist_ok=True)
        full, thumb = _images(colour, taken)
        image.write_bytes(full)
        image.with_name(f"{image.stem}.thumb.jpg").write_bytes(thumb)
    with store.write() as session:
        shot = Screenshot(
            entry_id=entry_id,
            taken_at=taken,
            slot_start=taken,
            monitor=0,
            width=1280,
            height=720,
            size_bytes=len(full),
            sha256=hashlib.sha256(full).hexdigest() if full else "",
            path=relative,
            blurred=blurred,
            skipped_reason=skipped,
            deleted_by=deleted_by,
        )
        session.add(shot)
        session.flush()
        return shot.id


def _images(colour: tuple[int, int, int], taken: datetime) -> tuple[bytes, bytes]:
    image = Image.new("RGB", (1280, 720), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((80, 80, 1200, 160), fill=(235, 235, 235))
    draw.rectangle((80, 220, 700, 640), fill=(250, 250, 250))
    draw.text((100, 100), f"{taken:%H:%M}", fill=(0, 0, 0))
    full, thumb = io.BytesIO(), io.BytesIO()
    image.save(full, "JPEG", quality=60)
    image.resize((240, 135)).save(thumb, "JPEG", quality=70)
    return full.getvalue(), thumb.getvalue()


def at(day: date, tz: ZoneInfo, hour: float) -> datetime:
    """``hour`` elapsed hours after local midnight of ``day`` (not wall time)."""
    return day_start(day, tz) + timedelta(hours=hour)


def busy_day(
    store: Store,
    screenshots_dir: Path,
    day: date,
    tz: ZoneInfo,
    *,
    spans: int = 30_000,
    screenshots: int = 144,
    seed: int = 7,
) -> None:
    """A 24-hour-ish day of ``spans`` spans over two entries, a slot every 10
    minutes and ``screenshots`` screenshots spread over the day."""
    rng = random.Random(seed)
    add_project(store, "Acme", ["Design"])
    add_project(store, "Globex")
    begin = at(day, tz, 0.5)
    middle = at(day, tz, 12.0)
    finish = at(day, tz, 23.5)
    first = add_entry(store, "Acme", begin, middle, "Design")
    second = add_entry(store, "Globex", middle, finish)

    for entry, start, end, count in (
        (first, begin, middle, spans // 2),
        (second, middle, finish, spans - spans // 2),
    ):
        step = (end - start) / count
        specs = []
        for index in range(count):
            app = rng.choice(APPS)
            url = rng.choice(URLS) if app == "firefox" else None
            title = f"{app} window {rng.randrange(400)}"
            specs.append(
                SpanSpec(
                    start + step * index, start + step * (index + 1), app, title, url
                )
            )
        add_spans(store, entry, specs)
        slot = start
        while slot < end:
            add_slot(store, entry, slot, 600.0, rng.uniform(100, 600))
            slot += timedelta(minutes=10)

    span = (finish - begin) / screenshots
    for index in range(screenshots):
        taken = begin + span * index + timedelta(seconds=30)
        entry = first if taken < middle else second
        shade = (30 + index % 5 * 40, 80, 200 - index % 7 * 20)
        add_screenshot(store, screenshots_dir, entry, taken, colour=shade)


def busy_month(
    store: Store,
    first: date,
    days: int,
    tz: ZoneInfo,
    *,
    spans: int = 1_000_000,
    seed: int = 11,
) -> None:
    """``days`` workdays from ``first``: two entries a day (08:00–12:00 on Acme
    / Design, 13:00–18:00 on Globex), ``spans`` spans spread over them, a slot
    every 10 minutes."""
    rng = random.Random(seed)
    add_project(store, "Acme", ["Design"])
    add_project(store, "Globex")
    per_entry = spans // (2 * days)
    extra = spans - per_entry * 2 * days
    for offset in range(days):
        day = first + timedelta(days=offset)
        for project, task, begin, end in (
            ("Acme", "Design", 8.0, 12.0),
            ("Globex", None, 13.0, 18.0),
        ):
            start, finish = at(day, tz, begin), at(day, tz, end)
            entry = add_entry(store, project, start, finish, task)
            count = per_entry + (extra if offset == 0 and task else 0)
            step = (finish - start) / count
            specs = []
            for index in range(count):
                app = rng.choice(APPS)
                url = rng.choice(URLS) if app == "firefox" else None
                specs.append(
                    SpanSpec(
                        start + step * index,
                        start + step * (index + 1),
                        app,
                        f"{app} window {rng.randrange(400)}",
                        url,
                    )
                )
            add_spans(store, entry, specs)
            slot = start
            while slot < finish:
                add_slot(store, entry, slot, 600.0, rng.uniform(100, 600))
                slot += timedelta(minutes=10)
