"""``punchclock report --with-cost``: the report with pay, bill and budgets.

The time columns are :func:`agent.reporting.collect_report`'s, unchanged;
each row gains what its time cost (pay) and bills (:mod:`agent.rates`), and
by project the state of the project's budgets now (:mod:`agent.budgets`).
Rates change only at local midnight, so a piece of time split at midnight
(``--by day``) shares its cost in proportion, exactly. Paid breaks are not
tracked time (see :mod:`agent.report`): their cost, where policy costs them,
is shown apart, as the report shows their time apart.

Time no rate covers costs nothing and is said so (``unrated_seconds``), never
shown as 0.00. Cost by app, title or domain is not offered: rates are per
worker, project and task.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from agent.budgets import BudgetStatus, budget_status
from agent.csvsafe import to_csv
from agent.errors import UserError
from agent.rates import CostedTime, CostKind, Money, costed_time
from agent.report import (
    NO_PROJECT,
    NO_TASK,
    Report,
    day_start,
    display_cells,
    shown_rows,
    split_local_days,
    table_key,
)
from agent.reporting import collect_report
from agent.settings import Settings
from agent.store import Store

COSTED_GROUPINGS = ("day", "project", "task")


@dataclass
class CostRow:
    pay: Money = field(default_factory=Money)
    bill: Money = field(default_factory=Money)
    unrated_pay: float = 0.0
    unrated_bill: float = 0.0

    def add(self, piece: CostedTime, share: Decimal, seconds: float) -> None:
        self.pay = self.pay + _part(piece.pay, share)
        self.bill = self.bill + _part(piece.bill, share)
        if not piece.pay_rated:
            self.unrated_pay += seconds
        if not piece.bill_rated:
            self.unrated_bill += seconds


def _part(money: Money, share: Decimal) -> Money:
    if share == 1:
        return money
    return Money(tuple((c, amount * share) for c, amount in money.amounts))


@dataclass(frozen=True)
class CostReport:
    report: Report
    rows: dict[str, CostRow]
    breaks: CostRow
    budgets: dict[str, list[BudgetStatus]]

    @property
    def total(self) -> CostRow:
        total = CostRow()
        for row in self.rows.values():
            total.pay = total.pay + row.pay
            total.bill = total.bill + row.bill
            total.unrated_pay += row.unrated_pay
            total.unrated_bill += row.unrated_bill
        return total

    def row(self, key: str) -> CostRow:
        return self.rows.get(key, CostRow())

    def as_json_dict(self) -> dict[str, object]:
        shown = self.report.as_json_dict()
        rows = cast("list[dict[str, Any]]", shown["rows"])
        for row in rows:
            cost = self.row(row["key"])
            row["pay"] = cost.pay.as_json()
            row["bill"] = cost.bill.as_json()
            if self.report.by.value == "project":
                row["budgets"] = [s.as_json() for s in self.budgets.get(row["key"], [])]
        total = self.total
        shown["total_pay"] = total.pay.as_json()
        shown["total_bill"] = total.bill.as_json()
        shown["unrated_seconds"] = {
            "pay": round(total.unrated_pay),
            "bill": round(total.unrated_bill),
        }
        if self.breaks.pay or self.breaks.bill:
            shown["paid_breaks_pay"] = self.breaks.pay.as_json()
            shown["paid_breaks_bill"] = self.breaks.bill.as_json()
        return shown


def collect_cost_report(
    store: Store,
    settings: Settings,
    by: str,
    tz: ZoneInfo,
    date_from: date,
    date_to: date,
    now: datetime,
) -> CostReport:
    if by not in COSTED_GROUPINGS:
        raise UserError(
            f"--with-cost works with --by day, project or task, not {by}: rates are "
            "per worker, project and task"
        )
    report = collect_report(store, by, tz, date_from, date_to, now)
    start = day_start(date_from, tz)
    end = day_start(date_to + timedelta(days=1), tz)
    with store.read() as session:
        pieces = costed_time(session, settings, start, end, now)
        statuses = budget_status(session, settings, tz, now) if by == "project" else []

    rows: dict[str, CostRow] = defaultdict(CostRow)
    breaks = CostRow()
    for piece in pieces:
        if piece.kind is CostKind.PAID_BREAK:
            breaks.add(piece, Decimal(1), piece.seconds)
            continue
        for key, share, seconds in _keyed(piece, by, tz):
            rows[key].add(piece, share, seconds)

    by_project: dict[str, list[BudgetStatus]] = defaultdict(list)
    for status in statuses:
        for key in rows:
            if status.budget.matches(key):
                by_project[key].append(status)
    return CostReport(report, dict(rows), breaks, dict(by_project))


def _keyed(
    piece: CostedTime, by: str, tz: ZoneInfo
) -> list[tuple[str, Decimal, float]]:
    """(row key, share of the piece's cost, seconds) for ``piece``."""
    if by == "project":
        return [(piece.project or NO_PROJECT, Decimal(1), piece.seconds)]
    if by == "task":
        key = f"{piece.project or NO_PROJECT} / {piece.task or NO_TASK}"
        return [(key, Decimal(1), piece.seconds)]
    parts = []
    for day, start, end in split_local_days(piece.start, piece.end, tz):
        seconds = (end - start).total_seconds()
        share = Decimal(str(seconds)) / Decimal(str(piece.seconds))
        parts.append((day.isoformat(), share, seconds))
    return parts


# --- rendering ------------------------------------------------------------------


def render_cost_json(result: CostReport) -> str:
    return json.dumps(result.as_json_dict(), ensure_ascii=False)


def render_cost_csv(result: CostReport) -> str:
    """The report's CSV columns, then pay, bill and (by project) budgets."""
    header = ["key", "seconds", "hours", "active_seconds", "pay", "pay_currency"]
    header += ["bill", "bill_currency", "unrated_seconds"]
    by_project = result.report.by.value == "project"
    if by_project:
        header += ["budget_used_percent", "budget_left"]
    rows = []
    for row in shown_rows(result.report):
        cost = result.row(row.key)
        active = None if row.active_seconds is None else round(row.active_seconds)
        cells: list[str | int | float | None] = [
            row.key,
            round(row.seconds),
            f"{row.seconds / 3600:.2f}",
            active,
            *_csv_money(cost.pay),
            *_csv_money(cost.bill),
            round(max(cost.unrated_pay, cost.unrated_bill)),
        ]
        if by_project:
            statuses = result.budgets.get(row.key, [])
            cells.append("; ".join(f"{s.percent:.1f}" for s in statuses) or None)
            cells.append(
                "; ".join(s.amount_text(s.remaining) for s in statuses) or None
            )
        rows.append(cells)
    return to_csv(header, rows)


def _csv_money(money: Money) -> tuple[str | float | None, str | None]:
    """A number and its currency; several currencies as one text cell."""
    rounded = money.rounded()
    if not rounded:
        return None, None
    if len(rounded) == 1:
        ((currency, amount),) = rounded.items()
        return float(amount), currency
    return money.text(), "mixed"


def _cost_cells(
    result: CostReport,
) -> tuple[list[str], list[list[str]], list[str]]:
    """(heading, a line per row, the totals line) as text cells."""
    report = result.report
    by_project = report.by.value == "project"
    heading = ["", "Time", "Pay", "Bill"] + (["Budget"] if by_project else [])
    heading[0] = {"day": "Day", "project": "Project", "task": "Project / task"}[
        report.by.value
    ]
    lines = []
    for row in shown_rows(report):
        cost = result.row(row.key)
        line = [table_key(row.key), _hm(row.seconds), cost.pay.text()]
        line.append(cost.bill.text())
        if by_project:
            statuses = result.budgets.get(row.key, [])
            line.append(
                "; ".join(
                    f"{s.amount_text(s.remaining)} left ({round(s.percent)} %)"
                    for s in statuses
                )
            )
        lines.append(line)
    total = result.total
    totals = ["Total", _hm(report.total_seconds), total.pay.text(), total.bill.text()]
    totals += [""] if by_project else []
    return heading, lines, totals


def _cost_title(result: CostReport) -> str:
    report = result.report
    return (
        f"Tracked time and cost by {report.by.value}, {report.date_from} to "
        f"{report.date_to} ({report.tz_name})"
    )


def _cost_notes(result: CostReport) -> list[str]:
    """Paid breaks' cost, and time no rate covers."""
    total = result.total
    notes = []
    if result.breaks.pay or result.breaks.bill:
        notes.append(
            f"Paid breaks (not in the total above): pay {result.breaks.pay.text()}, "
            f"bill {result.breaks.bill.text()}"
        )
    for kind, seconds in (("pay", total.unrated_pay), ("bill", total.unrated_bill)):
        if seconds > 0:
            notes.append(
                f"No {kind} rate covers {_gap(seconds)} of this time; add one under "
                "[[rates.rate]] in settings.toml"
            )
    return notes


def render_cost_html(result: CostReport) -> str:
    """The cost tables as a section of ``report --format html``."""
    from agent.timeline_html import cost_section

    heading, lines, totals = _cost_cells(result)
    return cost_section(
        _cost_title(result), heading, [*lines, totals], _cost_notes(result)
    )


def render_cost_table(result: CostReport) -> str:
    report = result.report
    by_project = report.by.value == "project"
    heading, lines, totals = _cost_cells(result)
    widths = [
        max(display_cells(line[i]) for line in [heading, *lines, totals])
        for i in range(len(heading))
    ]

    def text(cells: list[str]) -> str:
        # Padded by terminal cells, not characters: emoji and wide names.
        first = [cells[0] + " " * (widths[0] - display_cells(cells[0]))]
        rest = [
            " " * (width - display_cells(cell)) + cell
            for cell, width in zip(cells[1:4], widths[1:4], strict=True)
        ]
        extra = [cells[4]] if by_project else []
        return "  ".join(first + rest + extra).rstrip()

    rule = "  ".join("-" * width for width in widths)
    title = _cost_title(result)
    out = [title, "", text(heading), rule, *map(text, lines), rule, text(totals), ""]
    out += _cost_notes(result)
    return "\n".join(out).rstrip("\n") + "\n"


def _hm(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


def _gap(seconds: float) -> str:
    """H:MM, or H:MM:SS under a minute so that a short gap never reads 0:00."""
    if seconds >= 60:
        return _hm(seconds)
    return f"0:00:{max(1, math.ceil(seconds)):02d}"
