"""The timer's state as ``punchclock status`` reports it, read with plain SQL.

``status`` is what shell prompts and scripts call, so it reads the store
directly through :mod:`sqlite3` instead of loading the ORM (target: an answer
within 300 ms). It only reads: when an entry needs recovery first (left open
by an agent that died) it returns None and the caller takes the full path,
which recovers and then asks again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from agent.report import day_start

_RUNNING = """
    SELECT p.name, t.name, e.start_ms, e.flushed_at
    FROM entries e
    JOIN projects p ON p.id = e.project_id
    LEFT JOIN tasks t ON t.id = e.task_id
    WHERE e.end_ms IS NULL AND e.deleted_at IS NULL
"""

# Milliseconds of entries inside [day start, day end), a running one up to now.
_DAY_TOTAL = """
    SELECT COALESCE(SUM(
        MAX(0, MIN(COALESCE(end_ms, :now), :day_end) - MAX(start_ms, :day_start))
    ), 0)
    FROM entries
    WHERE deleted_at IS NULL AND start_ms < :day_end
      AND (end_ms IS NULL OR end_ms > :day_start)
"""

_ON_BREAK = "SELECT 1 FROM breaks WHERE end_ms IS NULL LIMIT 1"

# Away now: the agent cut the entry at the last input and opened an idle
# period that ends when the worker returns.
_AWAY = """
    SELECT p.name, t.name, i.start_ms
    FROM idle_periods i
    JOIN entries e ON e.id = i.entry_id
    JOIN projects p ON p.id = e.project_id
    LEFT JOIN tasks t ON t.id = e.task_id
    WHERE i.end_ms IS NULL
    ORDER BY i.start_ms DESC LIMIT 1
"""

# A break pauses (closes) the entry: the project is the paused entry's.
_OPEN_BREAK = """
    SELECT p.name, t.name, b.start_ms
    FROM breaks b
    LEFT JOIN entries e ON e.id = b.entry_id
    LEFT JOIN projects p ON p.id = e.project_id
    LEFT JOIN tasks t ON t.id = e.task_id
    WHERE b.end_ms IS NULL
    ORDER BY b.start_ms DESC LIMIT 1
"""


@dataclass(frozen=True)
class Status:
    state: str
    project: str | None
    task: str | None
    since: datetime | None
    today_seconds: float

    def as_json_dict(self) -> dict[str, Any]:
        """The ``status --json`` object of the command-line contract."""
        return {
            "state": self.state,
            "project": self.project,
            "task": self.task,
            "since": self.since.isoformat() if self.since else None,
            "today_seconds": round(self.today_seconds),
        }


def read_status(
    database: Path, tz: ZoneInfo, now: datetime, *, agent_running: bool
) -> Status | None:
    """The status, or None when the store must be opened fully first."""
    if not database.exists():
        return None
    try:
        with _connect(database) as conn:
            return _read(conn, tz, now, agent_running)
    except sqlite3.Error:
        return None


def _connect(database: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=5)
    conn.execute("PRAGMA query_only = ON")
    return conn


def _read(
    conn: sqlite3.Connection, tz: ZoneInfo, now: datetime, agent_running: bool
) -> Status | None:
    running = conn.execute(_RUNNING).fetchone()
    if running is not None and running[3] is not None and not agent_running:
        return None  # left open by an agent that died: recover first

    today = now.astimezone(tz).date()
    bounds = {
        "now": _ms(now),
        "day_start": _ms(day_start(today, tz)),
        "day_end": _ms(day_start(today + timedelta(days=1), tz)),
    }
    total_ms = conn.execute(_DAY_TOTAL, bounds).fetchone()[0]
    if running is None:
        paused = conn.execute(_OPEN_BREAK).fetchone()
        if paused is not None:
            since = datetime.fromtimestamp(paused[2] / 1000, UTC)
            return Status("break", paused[0], paused[1], since, total_ms / 1000)
        away = conn.execute(_AWAY).fetchone()
        if away is not None:
            since = datetime.fromtimestamp(away[2] / 1000, UTC)
            return Status("idle", away[0], away[1], since, total_ms / 1000)
        return Status("stopped", None, None, None, total_ms / 1000)

    project, task, start_ms, _ = running
    on_break = conn.execute(_ON_BREAK).fetchone() is not None
    since = datetime.fromtimestamp(start_ms / 1000, UTC)
    state = "break" if on_break else "running"
    return Status(state, project, task, since, total_ms / 1000)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
