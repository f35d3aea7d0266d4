"""Project usage across agents, pushed with the projects (``GET /v1/projects``).

A project several workers share has one budget, but each agent's store holds
only its own time. With each pushed project the server adds what the
*other* agents recorded on it (matched by name, ignoring case), so the
agent's budget adds it (:mod:`agent.budgets`):

- ``hours``: ``[[hour start ms, work s, kept idle s, paid break s], ...]``
  by UTC hour over the last :data:`RECENT_DAYS` days — enough for a week or
  a month budget in any zone whose offset is whole hours (in a half-hour
  zone a period's edge hour is counted whole on one side);
- ``before_ms`` and ``before``: where the hours begin, and the same three
  sums for all the time before it (a total budget).

Counted: finished entries not deleted (a running one counts once it
stops), split into work and kept idle time by source, and paid breaks with
the project of the entry they paused. The agent applies its ``[rates]``
policy to kept idle time and paid breaks, as for its own.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Engine, select

from sync.server import db

RECENT_DAYS = 62
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
WORK, KEPT_IDLE, PAID_BREAK = 0, 1, 2


def project_usage(
    engine: Engine, asking: str, names: list[str], now_ms: int
) -> dict[str, dict[str, Any]]:
    """Usage per project name (case-folded) of ``names`` by every agent but
    ``asking``; see the module."""
    wanted = {name.casefold() for name in names}
    if not wanted:
        return {}
    since = (now_ms - RECENT_DAYS * DAY_MS) // HOUR_MS * HOUR_MS
    hours: dict[str, dict[int, list[float]]] = defaultdict(dict)
    before: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])

    def add(project: str, start: int, end: int, kind: int) -> None:
        cursor = start
        while cursor < end:
            if cursor < since:
                piece_end = min(end, since)
                before[project][kind] += (piece_end - cursor) / 1000
            else:
                hour = cursor // HOUR_MS * HOUR_MS
                piece_end = min(end, hour + HOUR_MS)
                sums = hours[project].setdefault(hour, [0.0, 0.0, 0.0])
                sums[kind] += (piece_end - cursor) / 1000
            cursor = piece_end

    with engine.connect() as connection:
        projects = _names(connection, asking, wanted)
        entries: dict[tuple[str, str], str] = {}
        for agent, record_id, body in _bodies(connection, asking, "entry"):
            project = projects.get((agent, str(body.get("project_id"))))
            if project is None:
                continue
            entries[(agent, str(record_id))] = project
            span = _span(body)
            if span is not None:
                kind = KEPT_IDLE if body.get("source") == "idle-kept" else WORK
                add(project, *span, kind)
        for agent, _, body in _bodies(connection, asking, "break"):
            project = entries.get((agent, str(body.get("entry_id"))))
            span = _span(body)
            if project is not None and span is not None and body.get("paid") is True:
                add(project, *span, PAID_BREAK)

    return {
        project: {
            "hours": [
                [hour, *(round(s) for s in sums)]
                for hour, sums in sorted(hours[project].items())
            ],
            "before_ms": since,
            "before": [round(s) for s in before[project]],
        }
        for project in set(hours) | set(before)
    }


def _names(
    connection: Any, asking: str, wanted: set[str]
) -> dict[tuple[str, str], str]:
    """(agent, project record id) -> the pushed name, for projects in ``wanted``."""
    found = {}
    for agent, record_id, body in _bodies(connection, asking, "project"):
        name = body.get("name")
        if isinstance(name, str) and " ".join(name.split()).casefold() in wanted:
            found[(agent, str(record_id))] = " ".join(name.split()).casefold()
    return found


def _bodies(
    connection: Any, asking: str, kind: str
) -> list[tuple[str, int, dict[str, Any]]]:
    query = select(
        db.records.c.agent_id, db.records.c.record_id, db.records.c.body
    ).where(db.records.c.kind == kind, db.records.c.agent_id != asking)
    rows = []
    for agent, record_id, body in connection.execute(query):
        data = json.loads(body)
        if isinstance(data, dict):
            rows.append((str(agent), int(record_id), data))
    return rows


def _span(body: dict[str, Any]) -> tuple[int, int] | None:
    """A finished, not deleted record's (start ms, end ms)."""
    start, end = body.get("start_ms"), body.get("end_ms")
    if body.get("deleted_ms") is not None:
        return None
    if not isinstance(start, int) or not isinstance(end, int) or end <= start:
        return None
    return start, end


def with_usage(
    engine: Engine, asking: str, projects: list[Any], now_ms: int
) -> list[Any]:
    """The pushed ``projects``; each that other agents recorded time on
    carries their ``usage`` (the others stay as the lead set them)."""
    names = [
        str(item["name"])
        for item in projects
        if isinstance(item, dict) and isinstance(item.get("name"), str)
    ]
    usage = project_usage(engine, asking, names, now_ms)
    shown = []
    for item in projects:
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            key = " ".join(item["name"].split()).casefold()
            if key in usage:
                item = {**item, "usage": usage[key]}
        shown.append(item)
    return shown
