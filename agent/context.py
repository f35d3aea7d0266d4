"""What a CLI command works with: paths, settings, the store and the services.

Opening a context also does what any process touching the store must do
first: when no agent is alive, an entry a dead agent left open is closed at
its last flush.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from agent.clock import Clock, SystemClock
from agent.errors import UserError
from agent.instance import InstanceLock
from agent.logs import configure_logging
from agent.paths import Paths
from agent.projects import Projects
from agent.settings import Settings, load_settings
from agent.store import Store
from agent.timeparse import day_bounds, parse_date, zone
from agent.timer import Timer

log = logging.getLogger(__name__)


@dataclass
class Context:
    paths: Paths
    settings: Settings
    store: Store
    clock: Clock
    timer: Timer
    projects: Projects
    notices: list[str]
    """Problems found while opening (settings, a damaged database) to show."""

    @classmethod
    def open(cls, clock: Clock | None = None) -> Context:
        paths = Paths.from_env()
        paths.ensure()
        loaded = load_settings(paths)
        configure_logging(paths, console=False, level=loaded.settings.logging.level)
        notices = list(loaded.problems)

        store = Store.open(paths.database)
        if store.kept_aside is not None:
            notices.append(
                f"the database was damaged; it was kept aside as "
                f"{store.kept_aside} and a new one was started"
            )
        for notice in notices:
            log.warning("%s", notice)

        clock = clock or SystemClock()
        timer = Timer(store, clock)
        projects = Projects(store, clock)
        ctx = cls(paths, loaded.settings, store, clock, timer, projects, notices)
        if not ctx.agent_running():
            ctx.timer.recover()
        return ctx

    def agent_running(self) -> bool:
        return InstanceLock(self.paths.lock_file).is_held_elsewhere()

    def zone(self, name: str | None) -> ZoneInfo:
        """The zone named on the command line, else the settings', else local."""
        return zone(name or self.settings.general.time_zone)

    def range_bounds(
        self, date_from: str, date_to: str | None, tz: ZoneInfo
    ) -> tuple[datetime, datetime]:
        now = self.clock.now()
        first = parse_date(date_from, tz, now)
        last = parse_date(date_to, tz, now) if date_to else first
        if last < first:
            raise UserError("--to is before --from")
        return day_bounds(first, tz)[0], day_bounds(last, tz)[1]

    def ensure_project(self, project: str, task: str | None) -> None:
        names = {p.name.lower(): p for p in self.projects.all(include_archived=True)}
        existing = names.get(" ".join(project.split()).lower())
        if existing is None:
            self.projects.add(project, [task] if task else [])
        elif task and task.lower() not in {t.name.lower() for t in existing.tasks}:
            self.projects.add(existing.name, [task])

    def status(self) -> dict[str, Any]:
        """The ``status --json`` object of the command-line contract."""
        from agent.reporting import today_seconds

        tz = self.zone(None)
        now = self.clock.now()
        entry = self.timer.current()
        return {
            "state": "running" if entry is not None else "stopped",
            "project": entry.project if entry else None,
            "task": entry.task if entry else None,
            "since": entry.start.isoformat() if entry else None,
            "today_seconds": round(today_seconds(self.store, tz, now)),
        }
