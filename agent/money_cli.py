"""The commands for money and limits: ``budgets``, ``limits``, ``value`` and
``report --with-cost`` (wired into :mod:`agent.cli`).

    punchclock budgets [--format table|csv|json] [--tz ZONE]
    punchclock limits [--json]
    punchclock value baseline set KIND --minutes-per-unit M --cost-per-hour C
                                       [--currency CODE]
    punchclock value baseline list [--json] | import FILE.csv | delete KIND
    punchclock value units add KIND UNITS [--date D] [--note N] | import FILE.csv
    punchclock value units list [--kind K] [--from D] [--to D] [--json] | delete ID
    punchclock value report [--from D] [--to D] [--period week|month]
                            [--basis bill|pay] [--format table|csv|json] [--tz ZONE]
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.errors import UserError

if TYPE_CHECKING:
    # Imported when a command runs: building the parser must stay light
    # (`punchclock status` builds it too).
    from agent.context import Context


def add_parsers(commands: Any) -> None:
    _add_budgets(commands)
    _add_limits(commands)
    _add_value(commands)


def _add_budgets(commands: Any) -> None:
    budgets = commands.add_parser(
        "budgets", help="each project's budget: used and left in this period"
    )
    budgets.add_argument("--format", default="table", choices=["table", "csv", "json"])
    budgets.add_argument("--tz", help="IANA time zone (default: settings or system)")
    budgets.set_defaults(handler=_budgets)


def _add_limits(commands: Any) -> None:
    limits = commands.add_parser(
        "limits", help="work limits: time left today and this week, the shifts"
    )
    limits.add_argument("--json", action="store_true")
    limits.set_defaults(handler=_limits)


def _add_value(commands: Any) -> None:
    value = commands.add_parser(
        "value", help="outsourcing value: outsourced work against in-house baselines"
    )
    parts = value.add_subparsers(title="parts", metavar="PART", required=True)

    baseline = parts.add_parser("baseline", help="in-house figures per kind of task")
    actions = baseline.add_subparsers(title="actions", metavar="ACTION", required=True)
    put = actions.add_parser("set", help="add or change a kind's baseline")
    put.add_argument("kind", help="the kind of task, as the tasks are named")
    put.add_argument("--minutes-per-unit", required=True, help="in-house, e.g. 30")
    put.add_argument("--cost-per-hour", required=True, help="in-house, e.g. 45.00")
    put.add_argument("--currency", default="", help="default: [rates] currency")
    put.set_defaults(handler=_baseline_set)
    listing = actions.add_parser("list", help="the baselines")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_baseline_list)
    imported = actions.add_parser(
        "import",
        help="baselines from CSV: kind,minutes_per_unit,cost_per_hour[,currency]",
    )
    imported.add_argument("file", type=Path)
    imported.set_defaults(handler=_baseline_import)
    delete = actions.add_parser("delete", help="a kind's baseline and its units")
    delete.add_argument("kind")
    delete.set_defaults(handler=_baseline_delete)

    units = parts.add_parser("units", help="units the outsourced work delivered")
    unit_actions = units.add_subparsers(
        title="actions", metavar="ACTION", required=True
    )
    add = unit_actions.add_parser("add", help="units of a kind delivered on a day")
    add.add_argument("kind")
    add.add_argument("units", help="how many, e.g. 12 or 2.5")
    add.add_argument("--date", default="today", help="YYYY-MM-DD (default today)")
    add.add_argument("--note", "-n")
    add.set_defaults(handler=_units_add)
    units_list = unit_actions.add_parser("list", help="the units records, with ids")
    units_list.add_argument("--kind", help="only this kind of task")
    units_list.add_argument("--from", dest="date_from", help="YYYY-MM-DD")
    units_list.add_argument("--to", dest="date_to", help="YYYY-MM-DD")
    units_list.add_argument("--json", action="store_true")
    units_list.set_defaults(handler=_units_list)
    units_delete = unit_actions.add_parser("delete", help="one units record, by id")
    units_delete.add_argument("id", type=int, help="from `value units list`")
    units_delete.set_defaults(handler=_units_delete)
    units_import = unit_actions.add_parser(
        "import", help="units from CSV: kind,date,units[,note]"
    )
    units_import.add_argument("file", type=Path)
    units_import.set_defaults(handler=_units_import)

    report = parts.add_parser("report", help="time and cost per unit against baselines")
    report.add_argument(
        "--from", dest="date_from", help="YYYY-MM-DD (default: 8 weeks ago)"
    )
    report.add_argument("--to", dest="date_to", help="YYYY-MM-DD (default today)")
    report.add_argument("--period", default="week", choices=["week", "month"])
    report.add_argument(
        "--basis",
        default="bill",
        choices=["bill", "pay"],
        help="which rate the outsourced time costs (default bill: what it costs you)",
    )
    report.add_argument("--format", default="table", choices=["table", "csv", "json"])
    report.add_argument("--tz", help="IANA time zone (default: settings or system)")
    report.set_defaults(handler=_value_report)


# handlers


def _context() -> Context:
    from agent.context import Context

    ctx = Context.open()
    for notice in ctx.notices:
        sys.stderr.write(f"punchclock: {notice}\n")
    return ctx


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


def _write(text: str) -> None:
    sys.stdout.write(text.rstrip("\n") + "\n")


def print_cost_report(
    ctx: Context, fmt: str, by: str, tz: Any, date_from: date, date_to: date
) -> int:
    """``punchclock report --with-cost``."""
    from agent import cost_report

    result = cost_report.collect_cost_report(
        ctx.store, ctx.settings, by, tz, date_from, date_to, ctx.clock.now()
    )
    renderers = {
        "table": cost_report.render_cost_table,
        "csv": cost_report.render_cost_csv,
        "json": cost_report.render_cost_json,
    }
    _write(renderers[fmt](result))
    return 0


def cost_html(ctx: Context, by: str, tz: Any, date_from: date, date_to: date) -> str:
    """The cost section of ``report --with-cost --format html``."""
    from agent import cost_report

    result = cost_report.collect_cost_report(
        ctx.store, ctx.settings, by, tz, date_from, date_to, ctx.clock.now()
    )
    return cost_report.render_cost_html(result)


def _budgets(args: argparse.Namespace) -> int:
    from agent.budgets import budget_status, render_budgets

    ctx = _context()
    tz = ctx.zone(args.tz)
    now = ctx.clock.now()
    with ctx.store.read() as session:
        statuses = budget_status(session, ctx.settings, tz, now)
    _write(render_budgets(statuses, args.format, now))
    return 0


def _limits(args: argparse.Namespace) -> int:
    from agent.allowance import limit_lines
    from agent.limits import Limits, outside_shift

    ctx = _context()
    tz = ctx.zone(None)
    now = ctx.clock.now()
    limits = Limits(ctx.settings.limits, tz, ctx.settings.general.week_start)
    with ctx.store.read() as session:
        allowed = limits.allowed(session, now)
        outside = outside_shift(session, *limits.week_bounds(now))
    refusal = limits.refusal(allowed, now)
    if args.json:
        shown = {
            "day_left_seconds": _rounded(allowed.day_left),
            "week_left_seconds": _rounded(allowed.week_left),
            "in_shift": allowed.in_shift,
            "shift_end": allowed.shift_end.isoformat() if allowed.shift_end else None,
            "next_shift": allowed.next_shift.isoformat()
            if allowed.next_shift
            else None,
            "may_start": refusal is None,
            "refusal": refusal,
            "outside_shift_this_week": [
                {
                    "entry": o.entry_id,
                    "start": o.start.isoformat(),
                    "project": o.project,
                }
                for o in outside
            ],
        }
        _say(json.dumps(shown, ensure_ascii=False))
        return 0
    if not limits.active:
        _say("No work limits are set.")
        return 0
    for line in limit_lines(limits, allowed, 0.0, now):
        _say(line)
    if refusal is not None:
        _say(f"A start now is refused: {refusal}.")
    for start in outside:
        local = start.start.astimezone(tz)
        _say(
            f"Started outside the shifts: {local:%a %Y-%m-%d %H:%M} on "
            f"{start.project} (entry {start.entry_id})"
        )
    return 0


def _rounded(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds)


def _book(ctx: Context) -> Any:
    from agent.value import ValueBook

    return ValueBook(ctx.store, ctx.clock)


def _baseline_set(args: argparse.Namespace) -> int:
    from agent.value import baseline_from

    ctx = _context()
    baseline = baseline_from(
        args.kind,
        args.minutes_per_unit,
        args.cost_per_hour,
        args.currency,
        ctx.settings.rates.currency,
    )
    _book(ctx).set_baselines([baseline])
    _say(
        f"Baseline for {baseline.kind}: {baseline.minutes_per_unit} min per unit at "
        f"{baseline.cost_per_hour} {baseline.currency} per hour in-house "
        f"({baseline.cost_per_unit:.2f} {baseline.currency} per unit)."
    )
    return 0


def _baseline_list(args: argparse.Namespace) -> int:
    ctx = _context()
    baselines = _book(ctx).baselines()
    if args.json:
        rows = [
            {
                "kind": b.kind,
                "minutes_per_unit": float(b.minutes_per_unit),
                "cost_per_hour": float(b.cost_per_hour),
                "currency": b.currency,
            }
            for b in baselines
        ]
        _say(json.dumps(rows, ensure_ascii=False))
        return 0
    if not baselines:
        _say("No baselines yet; add one with `punchclock value baseline set`.")
    for b in baselines:
        _say(
            f"{b.kind}: {b.minutes_per_unit} min per unit, {b.cost_per_hour} "
            f"{b.currency} per hour ({b.cost_per_unit:.2f} {b.currency} per unit)"
        )
    return 0


def _baseline_import(args: argparse.Namespace) -> int:
    from agent.value import read_baselines_csv

    ctx = _context()
    baselines = read_baselines_csv(args.file, ctx.settings.rates.currency)
    count = _book(ctx).set_baselines(baselines)
    _say(f"Imported {count} baseline(s) from {args.file}.")
    return 0


def _baseline_delete(args: argparse.Namespace) -> int:
    ctx = _context()
    _book(ctx).delete_baseline(args.kind)
    _say(f"The baseline for {args.kind} and its units are deleted.")
    return 0


def _units_add(args: argparse.Namespace) -> int:
    from agent.timeparse import parse_date
    from agent.value import units_number

    ctx = _context()
    tz = ctx.zone(None)
    day = parse_date(args.date, tz, ctx.clock.now())
    units = units_number(args.units)
    _book(ctx).add_units([(args.kind, day, units, args.note)])
    _say(f"{units.normalize():f} unit(s) of {args.kind} on {day} recorded.")
    return 0


def _units_list(args: argparse.Namespace) -> int:
    from agent.timeparse import parse_date

    ctx = _context()
    tz = ctx.zone(None)
    now = ctx.clock.now()
    first = parse_date(args.date_from, tz, now) if args.date_from else None
    last = parse_date(args.date_to, tz, now) if args.date_to else None
    if first and last and last < first:
        raise UserError("--to is before --from")
    records = _book(ctx).units_records(args.kind, first, last)
    if args.json:
        _say(json.dumps([r.as_json() for r in records], ensure_ascii=False))
        return 0
    if not records:
        _say("No units recorded here; add some with `punchclock value units add`.")
    for r in records:
        note = f"  {r.note}" if r.note else ""
        _say(f"{r.id:>6}  {r.day}  {r.kind}  {r.units.normalize():f}{note}")
    return 0


def _units_delete(args: argparse.Namespace) -> int:
    ctx = _context()
    record = _book(ctx).delete_units(args.id)
    _say(
        f"Units record {record.id} deleted: {record.units.normalize():f} unit(s) of "
        f"{record.kind} on {record.day}."
    )
    return 0


def _units_import(args: argparse.Namespace) -> int:
    from agent.value import kind_key, read_units_csv

    ctx = _context()
    book = _book(ctx)
    known = {kind_key(b.kind) for b in book.baselines()}
    rows = read_units_csv(args.file, known)
    count = book.add_units(rows)
    total = sum((units for _, _, units, _ in rows), Decimal(0))
    _say(f"Imported {count} row(s), {total.normalize():f} unit(s), from {args.file}.")
    return 0


def _value_report(args: argparse.Namespace) -> int:
    from agent.timeparse import parse_date
    from agent.value import render_value, value_report

    ctx = _context()
    tz = ctx.zone(args.tz)
    now = ctx.clock.now()
    last = (
        parse_date(args.date_to, tz, now) if args.date_to else now.astimezone(tz).date()
    )
    first = (
        parse_date(args.date_from, tz, now)
        if args.date_from
        else last - timedelta(weeks=8)
    )
    if last < first:
        raise UserError("--to is before --from")
    report = value_report(
        ctx.store,
        ctx.settings,
        tz,
        first,
        last,
        now,
        period=args.period,
        basis=args.basis,
    )
    _write(render_value(report, args.format))
    return 0
