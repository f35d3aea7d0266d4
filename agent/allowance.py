"""Work limits and budgets applied: at a start, and while the timer runs.

- :class:`StartGuard` is :class:`~agent.timer.Timer`'s start check (the CLI's
  ``start`` and the tray's alike): a start past a cap, outside the shifts
  under "refuse", or on a used-up budget under ``over_budget = "stop"`` is
  refused with a message saying until when; a start outside the shifts under
  "record" is kept and marked (``outside_shift`` table).
- :class:`Allowance` is ticked by the agent every second. It reads the store
  only on a change (a start, a stop, a break) or every
  :data:`RECHECK_SECONDS`; in between a tick only compares the clock with
  the moment the running entry must stop. It stops the timer **at** that
  moment (a cap reached, the end of a shift, a budget used up), tells its
  listeners with a :class:`Notice`, tells each budget threshold once
  (:func:`agent.budgets.new_alerts`), and keeps the lines the tray shows
  (:meth:`Allowance.lines`).

Breaks (:meth:`Allowance.watch_breaks`): the entry a break's end reopens is
a start like any other, so it goes through the same :class:`StartGuard`; a
refused one leaves no entry, and the worker is told why the timer did not
resume. A paid break counts toward the caps (:mod:`agent.limits`) though no
entry runs during it, so the allowance watches it as it watches an entry:
when a cap is reached (or, under "refuse", the shift ends) during a paid
break, the break ends at that moment — the rest of it is neither paid break
nor work — and the timer does not resume (the guard refuses at the cap).
One notice says both. The same holds for a budget of the paused entry's
project under ``over_budget = "stop"`` that the break counts toward
(``[rates] paid_breaks``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.budgets import BudgetStatus, Measure, budget_status, new_alerts
from agent.clock import Clock
from agent.errors import ConflictError
from agent.limits import Allowed, LimitReachedError, Limits
from agent.rates import CostKind, RateBook, RateKind, costs
from agent.settings import Settings
from agent.store import Store
from agent.store.models import (
    Break,
    Entry,
    EntrySource,
    OutsideShift,
    Project,
    Task,
    to_stored,
)
from agent.timeparse import zone
from agent.timer import EntryView, Timer

if TYPE_CHECKING:
    from agent.breaks import Breaks, BreakView

log = logging.getLogger(__name__)

RECHECK_SECONDS = 30.0


class BudgetUsedUpError(ConflictError):
    """A start on a project whose budget is used up, where policy stops there."""


@dataclass(frozen=True)
class Notice:
    """Something the worker should be told now (a notification)."""

    title: str
    message: str


NoticeListener = Callable[[Notice], None]


class StartGuard:
    """Refuses a start the limits or budgets do not allow; see the module."""

    def __init__(self, settings: Settings, tz: ZoneInfo | None = None) -> None:
        self.settings = settings
        self.tz = tz or zone(settings.general.time_zone)
        self.limits = Limits(settings.limits, self.tz, settings.general.week_start)
        self.outside_shift: str | None = None
        """Why the last start was recorded as outside the shift, if it was."""

    def __call__(self, session: Session, entry: Entry, now: datetime) -> None:
        self.outside_shift = None
        if self.limits.active:
            allowed = self.limits.allowed(session, now)
            reason = self.limits.refusal(allowed, now)
            if reason is not None:
                raise LimitReachedError(f"cannot start: {reason}")
            if not allowed.in_shift:
                why = self.limits.outside_reason(now)
                session.add(
                    OutsideShift(entry_id=entry.id, recorded_at=now, reason=why)
                )
                log.info("entry %d %s", entry.id, why)
                self.outside_shift = why
        if self.settings.budgets.over_budget == "stop":
            project = session.get(Project, entry.project_id)
            name = project.name if project is not None else None
            for status in budget_status(session, self.settings, self.tz, now, name):
                if status.over:
                    raise BudgetUsedUpError(
                        f"cannot start on {status.budget.project}: its budget of "
                        f"{status.budget.describe()} is used up "
                        f"({status.amount_text(status.used)}), and your "
                        "organisation's policy stops the timer there. Ask for a "
                        "larger budget, or clock in on another project"
                    )


@dataclass(frozen=True)
class _Check:
    """What the last read of the store found."""

    at: datetime
    entry_id: int | None
    allowed: Allowed | None
    statuses: tuple[BudgetStatus, ...]
    stop_at: datetime | None
    stop_reason: str
    break_id: int | None = None  # the open paid break watched, no entry running


class Allowance:
    """The agent's watch over limits and budgets; see the module."""

    def __init__(
        self, store: Store, clock: Clock, timer: Timer, settings: Settings
    ) -> None:
        self._store = store
        self._clock = clock
        self._timer = timer
        self.settings = settings
        self.tz = zone(settings.general.time_zone)
        self.limits = Limits(settings.limits, self.tz, settings.general.week_start)
        self._book = RateBook(settings.rates, self.tz)
        self._listeners: list[NoticeListener] = []
        self._lock = threading.Lock()
        self._check: _Check | None = None
        self._told: set[tuple[str, str, int]] = set()
        self._guard = StartGuard(settings, self.tz)
        self._breaks: Breaks | None = None
        self._ending_break: int | None = None

    def apply_settings(self, settings: Settings) -> None:
        """A new policy: its limits, rates and budgets from the next tick on."""
        limits = Limits(settings.limits, self.tz, settings.general.week_start)
        book = RateBook(settings.rates, self.tz)
        guard = StartGuard(settings, self.tz)
        with self._lock:
            self.settings, self.limits, self._book = settings, limits, book
            self._guard = guard
            self._check = None

    def watch_breaks(self, breaks: Breaks) -> None:
        """Guard the entry each break's end reopens, tell a refusal, and end
        a paid break at a cap; see the module."""
        self._breaks = breaks
        breaks.start_guard = self._guard_resume
        breaks.add_resume_listener(self._resume_refused)

    def _guard_resume(self, session: Session, entry: Entry, now: datetime) -> None:
        self._guard(session, entry, now)

    def _resume_refused(self, view: BreakView) -> None:
        if view.id == self._ending_break:
            return  # _end_break tells it with why the break ended
        self._notify(
            Notice(
                "Punchclock — timer not resumed",
                f"Your break ended, but the timer did not resume: "
                f"{view.resume_refused}.",
            )
        )

    @property
    def active(self) -> bool:
        return self.limits.active or bool(self.settings.budgets.budget)

    def add_listener(self, listener: NoticeListener) -> None:
        """Called with each notice on the agent's thread (or, for a break
        ended by a call, on the caller's)."""
        self._listeners.append(listener)

    def tick(self, current: EntryView | None) -> bool:
        """Once a second; returns True when it stopped the running entry."""
        if not self.active:
            return False
        now = self._clock.now()
        check = self._check
        same = check is not None and check.entry_id == (current.id if current else None)
        stale = (
            not same
            or check is None
            or abs((now - check.at).total_seconds()) >= RECHECK_SECONDS
        )
        if stale:
            foreseen = check if same else None
            check = self.check(current, now)
            if foreseen is not None and _passed(foreseen.stop_at, now):
                # A recheck on the tick the foreseen moment came finds it
                # passed and says "now": stop where it was foreseen.
                check = replace(
                    check,
                    stop_at=foreseen.stop_at,
                    stop_reason=foreseen.stop_reason,
                    break_id=check.break_id or foreseen.break_id,
                )
        if check is None or check.stop_at is None or now < check.stop_at:
            return False
        if current is not None:
            return self._stop(check)
        return check.break_id is not None and self._end_break(check)

    def check(self, current: EntryView | None, now: datetime) -> _Check:
        """Read the store: what is left, budgets, and when to stop."""
        with self._store.read() as session:
            allowed = self.limits.allowed(session, now) if self.limits.active else None
            running = _Running.of(current) if current is not None else None
            paid_break = None
            if running is None and self._breaks is not None:
                paid_break = _open_paid_break(session)
                running = paid_break[1] if paid_break is not None else None
            statuses = (
                budget_status(session, self.settings, self.tz, now, running.project)
                if running is not None and running.project is not None
                else []
            )
        stop_at, reason = self._stop_moment(running, allowed, statuses, now)
        check = _Check(
            now,
            current.id if current else None,
            allowed,
            tuple(statuses),
            stop_at,
            reason,
            paid_break[0] if paid_break is not None and stop_at is not None else None,
        )
        with self._lock:
            self._check = check
        if any(key not in self._told for key in _reached(statuses)):
            self._tell_thresholds(statuses, now)
        return check

    def _stop_moment(
        self,
        running: _Running | None,
        allowed: Allowed | None,
        statuses: list[BudgetStatus],
        now: datetime,
    ) -> tuple[datetime | None, str]:
        if running is None:
            return None, ""
        moments: list[tuple[datetime, str]] = []
        if allowed is not None:
            limit = self.limits.stop_moment(allowed, now)
            if limit is not None:
                moments.append(limit)
        if self.settings.budgets.over_budget == "stop":
            for status in statuses:
                moment = self._budget_end(status, running, now)
                if moment is not None:
                    moments.append(
                        (moment, f"the budget of {status.budget.project} is used up")
                    )
        if not moments:
            return None, ""
        return min(moments, key=lambda pair: pair[0])

    def _budget_end(
        self, status: BudgetStatus, running: _Running, now: datetime
    ) -> datetime | None:
        """When the running entry (or paid break) uses the budget up at the
        present rate; None if it does not count toward the budget."""
        pay, bill = costs(running.kind, self.settings.rates)
        hours = status.budget.measure is Measure.HOURS
        basis = RateKind(status.budget.basis)
        if not (pay if hours or basis is RateKind.PAY else bill):
            return None
        remaining = status.remaining
        if remaining <= 0:
            return now
        if hours:
            return now + timedelta(hours=float(remaining))
        rate = self._book.rate(basis, running.project, running.task, now)
        if rate is None or rate.amount <= 0 or rate.currency != status.budget.currency:
            return None
        left = remaining / rate.amount
        return now + timedelta(seconds=float(left * Decimal(3600)))

    def _stop(self, check: _Check) -> bool:
        stopped = self._timer.stop(at=check.stop_at)
        if stopped is None:
            return False
        log.info("timer stopped at %s: %s", check.stop_at, check.stop_reason)
        now = self._clock.now()
        refusal = self._refusal_after(now)
        message = f"The timer stopped: {check.stop_reason}."
        if refusal:
            message += f" You cannot start again yet: {refusal}."
        self._notify(Notice("Punchclock — timer stopped", message))
        self.check(None, now)
        return True

    def _end_break(self, check: _Check) -> bool:
        """End the paid break at the cap; the guard keeps the timer stopped."""
        if self._breaks is None or check.stop_at is None:
            return False
        self._ending_break = check.break_id
        try:
            # Up to the store's millisecond, so the break fills the cap and
            # the guard finds nothing left.
            view = self._breaks.stop(tracked=True, at=_up_to_ms(check.stop_at))
        finally:
            self._ending_break = None
        now = self._clock.now()
        if view is not None:
            log.info("paid break ended at %s: %s", check.stop_at, check.stop_reason)
            end = view.end or now
            message = (
                f"Your paid break ended at {end.astimezone(self.tz):%H:%M}: "
                f"{check.stop_reason}."
            )
            if view.resume_refused:
                message += f" The timer did not resume: {view.resume_refused}."
            self._notify(Notice("Punchclock — break ended", message))
        self.check(None, now)
        return view is not None

    def _refusal_after(self, now: datetime) -> str | None:
        if not self.limits.active:
            return None
        with self._store.read() as session:
            allowed = self.limits.allowed(session, now)
        return self.limits.refusal(allowed, now)

    def _tell_thresholds(self, statuses: list[BudgetStatus], now: datetime) -> None:
        # The store decides (another process may have told one already); the
        # set only spares a write per check once everything reached was told.
        with self._store.write() as session:
            alerts = new_alerts(session, statuses, now)
        self._told.update(_reached(statuses))
        for alert in alerts:
            self._notify(Notice("Punchclock — budget", alert.message()))

    def _notify(self, notice: Notice) -> None:
        log.warning("%s", notice.message)
        for listener in self._listeners:
            listener(notice)

    def lines(self, now: datetime | None = None) -> list[str]:
        """What the tray and the main window show: limits left, the running
        project's budgets. Never touches the store."""
        with self._lock:
            check = self._check
        if check is None:
            return []
        now = now or self._clock.now()
        since = max((now - check.at).total_seconds(), 0.0)
        running = check.entry_id is not None or check.break_id is not None
        lines = []
        if check.allowed is not None:
            lines += limit_lines(
                self.limits, check.allowed, since if running else 0.0, now
            )
        lines += [status.line() for status in check.statuses]
        return lines


def _passed(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and now >= moment


@dataclass(frozen=True)
class _Running:
    """What is counting toward the limits and budgets now."""

    project: str | None
    task: str | None
    kind: CostKind

    @classmethod
    def of(cls, entry: EntryView) -> _Running:
        idle = entry.source == EntrySource.IDLE_KEPT
        return cls(
            entry.project, entry.task, CostKind.KEPT_IDLE if idle else CostKind.WORK
        )


def _open_paid_break(session: Session) -> tuple[int, _Running] | None:
    """The open paid break's id, with the project and task it paused."""
    query = (
        select(Break.id, Project.name, Task.name)
        .outerjoin(Entry, Entry.id == Break.entry_id)
        .outerjoin(Project, Project.id == Entry.project_id)
        .outerjoin(Task, Task.id == Entry.task_id)
        .where(Break.end.is_(None), Break.paid.is_(True))
        .order_by(Break.start.desc())
    )
    row = session.execute(query).first()
    if row is None:
        return None
    return row[0], _Running(row[1], row[2], CostKind.PAID_BREAK)


def _up_to_ms(moment: datetime) -> datetime:
    """``moment`` rounded up to the store's millisecond."""
    cut = to_stored(moment)
    return cut if cut == moment else cut + timedelta(milliseconds=1)


def _reached(statuses: list[BudgetStatus]) -> set[tuple[str, str, int]]:
    return {
        (s.budget.key, s.period_start.isoformat() if s.period_start else "", t)
        for s in statuses
        for t in s.reached
    }


def limit_lines(
    limits: Limits, allowed: Allowed, since: float, now: datetime
) -> list[str]:
    """The work-limit lines: time left of the nearer cap, and the shift."""
    lines = []
    caps = [
        (left - since, what)
        for left, what in (
            (allowed.day_left, "today"),
            (allowed.week_left, "this week"),
        )
        if left is not None
    ]
    if caps:
        left, what = min(caps)
        if left <= 0:
            lines.append(f"Work limit reached {what}")
        else:
            lines.append(f"Work limit: {_hm(left)} left {what}")
    if limits.shifts:
        if allowed.shift_end is not None:
            lines.append(f"Shift ends {limits.when(allowed.shift_end, now)}")
        else:
            after = allowed.next_shift
            lines.append(
                "Outside your shift"
                + (f" (next starts {limits.when(after, now)})" if after else "")
            )
    return lines


def _hm(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def tray_lines(agent: object) -> list[str]:
    """The lines the tray menu shows for ``agent`` (an Agent, or None)."""
    allowance = getattr(agent, "allowance", None)
    return allowance.lines() if isinstance(allowance, Allowance) else []
