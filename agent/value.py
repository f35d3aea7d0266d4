"""The outsourcing value report: outsourced work against in-house baselines.

A **baseline** is what one unit of a kind of task takes in-house: minutes per
unit and the in-house cost per hour (``punchclock value baseline set``, or
imported from CSV). A **kind** is matched against task names, ignoring case
and spacing, on every project: the baseline "Translation" covers the task
"Translation" of any project. **Units** are what the outsourced work
delivered of a kind on a local day (``punchclock value units add``, or CSV).

Per kind and period (week from ``general.week_start``, or month, in the
report's zone) the report compares:

- time per unit: tracked time on the kind's tasks / units, against the
  baseline's minutes per unit; kept idle time and paid breaks count where
  ``[rates]`` costs them, as budgets count them (:func:`agent.rates.counts`);
- cost per unit: the cost of that time (:mod:`agent.rates`, at the bill rate
  by default: what the outsourced work costs the organisation) / units,
  against the in-house cost per unit (minutes per unit / 60 × cost per hour);
- the difference (outsourced − in-house, per unit and in per cent), the
  saving over the period (in-house cost per unit × units − outsourced cost),
  and the trend: the change of cost per unit and time per unit from the
  calendar period just before (no trend if that period had no time and no
  units of the kind, or lies before the report's range).

A period with time but no units has no per-unit figures (shown as —). Costs
in a currency other than the baseline's are not converted: the row says so.

CSV imports are all or nothing: every row is checked first, and a file with
any bad row imports nothing; the message names each bad line.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from agent.clock import Clock
from agent.csvsafe import Cell, to_csv
from agent.errors import NotFoundError, UserError
from agent.names import fold
from agent.rates import CostedTime, Money, cents, costed_time, counts, money_text
from agent.report import day_start, local_day_of
from agent.settings import Settings
from agent.store import Store
from agent.store.models import ValueBaseline, ValueUnits, to_stored

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
MAX_KIND = 200
# Bounds of what one record may hold: far beyond any real figure, and small
# enough that sums of money over them stay exact to the cent.
MAX_UNITS = Decimal(10**9)
MAX_MINUTES_PER_UNIT = Decimal(10**6)
MAX_COST_PER_HOUR = Decimal(10**7)
MAX_SHOWN_ERRORS = 10
BASELINE_COLUMNS = ("kind", "minutes_per_unit", "cost_per_hour")
UNITS_COLUMNS = ("kind", "date", "units")


def kind_key(kind: str) -> str:
    return fold(" ".join(kind.split()))


@dataclass(frozen=True)
class Baseline:
    kind: str
    minutes_per_unit: Decimal
    cost_per_hour: Decimal
    currency: str

    @property
    def cost_per_unit(self) -> Decimal:
        return self.minutes_per_unit / 60 * self.cost_per_hour


# --- checking what a person typed ------------------------------------------------


def _kind(text: str) -> str:
    kind = " ".join(text.split())
    if not kind:
        raise UserError("the kind of task is empty; name it like the tasks it covers")
    if len(kind) > MAX_KIND:
        raise UserError(f"a kind of task is at most {MAX_KIND} characters")
    return kind


def positive_number(text: str, what: str, example: str, most: Decimal) -> Decimal:
    """``text`` as a finite number above 0 and at most ``most``."""
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite() or number <= 0:
        raise UserError(
            f"{what} {text.strip()!r} is not a number above 0 (like {example})"
        )
    if number > most:
        raise UserError(
            f"{what} {text.strip()!r} is more than {most:,f}, the most allowed "
            f"(like {example})"
        )
    return number


def units_number(text: str) -> Decimal:
    return positive_number(text, "units", "12", MAX_UNITS)


def _currency(text: str, default: str) -> str:
    code = text.strip().upper() or default
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise UserError(
            f"currency {text.strip()!r} is not a three-letter code like EUR"
        )
    return code


def baseline_from(
    kind: str, minutes_per_unit: str, cost_per_hour: str, currency: str, default: str
) -> Baseline:
    return Baseline(
        _kind(kind),
        positive_number(
            minutes_per_unit, "minutes per unit", "30 or 7.5", MAX_MINUTES_PER_UNIT
        ),
        positive_number(cost_per_hour, "cost per hour", "45.00", MAX_COST_PER_HOUR),
        _currency(currency, default),
    )


# --- the store ----------------------------------------------------------------


class ValueBook:
    """Baselines and delivered units in the store."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def set_baselines(self, baselines: Iterable[Baseline]) -> int:
        """Add or replace baselines by kind, in one transaction."""
        now = to_stored(self._clock.now())
        count = 0
        with self._store.write() as session:
            for baseline in baselines:
                _upsert(session, baseline, now)
                count += 1
        log.info("%d value baseline(s) set", count)
        return count

    def delete_baseline(self, kind: str) -> None:
        with self._store.write() as session:
            row = _baseline_row(session, kind)
            session.delete(row)
            session.execute(
                delete(ValueUnits).where(ValueUnits.kind_key == row.kind_key)
            )

    def baselines(self) -> list[Baseline]:
        with self._store.read() as session:
            return _baselines(session)

    def add_units(self, rows: Iterable[tuple[str, date, Decimal, str | None]]) -> int:
        """Record units delivered, in one transaction; every kind needs a baseline."""
        now = to_stored(self._clock.now())
        count = 0
        with self._store.write() as session:
            for kind, day, units, note in rows:
                row = _baseline_row(session, kind)
                session.add(
                    ValueUnits(
                        kind_key=row.kind_key,
                        day=day.isoformat(),
                        units=float(units),
                        note=note,
                        created_at=now,
                    )
                )
                count += 1
        return count

    def units_records(
        self,
        kind: str | None = None,
        first: date | None = None,
        last: date | None = None,
    ) -> list[UnitsRecord]:
        """The units records, oldest day first, of one kind and days if given."""
        query = select(ValueUnits, ValueBaseline.kind).join(
            ValueBaseline, ValueBaseline.kind_key == ValueUnits.kind_key
        )
        if kind is not None:
            query = query.where(ValueUnits.kind_key == kind_key(kind))
        if first is not None:
            query = query.where(ValueUnits.day >= first.isoformat())
        if last is not None:
            query = query.where(ValueUnits.day <= last.isoformat())
        query = query.order_by(ValueUnits.day, ValueUnits.id)
        with self._store.read() as session:
            return [_record(row, name) for row, name in session.execute(query)]

    def delete_units(self, record_id: int) -> UnitsRecord:
        """Delete one units record; the baseline and other units stay."""
        with self._store.write() as session:
            row = session.get(ValueUnits, record_id)
            if row is None:
                raise NotFoundError(
                    f"no units record {record_id}; list them with "
                    "`punchclock value units list`"
                )
            baseline = session.scalar(
                select(ValueBaseline).where(ValueBaseline.kind_key == row.kind_key)
            )
            record = _record(row, baseline.kind if baseline else row.kind_key)
            session.delete(row)
        log.info("units record %d deleted", record_id)
        return record

    def units(self, first: date, last: date) -> dict[tuple[str, date], Decimal]:
        """Units per (kind key, day) from ``first`` to ``last``, inclusive."""
        with self._store.read() as session:
            return units_between(session, first, last)


@dataclass(frozen=True)
class UnitsRecord:
    """One ``value units add`` (or imported row), as stored."""

    id: int
    day: date
    kind: str
    units: Decimal
    note: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "date": self.day.isoformat(),
            "kind": self.kind,
            "units": float(self.units),
            "note": self.note,
        }


def _record(row: ValueUnits, kind: str) -> UnitsRecord:
    return UnitsRecord(
        row.id, date.fromisoformat(row.day), kind, Decimal(str(row.units)), row.note
    )


def units_between(
    session: Session, first: date, last: date
) -> dict[tuple[str, date], Decimal]:
    """Units per (kind key, day); a record beyond the bounds (stored before
    they were checked) is an error that names it."""
    totals: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    query = select(ValueUnits).where(
        ValueUnits.day >= first.isoformat(), ValueUnits.day <= last.isoformat()
    )
    for row in session.scalars(query):
        units = Decimal(str(row.units))
        if not units.is_finite() or not 0 < units <= MAX_UNITS:
            raise ValueReportError(
                f"units record {row.id} ({row.kind_key}, {row.day}) holds {units} "
                f"units, not a number above 0 and at most {MAX_UNITS:,f}; delete it "
                f"with `punchclock value units delete {row.id}` and add the right "
                "number"
            )
        totals[(row.kind_key, date.fromisoformat(row.day))] += units
    return dict(totals)


class ValueReportError(UserError):
    """A stored figure the value report cannot compute with."""


def _upsert(session: Session, baseline: Baseline, now: datetime) -> None:
    key = kind_key(baseline.kind)
    row = session.scalar(select(ValueBaseline).where(ValueBaseline.kind_key == key))
    if row is None:
        row = ValueBaseline(kind_key=key)
        session.add(row)
    row.kind = baseline.kind
    row.minutes_per_unit = float(baseline.minutes_per_unit)
    row.cost_per_hour = str(baseline.cost_per_hour)
    row.currency = baseline.currency
    row.updated_at = now


def _baseline_row(session: Session, kind: str) -> ValueBaseline:
    row = session.scalar(
        select(ValueBaseline).where(ValueBaseline.kind_key == kind_key(kind))
    )
    if row is None:
        raise NotFoundError(
            f"no baseline for the kind of task {kind!r}; set one with `punchclock "
            "value baseline set KIND --minutes-per-unit M --cost-per-hour C`"
        )
    return row


def _baselines(session: Session) -> list[Baseline]:
    rows = session.scalars(select(ValueBaseline).order_by(ValueBaseline.kind_key))
    return [
        Baseline(
            row.kind,
            Decimal(str(row.minutes_per_unit)),
            Decimal(row.cost_per_hour),
            row.currency,
        )
        for row in rows
    ]


def _checked(baseline: Baseline) -> Baseline:
    """``baseline`` if the report can compute with it; one beyond the bounds
    (stored before they were checked) is an error that names it."""
    for what, number, most in (
        ("minutes per unit", baseline.minutes_per_unit, MAX_MINUTES_PER_UNIT),
        ("cost per hour", baseline.cost_per_hour, MAX_COST_PER_HOUR),
    ):
        if not number.is_finite() or not 0 < number <= most:
            raise ValueReportError(
                f"the baseline for {baseline.kind!r} holds {what} {number}, not "
                f"a number above 0 and at most {most:,f}; set it again with "
                f"`punchclock value baseline set {baseline.kind!r} ...`"
            )
    return baseline


# --- CSV imports: all or nothing -------------------------------------------------


def read_baselines_csv(path: Path, default_currency: str) -> list[Baseline]:
    """Every row of ``path`` as a baseline, or a UserError naming each bad line."""
    baselines: list[Baseline] = []
    errors: list[str] = []
    first_line: dict[str, int] = {}
    for line, row in _csv_rows(path, BASELINE_COLUMNS, ("currency",)):
        if isinstance(row, str):
            errors.append(f"line {line}: {row}")
            continue
        try:
            baseline = baseline_from(
                row["kind"],
                row["minutes_per_unit"],
                row["cost_per_hour"],
                row.get("currency") or "",
                default_currency,
            )
        except UserError as error:
            errors.append(f"line {line}: {error}")
            continue
        key = kind_key(baseline.kind)
        if key in first_line:
            errors.append(
                f"line {line}: {baseline.kind!r} is on line {first_line[key]} "
                "already; keep one"
            )
            continue
        first_line[key] = line
        baselines.append(baseline)
    _raise_if_bad(path, errors)
    return baselines


def read_units_csv(
    path: Path, known: set[str]
) -> list[tuple[str, date, Decimal, str | None]]:
    """Every row of ``path`` as units, or a UserError naming each bad line."""
    rows: list[tuple[str, date, Decimal, str | None]] = []
    errors: list[str] = []
    for line, row in _csv_rows(path, UNITS_COLUMNS, ("note",)):
        if isinstance(row, str):
            errors.append(f"line {line}: {row}")
            continue
        try:
            kind = _kind(row["kind"])
            if kind_key(kind) not in known:
                raise UserError(
                    f"no baseline for the kind of task {kind!r}; set one first"
                )
            day = _date(row["date"])
            units = units_number(row["units"])
            rows.append((kind, day, units, (row.get("note") or "").strip() or None))
        except UserError as error:
            errors.append(f"line {line}: {error}")
    _raise_if_bad(path, errors)
    return rows


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as error:
        raise UserError(f"date {text.strip()!r} is not written YYYY-MM-DD") from error


def _csv_rows(
    path: Path, columns: tuple[str, ...], optional: tuple[str, ...]
) -> list[tuple[int, dict[str, str] | str]]:
    """(line number, row, or why the row is unreadable) for each data row;
    the header must name ``columns``."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as error:
        raise UserError(f"{path} does not exist") from error
    except UnicodeDecodeError as error:
        raise UserError(f"{path} is not UTF-8 text; save it as UTF-8 CSV") from error
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().casefold() for name in next(reader)]
    except StopIteration as error:
        raise UserError(f"{path} is empty; the first line names the columns") from error
    except csv.Error as error:
        raise UserError(f"{path}, line 1: {error}") from error
    missing = [name for name in columns if name not in header]
    if missing:
        raise UserError(
            f"{path}, line 1: the header lacks {', '.join(missing)}; it must name "
            f"{', '.join(columns)} (and may name {', '.join(optional)})"
        )
    rows: list[tuple[int, dict[str, str] | str]] = []
    try:
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                rows.append(
                    (line, f"{len(record)} cells where the header has {len(header)}")
                )
                continue
            rows.append((line, dict(zip(header, record, strict=True))))
    except csv.Error as error:
        raise UserError(
            f"{path}, line {reader.line_num}: {error}; nothing was imported"
        ) from error
    return rows


def _raise_if_bad(path: Path, errors: list[str]) -> None:
    if not errors:
        return
    shown = errors[:MAX_SHOWN_ERRORS]
    more = len(errors) - len(shown)
    tail = f"\n  … and {more} more" if more else ""
    raise UserError(
        f"{path}: nothing was imported; correct these lines and import again:\n  "
        + "\n  ".join(shown)
        + tail
    )


# --- the report -----------------------------------------------------------------


@dataclass(frozen=True)
class ValueRow:
    """One kind over one period."""

    kind: str
    period_start: date
    seconds: float
    units: Decimal
    cost: Money
    baseline: Baseline
    previous: ValueRow | None = None

    @property
    def minutes_per_unit(self) -> Decimal | None:
        if self.units <= 0:
            return None
        return Decimal(str(self.seconds)) / 60 / self.units

    @property
    def cost_in_currency(self) -> Decimal | None:
        """The cost in the baseline's currency; None if any is in another."""
        if any(c != self.baseline.currency for c, _ in self.cost.amounts):
            return None
        return self.cost.get(self.baseline.currency)

    @property
    def cost_per_unit(self) -> Decimal | None:
        cost = self.cost_in_currency
        if cost is None or self.units <= 0:
            return None
        return cost / self.units

    @property
    def time_difference(self) -> Decimal | None:
        """Outsourced − in-house minutes per unit."""
        mpu = self.minutes_per_unit
        return None if mpu is None else mpu - self.baseline.minutes_per_unit

    @property
    def cost_difference(self) -> Decimal | None:
        """Outsourced − in-house cost per unit."""
        cpu = self.cost_per_unit
        return None if cpu is None else cpu - self.baseline.cost_per_unit

    @property
    def saving(self) -> Decimal | None:
        cost = self.cost_in_currency
        if cost is None:
            return None
        return self.baseline.cost_per_unit * self.units - cost

    @property
    def cost_trend(self) -> Decimal | None:
        """Per cent change of cost per unit from the previous period."""
        return _change(
            self.previous.cost_per_unit if self.previous else None, self.cost_per_unit
        )

    @property
    def time_trend(self) -> Decimal | None:
        before = self.previous.minutes_per_unit if self.previous else None
        return _change(before, self.minutes_per_unit)

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "period_start": self.period_start.isoformat(),
            "seconds": round(self.seconds),
            "units": float(self.units),
            "minutes_per_unit": _num(self.minutes_per_unit, 2),
            "baseline_minutes_per_unit": float(self.baseline.minutes_per_unit),
            "time_difference_minutes": _num(self.time_difference, 2),
            "time_difference_percent": _num(
                _percent(self.time_difference, self.baseline.minutes_per_unit), 1
            ),
            "currency": self.baseline.currency,
            "cost": _num(self.cost_in_currency, 2),
            "cost_per_unit": _num(self.cost_per_unit, 2),
            "baseline_cost_per_unit": _num(self.baseline.cost_per_unit, 2),
            "cost_difference_per_unit": _num(self.cost_difference, 2),
            "cost_difference_percent": _num(
                _percent(self.cost_difference, self.baseline.cost_per_unit), 1
            ),
            "saving": _num(self.saving, 2),
            "cost_trend_percent": _num(self.cost_trend, 1),
            "time_trend_percent": _num(self.time_trend, 1),
        }


def _change(before: Decimal | None, after: Decimal | None) -> Decimal | None:
    if before is None or after is None or before == 0:
        return None
    return (after - before) / before * 100


def _percent(part: Decimal | None, whole: Decimal) -> Decimal | None:
    return None if part is None or whole == 0 else part / whole * 100


def _num(value: Decimal | None, places: int) -> float | None:
    if value is None:
        return None
    return float(round(value, places))


@dataclass(frozen=True)
class ValueReport:
    date_from: date
    date_to: date
    period: str
    basis: str
    tz: ZoneInfo
    rows: tuple[ValueRow, ...]
    totals: tuple[ValueRow, ...]  # per kind, over the whole range

    def as_json(self) -> dict[str, object]:
        return {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "period": self.period,
            "basis": self.basis,
            "tz": self.tz.key,
            "rows": [row.as_json() for row in self.rows],
            "totals": [row.as_json() for row in self.totals],
        }


def period_start(day: date, period: str, week_start: str) -> date:
    if period == "month":
        return day.replace(day=1)
    return day - timedelta(days=(day.weekday() - WEEKDAYS.index(week_start)) % 7)


def value_report(
    store: Store,
    settings: Settings,
    tz: ZoneInfo,
    date_from: date,
    date_to: date,
    now: datetime,
    *,
    period: str = "week",
    basis: str = "bill",
) -> ValueReport:
    """The value report of ``date_from``..``date_to`` (local, inclusive)."""
    week_start = settings.general.week_start
    start, end = day_start(date_from, tz), day_start(date_to + timedelta(days=1), tz)
    with store.read() as session:
        baselines = {kind_key(b.kind): _checked(b) for b in _baselines(session)}
        pieces = costed_time(session, settings, start, end, now)
        units = units_between(session, date_from, date_to)

    seconds: dict[tuple[str, date], float] = defaultdict(float)
    costs: dict[tuple[str, date], Money] = defaultdict(Money)
    for piece in pieces:
        key = kind_key(piece.task or "")
        if key not in baselines or not counts(piece.kind, settings.rates):
            continue
        for day, part in _by_day(piece, tz):
            slot = (key, period_start(day, period, week_start))
            seconds[slot] += part.seconds
            costs[slot] = costs[slot] + (part.bill if basis == "bill" else part.pay)
    delivered: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    for (key, day), count in units.items():
        delivered[(key, period_start(day, period, week_start))] += count

    rows = _rows(baselines, seconds, costs, delivered, period, week_start)
    totals = _totals(baselines, rows, date_from)
    for row in (*rows, *totals):
        _check(row, period)
    return ValueReport(date_from, date_to, period, basis, tz, rows, totals)


def _check(row: ValueRow, period: str) -> None:
    """Compute every figure of ``row`` once, so that showing it cannot fail;
    money too large to hold to the cent is an error naming the row."""
    try:
        row.as_json()
        _cells(row, "")
    except (ArithmeticError, ValueError) as error:
        raise ValueReportError(
            f"the value of {row.kind!r} in the {period} from {row.period_start} "
            f"cannot be computed: its figures ({row.units:g} units) are too large "
            "to hold to the cent; check them with `punchclock value units list "
            f"--kind {row.kind!r}` and `punchclock value baseline list`"
        ) from error


def _by_day(piece: CostedTime, tz: ZoneInfo) -> list[tuple[date, CostedTime]]:
    """``piece`` split at local midnights; costs shared in proportion."""
    first, last = local_day_of(piece.start, tz), local_day_of(piece.end, tz)
    if first == last or piece.seconds <= 0:
        return [(first, piece)]
    parts = []
    day = first
    while day <= last:
        start = max(piece.start, day_start(day, tz))
        end = min(piece.end, day_start(day + timedelta(days=1), tz))
        if end > start:
            share = Decimal(str((end - start).total_seconds() / piece.seconds))
            parts.append((day, _share(piece, start, end, share)))
        day += timedelta(days=1)
    return parts


def _share(
    piece: CostedTime, start: datetime, end: datetime, share: Decimal
) -> CostedTime:
    def part(money: Money) -> Money:
        return Money(tuple((c, a * share) for c, a in money.amounts))

    return CostedTime(
        start,
        end,
        piece.project,
        piece.task,
        piece.kind,
        part(piece.pay),
        part(piece.bill),
    )


def previous_period_start(start: date, period: str, week_start: str) -> date:
    """The first day of the calendar period just before the one at ``start``."""
    return period_start(start - timedelta(days=1), period, week_start)


def _rows(
    baselines: dict[str, Baseline],
    seconds: dict[tuple[str, date], float],
    costs: dict[tuple[str, date], Money],
    delivered: dict[tuple[str, date], Decimal],
    period: str,
    week_start: str,
) -> tuple[ValueRow, ...]:
    """A row per kind and period with time or units, oldest first; each
    trends against the calendar period just before it, none if that period
    had neither time nor units (or lies before the report's range)."""
    rows: dict[tuple[str, date], ValueRow] = {}
    for key, start in sorted(set(seconds) | set(delivered)):
        if key not in baselines:
            continue
        before = previous_period_start(start, period, week_start)
        rows[(key, start)] = ValueRow(
            baselines[key].kind,
            start,
            seconds.get((key, start), 0.0),
            delivered.get((key, start), Decimal(0)),
            costs.get((key, start), Money()),
            baselines[key],
            rows.get((key, before)),
        )
    return tuple(rows.values())


def _totals(
    baselines: dict[str, Baseline], rows: tuple[ValueRow, ...], first: date
) -> tuple[ValueRow, ...]:
    totals = []
    for key, baseline in baselines.items():
        mine = [row for row in rows if kind_key(row.kind) == key]
        if not mine:
            continue
        cost = Money()
        for row in mine:
            cost = cost + row.cost
        totals.append(
            ValueRow(
                baseline.kind,
                first,
                sum(row.seconds for row in mine),
                sum((row.units for row in mine), Decimal(0)),
                cost,
                baseline,
            )
        )
    return tuple(totals)


# --- rendering ------------------------------------------------------------------

_COLUMNS = (
    ("kind", "Kind"),
    ("period_start", "From"),
    ("units", "Units"),
    ("hours", "Time"),
    ("minutes_per_unit", "Min/unit"),
    ("baseline_minutes_per_unit", "In-house"),
    ("time_difference_percent", "Diff"),
    ("cost_per_unit", "Cost/unit"),
    ("baseline_cost_per_unit", "In-house"),
    ("cost_difference_percent", "Diff"),
    ("saving", "Saving"),
    ("cost_trend_percent", "Trend"),
)


def render_value(report: ValueReport, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.as_json(), ensure_ascii=False)
    if fmt == "csv":
        header = tuple(report.rows[0].as_json()) if report.rows else ("kind",)
        values = [
            [_cell(value) for value in row.as_json().values()] for row in report.rows
        ]
        return to_csv(header, values)
    return _table(report)


def _cell(value: object) -> Cell:
    if value is None or isinstance(value, str | int | float):
        return value
    return str(value)


def _table(report: ValueReport) -> str:
    title = (
        f"Outsourcing value by {report.period}, {report.date_from} to "
        f"{report.date_to} ({report.tz.key}), costs at the {report.basis} rate"
    )
    if not report.rows:
        return (
            f"{title}\n\nNo tracked time or units for a kind with a baseline in "
            "this range. Baselines: `punchclock value baseline list`."
        )
    heading = tuple(name for _, name in _COLUMNS)
    body = [_cells(row, str(row.period_start)) for row in report.rows]
    totals = [_cells(row, "total") for row in report.totals]
    widths = [
        max(len(line[i]) for line in [heading, *body, *totals])
        for i in range(len(heading))
    ]

    def line(cells: tuple[str, ...]) -> str:
        first = [cells[0].ljust(widths[0]), cells[1].ljust(widths[1])]
        rest = [
            cell.rjust(width) for cell, width in zip(cells[2:], widths[2:], strict=True)
        ]
        return "  ".join(first + rest).rstrip()

    rule = "  ".join("-" * width for width in widths)
    lines = [title, "", line(heading), rule, *map(line, body), rule, *map(line, totals)]
    notes = [
        f"{row.kind}: costs in {', '.join(c for c, _ in row.cost.amounts)} are not "
        f"in the baseline's {row.baseline.currency}; no cost figures"
        for row in report.totals
        if row.cost_in_currency is None
    ]
    lines += ["", "Diff: outsourced against in-house (- is less). Trend: cost per "
              "unit against the previous period."]  # fmt: skip
    return "\n".join(lines + notes) + "\n"


def _cells(row: ValueRow, when: str) -> tuple[str, ...]:
    currency = row.baseline.currency
    return (
        row.kind,
        when,
        _plain(row.units),
        _hm(row.seconds),
        _fixed(row.minutes_per_unit, 1),
        _fixed(row.baseline.minutes_per_unit, 1),
        _signed_percent(_percent(row.time_difference, row.baseline.minutes_per_unit)),
        _money(row.cost_per_unit, currency),
        _money(row.baseline.cost_per_unit, currency),
        _signed_percent(_percent(row.cost_difference, row.baseline.cost_per_unit)),
        _money(row.saving, currency),
        _signed_percent(row.cost_trend),
    )


def _plain(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _fixed(value: Decimal | None, places: int) -> str:
    return "—" if value is None else f"{value:.{places}f}"


def _money(value: Decimal | None, currency: str) -> str:
    return "—" if value is None else money_text(cents(value), currency)


def _signed_percent(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:+.0f} %"


def _hm(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}:{minutes % 60:02d}"
