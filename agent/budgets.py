"""Budgets per project: hours or money, total or per week or month.

A budget (``[[budgets.budget]]`` in settings or policy) counts the project's
time the way costs count it (:mod:`agent.rates`): entries, plus kept idle
time and paid breaks where ``[rates]`` costs them. An hours budget adds
their seconds; a money budget adds their cost at the ``basis`` rate ("bill"
or "pay") in the budget's currency (amounts in other currencies are not
converted and are left out, with a warning in the log).

Periods are calendar periods in ``general.time_zone``: a week from
``general.week_start``, a month from its first day; "total" is all time.

A project several workers share: an hours budget also adds what the other
agents recorded on it, as the sync server last pushed it with the projects
(``sync/server/usage.py``; kept in the ``others_usage`` meta row by
:func:`save_others_usage`), counting their kept idle time and paid breaks
by this worker's ``[rates]`` policy. It is as fresh as the last sync. A
money budget counts this worker's costs only: the others' rates are not
known here.

Thresholds (per cent, e.g. 80 and 100) are told once per period each: the
first time a check finds one reached, a ``budget_alerts`` row is written in
the same transaction that decides to tell, so neither a restart nor a second
process tells it again (:func:`new_alerts`). At 100 %, ``[budgets]
over_budget`` says whether tracking goes on ("continue") or the timer stops
and will not start on that project until the budget allows ("stop").
"""

from __future__ import annotations

import enum
import json
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from agent.csvsafe import Cell, to_csv
from agent.names import fold
from agent.rates import CostedTime, CostKind, cents, costed_time, counts, money_text
from agent.report import day_start, local_day_of
from agent.settings import BudgetSettings, Settings
from agent.store.models import BudgetAlert, Meta

log = logging.getLogger(__name__)

WEEKDAYS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
# Where a total budget starts counting: before any entry can exist.
ALL_TIME = datetime(1970, 1, 1, tzinfo=UTC)
OTHERS_KEY = "others_usage"
"""Meta row: the other agents' time on shared projects, as last pushed."""
# The order of the seconds in the pushed usage (sync/server/usage.py).
USAGE_KINDS = (CostKind.WORK, CostKind.KEPT_IDLE, CostKind.PAID_BREAK)


class Measure(enum.StrEnum):
    HOURS = "hours"
    MONEY = "money"


@dataclass(frozen=True)
class Budget:
    project: str
    measure: Measure
    limit: Decimal  # hours or money
    currency: str
    period: str  # total, week, month
    basis: str  # bill, pay
    thresholds: tuple[int, ...]

    @classmethod
    def from_settings(cls, spec: BudgetSettings, currency: str) -> Budget:
        hours = spec.hours > 0
        return cls(
            project=" ".join(spec.project.split()),
            measure=Measure.HOURS if hours else Measure.MONEY,
            limit=Decimal(str(spec.hours if hours else spec.amount)),
            currency=spec.currency or currency,
            period=spec.period,
            basis=spec.basis,
            thresholds=tuple(sorted(set(spec.thresholds))),
        )

    @property
    def key(self) -> str:
        """What the told thresholds are kept under in the store."""
        return f"{fold(self.project)}|{self.period}|{self.measure}"

    def matches(self, project: str | None) -> bool:
        return project is not None and fold(" ".join(project.split())) == fold(
            self.project
        )

    def bounds(
        self, now: datetime, tz: ZoneInfo, week_start: str
    ) -> tuple[date | None, datetime, datetime | None]:
        """(first local day or None, start, end or None) of the period of ``now``."""
        if self.period == "total":
            return None, ALL_TIME, None
        day = local_day_of(now, tz)
        if self.period == "week":
            first = day - timedelta(
                days=(day.weekday() - WEEKDAYS.index(week_start)) % 7
            )
            after = first + timedelta(days=7)
        else:
            first = day.replace(day=1)
            after = (first + timedelta(days=32)).replace(day=1)
        return first, day_start(first, tz), day_start(after, tz)

    def describe(self) -> str:
        limit = (
            f"{_hm(float(self.limit) * 3600)} h"
            if self.measure is Measure.HOURS
            else money_text(self.limit, self.currency)
        )
        per = {"total": "in total", "week": "a week", "month": "a month"}[self.period]
        return f"{limit} {per}"


def budgets(settings: Settings) -> list[Budget]:
    return [
        Budget.from_settings(spec, settings.rates.currency)
        for spec in settings.budgets.budget
    ]


@dataclass(frozen=True)
class BudgetStatus:
    budget: Budget
    period_start: date | None
    used: Decimal  # hours or money

    @property
    def percent(self) -> float:
        if self.budget.limit <= 0:
            return 0.0
        return float(self.used / self.budget.limit * 100)

    @property
    def remaining(self) -> Decimal:
        return self.budget.limit - self.used

    @property
    def reached(self) -> list[int]:
        return [t for t in self.budget.thresholds if self.percent >= t]

    @property
    def over(self) -> bool:
        return self.used >= self.budget.limit

    @property
    def state(self) -> str:
        if self.over:
            return "over"
        return "warning" if self.reached else "ok"

    def amount_text(self, value: Decimal) -> str:
        if self.budget.measure is Measure.HOURS:
            sign = "-" if value < 0 else ""
            return f"{sign}{_hm(abs(float(value)) * 3600)} h"
        return money_text(value, self.budget.currency)

    def line(self) -> str:
        """One line for the tray and the main window."""
        period = {"total": "", "week": " this week", "month": " this month"}
        when = period[self.budget.period]
        if self.over:
            return (
                f"Budget of {self.budget.project}: used up{when} "
                f"({self.amount_text(self.used)} of {self.budget.describe()})"
            )
        return (
            f"Budget of {self.budget.project}: {self.amount_text(self.remaining)} "
            f"left{when} ({round(self.percent)} % used)"
        )

    def as_json(self) -> dict[str, object]:
        hours = self.budget.measure is Measure.HOURS
        shown = float(cents(self.used)) if not hours else round(float(self.used), 4)
        return {
            "project": self.budget.project,
            "measure": str(self.budget.measure),
            "period": self.budget.period,
            "period_start": self.period_start.isoformat()
            if self.period_start
            else None,
            "basis": None if hours else self.budget.basis,
            "currency": None if hours else self.budget.currency,
            "limit": float(self.budget.limit),
            "used": shown,
            "remaining": round(float(self.remaining), 4 if hours else 2),
            "percent": round(self.percent, 1),
            "thresholds_reached": self.reached,
            "state": self.state,
        }


def budget_status(
    session: Session,
    settings: Settings,
    tz: ZoneInfo,
    now: datetime,
    project: str | None = None,
) -> list[BudgetStatus]:
    """Each budget (of ``project``, if given) for the period holding ``now``."""
    week_start = settings.general.week_start
    statuses = []
    for budget in budgets(settings):
        if project is not None and not budget.matches(project):
            continue
        first, start, end = budget.bounds(now, tz, week_start)
        pieces = costed_time(
            session,
            settings,
            start,
            min(end or now, now),
            now,
            project=budget.project,
        )
        used = _used(budget, pieces, settings)
        if budget.measure is Measure.HOURS:
            others = others_seconds(session, budget.project, start, end, settings)
            used += others / Decimal(3600)
        statuses.append(BudgetStatus(budget, first, used))
    return statuses


def save_others_usage(session: Session, usage: dict[str, Any]) -> None:
    """Keep the other agents' usage per project (case-folded name), as the
    server pushed it; checked by the caller (sync/pushed.py)."""
    session.merge(Meta(key=OTHERS_KEY, value=json.dumps(usage)))


def others_seconds(
    session: Session,
    project: str,
    start: datetime,
    end: datetime | None,
    settings: Settings,
) -> Decimal:
    """Seconds the other agents recorded on ``project`` in ``start``..``end``."""
    raw = session.scalar(select(Meta.value).where(Meta.key == OTHERS_KEY))
    if not raw:
        return Decimal(0)
    usage = json.loads(raw).get(fold(" ".join(project.split())))
    if not usage:
        return Decimal(0)
    counted = [counts(kind, settings.rates) for kind in USAGE_KINDS]

    def seconds(sums: list[int]) -> int:
        return sum(s for s, yes in zip(sums, counted, strict=True) if yes)

    start_ms = int(start.timestamp() * 1000)
    end_ms = int(end.timestamp() * 1000) if end is not None else None
    total = sum(
        seconds(row[1:])
        for row in usage["hours"]
        if row[0] >= start_ms and (end_ms is None or row[0] < end_ms)
    )
    if start_ms <= usage["before_ms"]:
        total += seconds(usage["before"])
    return Decimal(total)


def _used(budget: Budget, pieces: list[CostedTime], settings: Settings) -> Decimal:
    counted = [piece for piece in pieces if counts(piece.kind, settings.rates)]
    if budget.measure is Measure.HOURS:
        seconds = sum(Decimal(str(piece.seconds)) for piece in counted)
        return seconds / Decimal(3600)
    used = Decimal(0)
    others: set[str] = set()
    for piece in counted:
        money = piece.bill if budget.basis == "bill" else piece.pay
        used += money.get(budget.currency)
        others.update(c for c, _ in money.amounts if c != budget.currency)
    if others:
        log.warning(
            "budget of %r is in %s; costs in %s are left out",
            budget.project,
            budget.currency,
            ", ".join(sorted(others)),
        )
    return used


@dataclass(frozen=True)
class Alert:
    status: BudgetStatus
    threshold: int

    def message(self) -> str:
        budget = self.status.budget
        if self.threshold >= 100:
            head = f"The budget of {budget.project} ({budget.describe()}) is used up"
        else:
            head = (
                f"{self.threshold} % of the budget of {budget.project} "
                f"({budget.describe()}) is used"
            )
        return f"{head}: {self.status.line()}."


def new_alerts(
    session: Session, statuses: list[BudgetStatus], now: datetime
) -> list[Alert]:
    """Thresholds reached and not told yet; they are recorded as told here.

    Call inside a write transaction: the rows and the decision commit
    together, and the unique key makes a second writer's insert a no-op.
    """
    alerts = []
    for status in statuses:
        for threshold in status.reached:
            inserted = session.execute(
                insert(BudgetAlert)
                .values(
                    budget=status.budget.key,
                    period_start=(
                        status.period_start.isoformat() if status.period_start else ""
                    ),
                    threshold=threshold,
                    used_percent=status.percent,
                    notified_at=now,
                )
                .on_conflict_do_nothing()
            )
            if cast("CursorResult[Any]", inserted).rowcount:
                alerts.append(Alert(status, threshold))
                log.info("budget of %r reached %d %%", status.budget.project, threshold)
    return alerts


def told(session: Session) -> list[tuple[str, str, int]]:
    """The (budget, period start, threshold) rows already told."""
    rows = session.execute(
        select(BudgetAlert.budget, BudgetAlert.period_start, BudgetAlert.threshold)
    )
    return [(budget, start, threshold) for budget, start, threshold in rows]


# --- rendering: `punchclock budgets` -------------------------------------------


def render_budgets(statuses: list[BudgetStatus], fmt: str, now: datetime) -> str:
    if fmt == "json":
        return json.dumps(
            {"at": now.isoformat(), "budgets": [s.as_json() for s in statuses]},
            ensure_ascii=False,
        )
    if fmt == "csv":
        columns = (
            "project", "measure", "period", "period_start", "basis", "currency",
            "limit", "used", "remaining", "percent", "state",
        )  # fmt: skip
        rows = [[_cell(s.as_json()[c]) for c in columns] for s in statuses]
        return to_csv(columns, rows)
    return _table(statuses)


def _cell(value: object) -> Cell:
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def _table(statuses: list[BudgetStatus]) -> str:
    if not statuses:
        return (
            "No budgets are set. Add [[budgets.budget]] tables to settings.toml "
            "(see resources/defaults.toml), or ask for them in the policy."
        )
    heading = ("Project", "Budget", "Period from", "Used", "Left", "Used %", "State")
    lines = [
        (
            s.budget.project,
            s.budget.describe(),
            s.period_start.isoformat() if s.period_start else "all time",
            s.amount_text(s.used),
            s.amount_text(s.remaining),
            f"{round(s.percent)} %",
            s.state,
        )
        for s in statuses
    ]
    widths = [
        max(len(row[i]) for row in [heading, *lines]) for i in range(len(heading))
    ]

    def line(row: tuple[str, ...]) -> str:
        cells = [
            row[0].ljust(widths[0]),
            row[1].ljust(widths[1]),
            row[2].ljust(widths[2]),
        ]
        cells += [
            cell.rjust(width) for cell, width in zip(row[3:], widths[3:], strict=True)
        ]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(heading), rule, *map(line, lines)]) + "\n"


def _hm(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"
