"""Rates and the cost of time: pay and bill rates, most specific first.

A rate (``[[rates.rate]]`` in settings or policy) is an hourly amount of one
kind — *pay* (what the worker is paid) or *bill* (what the client is billed)
— in a currency, for a scope, from a local date on:

- a rate for a task beats one for its project, which beats one for neither
  (the worker's own rate); among rates of the same scope, the one with the
  latest ``effective_from`` not after the moment wins;
- time is costed **per interval at the rate in effect when it was worked**:
  an entry that runs across a rate's ``effective_from`` (local midnight in
  the worker's zone, ``general.time_zone``, whatever zone a report is shown
  in) is split there. A rate change is a new rate from a later
  date, so it never rewrites the cost of time already worked. Editing an old
  rate's amount in place does rewrite it — that is a correction, not a change.

What is costed: entries from the timer and manual ones always; idle time
kept as work (``idle-kept`` entries) and paid breaks as ``[rates] kept_idle``
and ``paid_breaks`` say ("none", "pay" or "pay-and-bill"), at the rates of
the entry the break paused; unpaid breaks never. Amounts are
:class:`~decimal.Decimal`, summed per currency (:class:`Money`), and rounded
to cents only when shown.
"""

from __future__ import annotations

import bisect
import enum
import functools
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from agent.names import fold
from agent.report import day_start
from agent.settings import Costed, RateSettings, RatesSettings, Settings
from agent.store.models import Break, Entry, EntrySource, Project, Task
from agent.timeparse import zone

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
SECONDS_PER_HOUR = Decimal(3600)
NO_AMOUNT = "—"


class RateKind(enum.StrEnum):
    PAY = "pay"
    BILL = "bill"


class CostKind(enum.StrEnum):
    """What a piece of costed time was."""

    WORK = "work"
    KEPT_IDLE = "kept-idle"
    PAID_BREAK = "paid-break"


@dataclass(frozen=True)
class Money:
    """Amounts per currency; adding keeps currencies apart."""

    amounts: tuple[tuple[str, Decimal], ...] = ()

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        return cls(((currency, amount),))

    def __add__(self, other: Money) -> Money:
        sums = dict(self.amounts)
        for currency, amount in other.amounts:
            sums[currency] = sums.get(currency, Decimal(0)) + amount
        return Money(tuple(sorted(sums.items())))

    def __bool__(self) -> bool:
        return bool(self.amounts)

    def get(self, currency: str) -> Decimal:
        return dict(self.amounts).get(currency, Decimal(0))

    def rounded(self) -> dict[str, Decimal]:
        return {c: cents(amount) for c, amount in self.amounts}

    def as_json(self) -> dict[str, float]:
        """``{"EUR": 12.5}``: cents, as JSON numbers."""
        return {c: float(amount) for c, amount in self.rounded().items()}

    def text(self) -> str:
        """``1,234.50 EUR`` (``+`` between currencies), ``—`` for no rate."""
        if not self.amounts:
            return NO_AMOUNT
        return " + ".join(money_text(a, c) for c, a in self.rounded().items())


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def money_text(amount: Decimal, currency: str) -> str:
    return f"{cents(amount):,.2f} {currency}"


def total(moneys: Iterable[Money]) -> Money:
    result = Money()
    for money in moneys:
        result = result + money
    return result


@dataclass(frozen=True)
class Rate:
    kind: RateKind
    amount: Decimal
    currency: str
    project: str  # case-folded; "" = any
    task: str  # case-folded; "" = any
    effective_from: date | None

    @property
    def specificity(self) -> int:
        return 2 if self.task else 1 if self.project else 0

    def applies_to(self, project: str, task: str) -> bool:
        return self.project in ("", project) and self.task in ("", task)

    @classmethod
    def from_settings(cls, spec: RateSettings, currency: str) -> Rate:
        return cls(
            kind=RateKind(spec.kind),
            # Through str: the float 0.1 is not the decimal 0.1.
            amount=Decimal(str(spec.amount)),
            currency=spec.currency or currency,
            project=_fold(spec.project),
            task=_fold(spec.task),
            effective_from=(
                date.fromisoformat(spec.effective_from) if spec.effective_from else None
            ),
        )


@functools.lru_cache(maxsize=4096)
def _fold(name: str | None) -> str:
    return fold(" ".join((name or "").split()))


class RateBook:
    """The rates in force, and the cost of an interval at them.

    ``tz`` is where effective dates begin: the worker's zone
    (:func:`rate_zone`), never a report's display zone.
    """

    def __init__(self, settings: RatesSettings, tz: ZoneInfo) -> None:
        self.tz = tz
        self.rates = [
            Rate.from_settings(spec, settings.currency) for spec in settings.rate
        ]
        self.currency = settings.currency
        self._changes = sorted(
            {
                day_start(rate.effective_from, tz)
                for rate in self.rates
                if rate.effective_from is not None
            }
        )
        # Between two changes the answer depends only on kind, project, task.
        self._found: dict[tuple[RateKind, str, str, int], Rate | None] = {}

    def rate(
        self, kind: RateKind, project: str | None, task: str | None, moment: datetime
    ) -> Rate | None:
        """The rate of ``kind`` in effect at ``moment``: most specific, latest."""
        project_key, task_key = _fold(project), _fold(task)
        key = (kind, project_key, task_key, bisect.bisect_right(self._changes, moment))
        if key not in self._found:
            self._found[key] = self._search(kind, project_key, task_key, moment)
        return self._found[key]

    def _search(
        self, kind: RateKind, project_key: str, task_key: str, moment: datetime
    ) -> Rate | None:
        best: Rate | None = None
        for rate in self.rates:
            if rate.kind is not kind or not rate.applies_to(project_key, task_key):
                continue
            if not self._in_effect(rate, moment):
                continue
            if best is None or _rank(rate) > _rank(best):
                best = rate
        return best

    def _in_effect(self, rate: Rate, moment: datetime) -> bool:
        if rate.effective_from is None:
            return True
        return day_start(rate.effective_from, self.tz) <= moment

    def cost(
        self,
        kind: RateKind,
        project: str | None,
        task: str | None,
        start: datetime,
        end: datetime,
    ) -> Money:
        """``start``..``end`` at the rates in effect over it; no rate, no money."""
        money = Money()
        for piece_start, piece_end in self._split(start, end):
            rate = self.rate(kind, project, task, piece_start)
            if rate is None:
                continue
            seconds = Decimal(str((piece_end - piece_start).total_seconds()))
            money = money + Money.of(
                seconds * rate.amount / SECONDS_PER_HOUR, rate.currency
            )
        return money

    def _split(
        self, start: datetime, end: datetime
    ) -> Iterator[tuple[datetime, datetime]]:
        """``start``..``end`` cut where a rate takes effect."""
        cursor = start
        for change in self._changes:
            if cursor < change < end:
                yield cursor, change
                cursor = change
        if cursor < end:
            yield cursor, end


def _rank(rate: Rate) -> tuple[int, date]:
    return rate.specificity, rate.effective_from or date.min


@dataclass(frozen=True)
class CostedTime:
    """A piece of time with what it cost (pay) and what it bills.

    ``pay`` or ``bill`` empty with ``*_rated`` False: no rate applied.
    """

    start: datetime
    end: datetime
    project: str
    task: str | None
    kind: CostKind
    pay: Money = field(default_factory=Money)
    bill: Money = field(default_factory=Money)
    pay_rated: bool = True
    bill_rated: bool = True

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def costs(kind: CostKind, settings: RatesSettings) -> tuple[bool, bool]:
    """Whether time of ``kind`` is costed at the pay rate, at the bill rate."""
    if kind is CostKind.WORK:
        return True, True
    policy: Costed = (
        settings.kept_idle if kind is CostKind.KEPT_IDLE else settings.paid_breaks
    )
    return policy != "none", policy == "pay-and-bill"


def counts(kind: CostKind, settings: RatesSettings) -> bool:
    """Whether time of ``kind`` counts at all: toward budgets, in the value
    report. Work always; kept idle time and paid breaks unless ``[rates]``
    says "none" for them (then they are neither costed nor counted)."""
    return costs(kind, settings)[0]


def book_cost(
    book: RateBook, piece: CostedTime, costed: tuple[bool, bool]
) -> CostedTime:
    """``piece`` with its pay and bill computed where ``costed`` says so."""
    pay, bill = Money(), Money()
    pay_rated = bill_rated = True
    if costed[0]:
        pay = book.cost(RateKind.PAY, piece.project, piece.task, piece.start, piece.end)
        pay_rated = (
            bool(pay)
            or book.rate(RateKind.PAY, piece.project, piece.task, piece.start)
            is not None
        )
    if costed[1]:
        bill = book.cost(
            RateKind.BILL, piece.project, piece.task, piece.start, piece.end
        )
        bill_rated = (
            bool(bill)
            or book.rate(RateKind.BILL, piece.project, piece.task, piece.start)
            is not None
        )
    return replace(
        piece, pay=pay, bill=bill, pay_rated=pay_rated, bill_rated=bill_rated
    )


def rate_zone(settings: Settings) -> ZoneInfo:
    """Where rates' effective dates begin: the worker's ``general.time_zone``."""
    return zone(settings.general.time_zone)


def costed_time(
    session: Session,
    settings: Settings,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    project: str | None = None,
) -> list[CostedTime]:
    """Entries and paid breaks in ``start``..``end``, costed; oldest first.

    A running entry or break counts up to ``now``. With ``project``, only
    that project's time (names compared ignoring case). Rates take effect
    at midnight in the worker's zone (:func:`rate_zone`).
    """
    rates = settings.rates
    book = RateBook(rates, rate_zone(settings))
    ids = _project_ids(session, project) if project is not None else None
    pieces: list[CostedTime] = []
    for row in _entry_rows(session, start, end, ids):
        kind = (
            CostKind.KEPT_IDLE if row.source == EntrySource.IDLE_KEPT else CostKind.WORK
        )
        piece = _piece(row, row.start, row.end, kind, start, end, now)
        if piece is not None:
            pieces.append(book_cost(book, piece, costs(kind, rates)))
    for row in _paid_breaks(session, start, end, ids):
        piece = _piece(row, row.start, row.end, CostKind.PAID_BREAK, start, end, now)
        if piece is not None:
            pieces.append(book_cost(book, piece, costs(CostKind.PAID_BREAK, rates)))
    return sorted(pieces, key=lambda piece: piece.start)


def _project_ids(session: Session, name: str) -> list[int]:
    """The ids of the projects named ``name``, ignoring case and spacing."""
    wanted = _fold(name)
    rows = session.execute(select(Project.id, Project.name))
    return [project_id for project_id, found in rows if _fold(found) == wanted]


def _entry_rows(
    session: Session, start: datetime, end: datetime, ids: list[int] | None
) -> Sequence[Row[Any]]:
    """Entries (not deleted) overlapping ``start``..``end``, as plain rows:
    a budget check reads a year of them, and ORM objects cost 5x as much."""
    query = (
        select(
            Entry.start,
            Entry.end,
            Entry.source,
            Project.name.label("project"),
            Task.name.label("task"),
        )
        .join(Project, Project.id == Entry.project_id)
        .outerjoin(Task, Task.id == Entry.task_id)
        .where(
            Entry.deleted_at.is_(None),
            Entry.start < end,
            (Entry.end.is_(None)) | (Entry.end > start),
        )
    )
    if ids is not None:
        query = query.where(Entry.project_id.in_(ids))
    return session.execute(query).all()


def _piece(
    row: Row[Any],
    piece_start: datetime,
    piece_end: datetime | None,
    kind: CostKind,
    start: datetime,
    end: datetime,
    now: datetime,
) -> CostedTime | None:
    finish = piece_end if piece_end is not None else max(now, piece_start)
    clipped_start, clipped_end = max(piece_start, start), min(finish, end)
    if clipped_end <= clipped_start:
        return None
    return CostedTime(
        clipped_start.astimezone(UTC),
        clipped_end.astimezone(UTC),
        row.project,
        row.task,
        kind,
    )


def _paid_breaks(
    session: Session, start: datetime, end: datetime, ids: list[int] | None
) -> Sequence[Row[Any]]:
    """Paid breaks in ``start``..``end`` with the project and task of the
    entry each one paused."""
    query = (
        select(
            Break.start,
            Break.end,
            Project.name.label("project"),
            Task.name.label("task"),
        )
        .join(Entry, Entry.id == Break.entry_id)
        .join(Project, Project.id == Entry.project_id)
        .outerjoin(Task, Task.id == Entry.task_id)
        .where(
            Break.paid.is_(True),
            Break.start < end,
            (Break.end.is_(None)) | (Break.end > start),
        )
    )
    if ids is not None:
        query = query.where(Entry.project_id.in_(ids))
    return session.execute(query).all()
