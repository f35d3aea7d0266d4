"""What a CLI command works with: paths, settings, the store and the services.

Opening a context also does what any process touching the store must do
first: when no agent is alive, an entry a dead agent left open is closed at
its last flush.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from agent.basics import Basics
from agent.clock import Clock, SystemClock
from agent.errors import StoreError, UserError
from agent.logs import configure_logging
from agent.names import fold
from agent.projects import Projects, clean_name
from agent.status import Status, read_status
from agent.store import Store
from agent.timeparse import day_bounds, parse_date
from agent.timer import Timer

log = logging.getLogger(__name__)


@dataclass
class Context(Basics):
    store: Store = field(kw_only=True)
    clock: Clock = field(kw_only=True)
    timer: Timer = field(kw_only=True)
    projects: Projects = field(kw_only=True)

    @classmethod
    def open(cls, clock: Clock | None = None) -> Context:
        basics = Basics.load()
        paths = basics.paths
        paths.ensure()
        configure_logging(paths, console=False, level=basics.settings.logging.level)

        store = Store.open(paths.database)
        if store.kept_aside is not None:
            basics.notices.append(
                f"the database was damaged; it was kept aside as "
                f"{store.kept_aside} and a new one was started. Most of the "
                "old records can usually be read back with `sqlite3 "
                f"{store.kept_aside} .recover > recovered.sql`"
            )
        for notice in basics.notices:
            log.warning("%s", notice)

        clock = clock or SystemClock()
        ctx = cls(
            paths,
            basics.settings,
            basics.notices,
            basics.locked,
            store=store,
            clock=clock,
            timer=Timer(store, clock),
            projects=Projects(store, clock),
        )
        if not ctx.agent_running():
            recovered = ctx.timer.recover()
            if recovered is not None and recovered.end is not None:
                ended = recovered.end.astimezone(ctx.zone(None))
                ctx.notices.append(
                    f"the agent stopped unexpectedly; your timer on "
                    f"{recovered.project!r} was closed at {ended:%H:%M:%S}, when "
                    "it last confirmed the work. If you kept working after "
                    "that, add the time with `punchclock entries add`"
                )
        return ctx

    def date_range(
        self, date_from: str, date_to: str | None, tz: ZoneInfo
    ) -> tuple[date, date]:
        """``--from`` and ``--to`` as local dates; ``--to`` defaults to ``--from``."""
        now = self.clock.now()
        first = parse_date(date_from, tz, now)
        last = parse_date(date_to, tz, now) if date_to else first
        if last < first:
            raise UserError("--to is before --from")
        return first, last

    def range_bounds(
        self, date_from: str, date_to: str | None, tz: ZoneInfo
    ) -> tuple[datetime, datetime]:
        """The UTC moments from the start of ``--from`` to the end of ``--to``."""
        first, last = self.date_range(date_from, date_to, tz)
        return day_bounds(first, tz)[0], day_bounds(last, tz)[1]

    def ensure_project(self, project: str, task: str | None) -> None:
        names = {fold(p.name): p for p in self.projects.all(include_archived=True)}
        existing = names.get(fold(clean_name(project, "project")))
        if existing is None:
            self.projects.add(project, [task] if task else [])
        elif task and fold(clean_name(task, "task")) not in {
            fold(t.name) for t in existing.tasks
        }:
            self.projects.add(existing.name, [task])

    def status(self) -> Status:
        """The ``status`` answer; the context has recovered a dead agent's entry."""
        status = read_status(
            self.paths.database,
            self.zone(None),
            self.clock.now(),
            agent_running=self.agent_running(),
        )
        if status is None:
            raise StoreError(
                f"cannot read the timer's state from {self.paths.database}"
            )
        return status
