"""Breaks: the organisation's break policies, taking and ending a break.

A break policy (``[[breaks.policy]]`` in settings or policy) has a name, a
paid flag, an allotted length and a rule saying when it may be taken:

- ``any`` — any time;
- ``once`` — once per work session, and with ``hours`` > 0 only after that
  much work in the session;
- ``every`` — at most once in every ``hours`` hours (from the start of the
  previous one);
- ``after`` — once after every ``hours`` of work in the session (the second
  after twice that, and so on).

A **work session** is a run of entries and breaks with no gap longer than
``[breaks] session_gap_minutes``. Work counted by the rules is the session's
entries plus its paid breaks: paid breaks count toward worked time and
limits, unpaid ones do not.

Taking a break (:meth:`Breaks.start`, from the tray or ``punchclock break
start``) closes the running entry and opens a ``breaks`` row; while it is
open no entry runs, so spans, slots and idle detection pause with it, and
:attr:`Breaks.capture_paused` tells capture and screenshots to wait too.
Ending it (:meth:`Breaks.stop`) reopens an entry on the same project, task
and note — a start like any other, so :attr:`Breaks.start_guard` (work
limits, budgets) may refuse it: then no entry reopens and the ended break's
``resume_refused`` says why (the resume listeners hear of it). A break
that is not allowed now raises :class:`BreakRefusedError` with the reason
and, where it can be known, when it becomes available.

All state is in the store, so the CLI and the agent see one break. The
agent's tick (:meth:`Breaks.tick`) notices breaks started or ended by other
processes, warns once when the allotted length runs out (an overrun), ends
ergonomic reminder breaks when their time is up, and ends a break that a
timer started elsewhere has replaced. A suspend during a break ends it at the
suspend (:meth:`Breaks.on_clock_jump`); the entry continues on wake, so the
sleep is neither work, break nor idle time.
"""

from __future__ import annotations

import enum
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from agent.clock import Clock, ClockJump, JumpKind
from agent.errors import ConflictError, UserError
from agent.settings import BreakPolicySettings, BreakSettings
from agent.store import Store
from agent.store.models import Break, Entry, EntrySource, to_stored
from agent.store.outbox import enqueue
from agent.timer import StartGuard, continuation, end_entry

log = logging.getLogger(__name__)

# How far back the rules look for the start of a work session.
SESSION_LOOKBACK = timedelta(days=2)


class BreakRule(enum.StrEnum):
    ANY = "any"
    ONCE = "once"
    EVERY = "every"
    AFTER = "after"


class Origin(enum.StrEnum):
    """How a break began."""

    TAKEN = "taken"
    REMINDER = "reminder"
    IDLE = "idle"
    SUSPEND = "suspend"


@dataclass(frozen=True)
class BreakPolicy:
    """One break policy, as the organisation set it."""

    name: str
    paid: bool
    minutes: float
    rule: BreakRule = BreakRule.ANY
    hours: float = 0.0

    @classmethod
    def from_settings(cls, spec: BreakPolicySettings) -> BreakPolicy:
        return cls(
            spec.name.strip(), spec.paid, spec.minutes, BreakRule(spec.rule), spec.hours
        )

    @property
    def allotted_seconds(self) -> int:
        return round(self.minutes * 60)

    def describe(self) -> str:
        """ "unpaid, 60 min, once per work session after 3 h of work" """
        paid = "paid" if self.paid else "unpaid"
        return f"{paid}, {_hours_text(self.allotted_seconds)}, {self._rule_text()}"

    def _rule_text(self) -> str:
        hours = _hours_text(self.hours * 3600)
        if self.rule is BreakRule.ONCE:
            after = f" after {hours} of work" if self.hours > 0 else ""
            return f"once per work session{after}"
        if self.rule is BreakRule.EVERY:
            return f"at most once every {hours}"
        if self.rule is BreakRule.AFTER:
            return f"after every {hours} of work"
        return "any time"


@dataclass(frozen=True)
class Availability:
    """Whether a policy's break may begin now; if not, why and from when.

    ``available_at`` is None when the moment cannot be known (it depends on
    a new work session, or on work not yet done while no timer runs).
    """

    policy: BreakPolicy
    allowed: bool
    reason: str | None = None
    available_at: datetime | None = None


class BreakRefusedError(ConflictError):
    """The break is not allowed now; :attr:`availability` says until when."""

    def __init__(self, availability: Availability) -> None:
        super().__init__(availability.reason or "that break is not allowed now")
        self.availability = availability


@dataclass(frozen=True)
class BreakView:
    """A break as the UI and the CLI see it."""

    id: int
    policy: str
    paid: bool
    start: datetime
    end: datetime | None
    origin: str
    allotted_seconds: int | None
    project: str | None
    task: str | None
    # Why the timer did not resume when the break ended (the start guard:
    # work limits, budgets), if it did not.
    resume_refused: str | None = None

    def elapsed(self, now: datetime) -> float:
        end = self.end if self.end is not None else now
        return max((end - self.start).total_seconds(), 0.0)

    def remaining(self, now: datetime) -> float | None:
        """Seconds left of the allotted length; negative once overrun."""
        if self.allotted_seconds is None:
            return None
        return self.allotted_seconds - self.elapsed(now)

    def overrun(self, now: datetime) -> bool:
        left = self.remaining(now)
        return left is not None and left < 0


@dataclass(frozen=True)
class BreakTotal:
    """Break time under one policy inside a range."""

    policy: str
    paid: bool
    seconds: float


BreakListener = Callable[[BreakView | None], None]
OverrunListener = Callable[[BreakView], None]
ResumeListener = Callable[[BreakView], None]


class Breaks:
    """Break policies and the break in progress; thread-safe.

    ``start``, ``stop`` and ``record`` each write one transaction. The agent
    calls ``tick`` and ``on_clock_jump`` on its threads; ``current_cached``
    and ``capture_paused`` never touch the store.
    """

    def __init__(self, store: Store, clock: Clock, settings: BreakSettings) -> None:
        self._store = store
        self._clock = clock
        self._policies = [BreakPolicy.from_settings(p) for p in settings.policy]
        self._gap = timedelta(minutes=settings.session_gap_minutes)
        self._lock = threading.Lock()
        self._current: BreakView | None = None
        self._warned: set[int] = set()
        self._listeners: list[BreakListener] = []
        self._overrun_listeners: list[OverrunListener] = []
        self._resume_listeners: list[ResumeListener] = []
        # The timer's start check (agent.allowance.StartGuard): the entry
        # a break's end reopens is a start like any other.
        self.start_guard: StartGuard | None = None

    # policies

    def policies(self) -> list[BreakPolicy]:
        return list(self._policies)

    def policy(self, name: str | None = None) -> BreakPolicy:
        """The policy named (any case), or the first one when no name is given."""
        if not self._policies:
            raise UserError("no break policies are set; see [[breaks.policy]]")
        if name is None:
            return self._policies[0]
        found = self._find(name)
        if found is None:
            known = ", ".join(p.name for p in self._policies)
            raise UserError(f"no break policy named {name!r}; the policies: {known}")
        return found

    def _find(self, name: str) -> BreakPolicy | None:
        wanted = name.strip().casefold()
        return next((p for p in self._policies if p.name.casefold() == wanted), None)

    def availability(self, name: str | None = None) -> Availability:
        policy = self.policy(name)
        with self._store.read() as session:
            return self._check(session, policy, self._now())

    def choices(self) -> list[Availability]:
        """Every policy with whether it may be taken now (the tray menu)."""
        now = self._now()
        with self._store.read() as session:
            return [self._check(session, policy, now) for policy in self._policies]

    # the break in progress

    def current(self) -> BreakView | None:
        """The open break, read from the store."""
        with self._store.read() as session:
            row = _open_break(session)
            return _view(session, row) if row is not None else None

    def current_cached(self) -> BreakView | None:
        """The open break as of the agent's last tick; never touches the store."""
        with self._lock:
            return self._current

    @property
    def capture_paused(self) -> bool:
        """True while a break is open: capture and screenshots wait."""
        with self._lock:
            return self._current is not None

    def add_listener(self, listener: BreakListener) -> None:
        """Called with the open break whenever it changes, on the thread that
        noticed or made the change (an agent thread, or the caller's)."""
        self._listeners.append(listener)

    def add_overrun_listener(self, listener: OverrunListener) -> None:
        """Called once per break, on an agent thread, when its time runs out."""
        self._overrun_listeners.append(listener)

    def add_resume_listener(self, listener: ResumeListener) -> None:
        """Called with the ended break when the start guard kept the timer
        from resuming (``resume_refused`` says why), on the ending thread."""
        self._resume_listeners.append(listener)

    def start(
        self,
        name: str | None = None,
        *,
        tracked: bool = False,
        origin: Origin = Origin.TAKEN,
        policy: BreakPolicy | None = None,
    ) -> BreakView:
        """Pause the running entry and begin a break under the policy named.

        ``policy`` passes a policy that is not in the list (a reminder's
        break). Raises :class:`BreakRefusedError` when the rule does not
        allow it now, :class:`~agent.errors.UserError` when no timer runs.
        """
        chosen = policy or self.policy(name)
        with self._store.write() as session:
            now = self._now()
            entry = self._pausable(session)
            availability = self._check(session, chosen, now)
            if not availability.allowed:
                raise BreakRefusedError(availability)
            end_entry(session, entry, now)
            row = _new_break(session, chosen, entry.id, now, origin)
            view = _view(session, row)
        log.info("break %r began (%s), entry %d paused", chosen.name, origin, entry.id)
        self._publish(view)
        return view

    def _pausable(self, session: Session) -> Entry:
        open_break = _open_break(session)
        if open_break is not None:
            raise ConflictError(
                f"you are on a break already ({open_break.policy} since "
                f"{_hm(open_break.start)}); end it with `punchclock break stop`"
            )
        entry = _running(session)
        if entry is None:
            raise UserError(
                "no timer is running; a break pauses the running entry, "
                "so start the timer first"
            )
        return entry

    def stop(
        self, *, tracked: bool = False, at: datetime | None = None
    ) -> BreakView | None:
        """End the open break and reopen the entry it paused; None if none.

        ``tracked`` says a running agent flushes the reopened entry.
        ``at`` ends it at an earlier moment than now (a reminder's allotted
        end, a work limit reached); the entry reopens there too, if the
        start guard allows (else ``resume_refused`` says why not).
        """
        refused = None
        with self._store.write() as session:
            row = _open_break(session)
            if row is None:
                return None
            end = max(to_stored(at) if at else self._now(), row.start)
            _end_break(session, row, end)
            if _running(session) is None:
                refused = _resume(session, row.entry_id, end, tracked, self.start_guard)
            view = replace(_view(session, row), resume_refused=refused)
        log.info("break %r ended after %.0f s", view.policy, view.elapsed(end))
        self._publish(None)
        self._tell_refused(view)
        return view

    def _tell_refused(self, view: BreakView) -> None:
        if view.resume_refused is None:
            return
        for listener in list(self._resume_listeners):
            listener(view)

    def record(
        self,
        session: Session,
        name: str,
        paid_fallback: bool,
        span: tuple[datetime, datetime],
        origin: Origin,
        entry_id: int | None,
    ) -> Break:
        """A break over ``span`` recorded after the fact (an idle answer).

        A name that is one of the policies is checked against its rule at
        the start of the span; any other name is recorded with
        ``paid_fallback`` and no rule.
        """
        start, end = span
        policy = self._find(name) or BreakPolicy(name, paid_fallback, 0)
        availability = self._check(session, policy, start)
        if not availability.allowed:
            raise BreakRefusedError(availability)
        row = _new_break(session, policy, entry_id, start, origin)
        if policy.minutes == 0:
            row.allotted_seconds = None
        _end_break(session, row, end)
        return row

    # the agent's side

    def tick(self, *, tracked: bool = True) -> None:
        """Once a second in the agent: follow the store, overruns, reminders."""
        current = self._reconcile(self.current(), tracked)
        self._publish(current)
        if current is None:
            return
        now = self._now()
        if current.origin == Origin.REMINDER and current.overrun(now):
            allotted = float(current.allotted_seconds or 0)
            self.stop(tracked=tracked, at=current.start + timedelta(seconds=allotted))
        elif current.overrun(now):
            self._warn_overrun(current, now)

    def _reconcile(self, current: BreakView | None, tracked: bool) -> BreakView | None:
        """A timer started elsewhere during a break ends the break there."""
        if current is None:
            return None
        with self._store.read() as session:
            if _running(session) is None:
                return current
        with self._store.write() as session:
            row = session.get(Break, current.id)
            entry = _running(session)
            if row is None or row.end is not None or entry is None:
                return current
            _end_break(session, row, max(entry.start, row.start))
        log.info("break %r ended: the timer was started again", current.policy)
        return None

    def _warn_overrun(self, current: BreakView, now: datetime) -> None:
        if current.id in self._warned:
            return
        self._warned.add(current.id)
        log.warning(
            "break %r overran its %d min by %.0f s",
            current.policy,
            (current.allotted_seconds or 0) // 60,
            -(current.remaining(now) or 0.0),
        )
        for listener in list(self._overrun_listeners):
            listener(current)

    def on_clock_jump(self, jump: ClockJump) -> None:
        """A suspend ends the open break where the sleep began; work goes on
        at the wake-up (sleep is neither work, break nor idle time)."""
        if jump.kind is not JumpKind.SUSPEND:
            return
        refused = None
        with self._store.write() as session:
            row = _open_break(session)
            if row is None:
                return
            _end_break(session, row, max(to_stored(jump.before), row.start))
            if _running(session) is None:
                refused = _resume(
                    session, row.entry_id, to_stored(jump.after), True, self.start_guard
                )
            view = replace(_view(session, row), resume_refused=refused)
        log.info("break %r ended at the suspend", view.policy)
        self._publish(None)
        self._tell_refused(view)

    def _publish(self, current: BreakView | None) -> None:
        with self._lock:
            changed = current != self._current
            self._current = current
        if changed:
            for listener in list(self._listeners):
                listener(current)

    # rules

    def _check(
        self, session: Session, policy: BreakPolicy, at: datetime
    ) -> Availability:
        if policy.rule is BreakRule.ANY:
            return Availability(policy, True)
        session_start, worked = self._session(session, at)
        taken = _taken(session, policy.name, session_start, at)
        running = _running(session) is not None
        if policy.rule is BreakRule.ONCE:
            return _check_once(policy, taken, worked, at, running)
        if policy.rule is BreakRule.EVERY:
            return _check_every(policy, _last_start(session, policy.name, at), at)
        return _check_after(policy, taken, worked, at, running)

    def _session(self, session: Session, at: datetime) -> tuple[datetime, float]:
        """Where the work session holding ``at`` began, and the work in it."""
        pieces = _pieces(session, at - SESSION_LOOKBACK, at)
        start = at
        for piece_start, piece_end, _ in sorted(
            pieces, key=lambda p: -p[1].timestamp()
        ):
            if piece_end < start - self._gap:
                break
            start = min(start, piece_start)
        worked = sum(
            (min(end, at) - max(begin, start)).total_seconds()
            for begin, end, counts in pieces
            if counts and end > start
        )
        return start, max(worked, 0.0)

    def _now(self) -> datetime:
        return to_stored(self._clock.now())

    # totals

    def totals(self, start: datetime, end: datetime) -> list[BreakTotal]:
        """Break time per policy and paid flag inside [start, end)."""
        return break_totals(self._store, start, end, self._clock.now())


def break_totals(
    store: Store, start: datetime, end: datetime, now: datetime
) -> list[BreakTotal]:
    """Break time per (policy, paid) inside [start, end), largest first; an
    open break counts up to ``now``."""
    sums: dict[tuple[str, bool], float] = {}
    with store.read() as session:
        for row in _breaks_between(session, start, end):
            row_end = row.end if row.end is not None else max(now, row.start)
            seconds = (min(row_end, end) - max(row.start, start)).total_seconds()
            key = (row.policy, row.paid)
            sums[key] = sums.get(key, 0.0) + max(seconds, 0.0)
    totals = [BreakTotal(name, paid, s) for (name, paid), s in sums.items() if s > 0]
    return sorted(totals, key=lambda t: (-t.seconds, t.policy))


# rule checks: pure functions over what the session holds


def _check_once(
    policy: BreakPolicy,
    taken: Sequence[datetime],
    worked: float,
    at: datetime,
    running: bool,
) -> Availability:
    if taken:
        return Availability(
            policy,
            False,
            f"{policy.name} is once per work session and was taken at "
            f"{_hm(taken[0])}; it is available again in your next work session",
        )
    needed = policy.hours * 3600 - worked
    if needed <= 0:
        return Availability(policy, True)
    return _not_yet(policy, needed, at, running, "in this work session")


def _check_every(
    policy: BreakPolicy, last: datetime | None, at: datetime
) -> Availability:
    if last is None:
        return Availability(policy, True)
    when = last + timedelta(hours=policy.hours)
    if at >= when:
        return Availability(policy, True)
    return Availability(
        policy,
        False,
        f"{policy.name} is at most once every {_hours_text(policy.hours * 3600)}; "
        f"the last began at {_hm(last)}, so it is available from {_hm(when)}",
        when,
    )


def _check_after(
    policy: BreakPolicy,
    taken: Sequence[datetime],
    worked: float,
    at: datetime,
    running: bool,
) -> Availability:
    period = policy.hours * 3600
    earned = math.floor(worked / period) if period > 0 else 0
    if len(taken) < earned:
        return Availability(policy, True)
    needed = (len(taken) + 1) * period - worked
    return _not_yet(policy, needed, at, running, "of work in this work session")


def _not_yet(
    policy: BreakPolicy, needed: float, at: datetime, running: bool, where: str
) -> Availability:
    """Refused until ``needed`` more seconds of work are done."""
    rule = policy._rule_text()
    reason = (
        f"{policy.name} is {rule}; {_hours_text(needed)} more {where} are needed first"
    )
    if not running:
        return Availability(policy, False, reason + " (the timer is not running)")
    when = at + timedelta(seconds=needed)
    return Availability(policy, False, f"{reason}: available at {_hm(when)}", when)


# store helpers


def _pieces(
    session: Session, start: datetime, at: datetime
) -> list[tuple[datetime, datetime, bool]]:
    """Entries and breaks touching [start, at]: (start, end, counts as work)."""
    entries = session.scalars(
        select(Entry).where(
            Entry.deleted_at.is_(None),
            Entry.start < at,
            Entry.end.is_(None) | (Entry.end > start),
        )
    )
    pieces = [(e.start, min(e.end or at, at), True) for e in entries]
    pieces += [
        (b.start, min(b.end or at, at), b.paid)
        for b in _breaks_between(session, start, at)
    ]
    return pieces


def _breaks_between(session: Session, start: datetime, end: datetime) -> list[Break]:
    query = select(Break).where(
        Break.start < end, Break.end.is_(None) | (Break.end > start)
    )
    return list(session.scalars(query.order_by(Break.start)))


def _taken(
    session: Session, name: str, since: datetime, at: datetime
) -> list[datetime]:
    """When breaks under ``name`` began inside [since, at]."""
    query = select(Break.start).where(
        Break.policy == name, Break.start >= since, Break.start <= at
    )
    return list(session.scalars(query.order_by(Break.start)))


def _last_start(session: Session, name: str, at: datetime) -> datetime | None:
    query = (
        select(Break.start)
        .where(Break.policy == name, Break.start <= at)
        .order_by(Break.start.desc())
        .limit(1)
    )
    return session.scalar(query)


def _open_break(session: Session) -> Break | None:
    query = select(Break).where(Break.end.is_(None)).order_by(Break.start.desc())
    return session.scalars(query).first()


def _running(session: Session) -> Entry | None:
    query = select(Entry).where(Entry.end.is_(None), Entry.deleted_at.is_(None))
    return session.scalars(query).first()


def _new_break(
    session: Session,
    policy: BreakPolicy,
    entry_id: int | None,
    start: datetime,
    origin: Origin,
) -> Break:
    row = Break(
        entry_id=entry_id,
        policy=policy.name,
        paid=policy.paid,
        start=start,
        origin=str(origin),
        allotted_seconds=policy.allotted_seconds,
    )
    session.add(row)
    session.flush()
    enqueue(session, "break", row.id, start)
    return row


def _end_break(session: Session, row: Break, end: datetime) -> None:
    row.end = max(end, row.start)
    enqueue(session, "break", row.id, row.end)


def _resume(
    session: Session,
    entry_id: int | None,
    start: datetime,
    tracked: bool,
    guard: StartGuard | None,
) -> str | None:
    """A new entry on the paused entry's project, task and note, if ``guard``
    allows the start; otherwise no entry, and why not."""
    paused = session.get(Entry, entry_id) if entry_id is not None else None
    if paused is None or paused.deleted_at is not None:
        return None
    follow = continuation(paused, start)
    # The timer resumes it, even after a manual entry; untracked (no agent
    # flushing it) it runs on the wall clock, as a CLI start does.
    follow.source = EntrySource.TIMER
    follow.flushed_at = start if tracked else None
    try:
        # A refusal rolls back the entry and whatever the guard wrote; the
        # break's end stays.
        with session.begin_nested():
            session.add(follow)
            session.flush()
            if guard is not None:
                guard(session, follow, start)
    except UserError as error:
        log.info("the timer did not resume after the break: %s", error)
        return str(error)
    enqueue(session, "entry", follow.id, start)
    return None


def _view(session: Session, row: Break) -> BreakView:
    entry = None
    if row.entry_id is not None:
        entry = session.scalars(
            select(Entry)
            .options(joinedload(Entry.project), joinedload(Entry.task))
            .where(Entry.id == row.entry_id)
        ).first()
    return BreakView(
        id=row.id,
        policy=row.policy,
        paid=row.paid,
        start=row.start,
        end=row.end,
        origin=row.origin,
        allotted_seconds=row.allotted_seconds,
        project=entry.project.name if entry is not None else None,
        task=entry.task.name if entry is not None and entry.task else None,
    )


def _hm(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M")


def _hours_text(seconds: float) -> str:
    minutes = max(math.ceil(seconds / 60), 0)
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"
