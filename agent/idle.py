"""Idle detection, away time, the idle prompt and its resolutions.

The agent's tick job calls :meth:`IdleMonitor.tick` once a second with what
the input sources saw. The monitor keeps the moment of the last input on
the boot-time clock (it counts through a suspend and never steps), so idle
time is never stretched or shrunk by a wall-clock change.

How away time is accounted for, in the store:

1. While a timer runs and no input came for the idle threshold, the running
   entry is cut **at the last input** and an open idle period starts there
   (cause ``idle``, or ``lock`` when the session was locked). Nothing is cut
   when no timer runs. A passive app in front (a video call) counts as
   presence.
2. A suspend, or a forward step of the wall clock (a sleep the OS did not
   announce, the clock being set), is split off by the timer
   (``Timer.on_clock_jump``); here its idle period is moved back to the
   last input before it, so the minutes between walking away and the lid
   closing are away time too. A gap shorter than the threshold with input
   right before it is only the gap: it is discarded without a question
   (sleep never counts as work).
3. On the first input after that, the period ends there and the same
   project/task continues in a new entry from that moment — unless another
   entry was started meanwhile (the CLI), where the period ends. Both
   halves of this cut are the timer's (:func:`agent.timer.end_entry`,
   :func:`agent.timer.carry_on`), the ones :func:`agent.timer.cut_out`
   uses when a deleted screenshot takes its slot's time out.
4. The closed, unresolved period is the **prompt**. The worker's answer
   (:class:`IdleAnswer`) is applied by :meth:`IdleMonitor.resolve` in one
   write transaction that also marks the period resolved: a second answer
   — a double click, a late dialog, the no-answer policy racing the worker,
   another process — finds it resolved and changes nothing. Unanswered
   periods stay in the store and are asked again after a restart.

Until it is answered the away time counts as not worked; "keep" and
"assign" add an ``idle-kept`` entry over it, "break" a break under the break
policy ``[idle] break_policy`` names, if its rule allows one then
(:meth:`agent.breaks.Breaks.record`).
"""

from __future__ import annotations

import enum
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from agent.breaks import Breaks, Origin
from agent.clock import Clock, ClockJump, JumpKind
from agent.errors import ConflictError, NotFoundError, UserError
from agent.projects import find_project, find_task
from agent.settings import BreakSettings, IdleSettings
from agent.store import Store
from agent.store.models import Entry, EntrySource, IdlePeriod, to_stored
from agent.store.outbox import enqueue
from agent.timer import AWAY_CAUSES, EntryView, carry_on, end_entry
from capture.idle import IdleReading

log = logging.getLogger(__name__)

MAX_NOTE = 2000


class Resolution(enum.StrEnum):
    KEEP = "keep"
    DISCARD = "discard"
    REASSIGN = "reassign"
    BREAK = "break"
    SPLIT = "split"
    STOP = "stop"


PART_ACTIONS = frozenset(
    {Resolution.KEEP, Resolution.DISCARD, Resolution.REASSIGN, Resolution.BREAK}
)
# An OS idle reading must move the last input by more than this to count as
# new input: the reading and the clock are read a few milliseconds apart.
READING_JITTER = 0.5
NO_BREAK_POLICIES = BreakSettings(policy=(), session_gap_minutes=60)
# Why a gap shorter than the threshold, right after input, was dropped.
SHORT_GAP_NOTES = {
    "suspend": "asleep for less than the idle threshold",
    "clock": "the clock jumped ahead by less than the idle threshold",
}


class AlreadyResolvedError(ConflictError):
    """The idle period was accounted for already; nothing was changed."""


@dataclass(frozen=True)
class IdlePolicy:
    """The organisation's idle rules (local settings until a server pushes)."""

    threshold_seconds: float = 300.0
    no_answer: str = "ask"  # keep, discard, ask
    answer_seconds: float = 600.0
    keep_needs_reason: bool = False
    break_policy: str = "idle"
    break_paid: bool = False
    passive_apps: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: IdleSettings) -> IdlePolicy:
        return cls(
            threshold_seconds=settings.threshold_minutes * 60.0,
            no_answer=settings.no_answer,
            answer_seconds=settings.answer_minutes * 60.0,
            keep_needs_reason=settings.keep_needs_reason,
            break_policy=settings.break_policy,
            break_paid=settings.break_paid,
            passive_apps=settings.passive_apps,
        )

    def is_passive(self, *names: str | None) -> bool:
        wanted = {app.casefold() for app in self.passive_apps}
        return any(name and name.casefold() in wanted for name in names)


@dataclass(frozen=True)
class AnswerPart:
    """What to do with the away time up to ``until`` (None: to its end)."""

    action: Resolution
    until: datetime | None = None
    project: str | None = None
    task: str | None = None


@dataclass(frozen=True)
class IdleAnswer:
    """The worker's answer to one idle prompt."""

    parts: tuple[AnswerPart, ...]
    note: str | None = None
    stop_timer: bool = False

    @classmethod
    def keep(cls, note: str | None = None) -> IdleAnswer:
        return cls((AnswerPart(Resolution.KEEP),), note)

    @classmethod
    def discard(cls) -> IdleAnswer:
        return cls((AnswerPart(Resolution.DISCARD),))

    @classmethod
    def reassign(
        cls, project: str, task: str | None = None, note: str | None = None
    ) -> IdleAnswer:
        return cls((AnswerPart(Resolution.REASSIGN, None, project, task),), note)

    @classmethod
    def as_break(cls) -> IdleAnswer:
        return cls((AnswerPart(Resolution.BREAK),))

    @classmethod
    def stop(cls) -> IdleAnswer:
        return cls((AnswerPart(Resolution.DISCARD),), stop_timer=True)

    @classmethod
    def split(cls, parts: Sequence[AnswerPart], note: str | None = None) -> IdleAnswer:
        return cls(tuple(parts), note)

    @property
    def resolution(self) -> Resolution:
        if self.stop_timer:
            return Resolution.STOP
        if len(self.parts) == 1:
            return self.parts[0].action
        return Resolution.SPLIT

    @property
    def keeps(self) -> bool:
        return any(
            p.action in (Resolution.KEEP, Resolution.REASSIGN) for p in self.parts
        )


@dataclass(frozen=True)
class IdlePrompt:
    """The question the worker is asked on return; one per idle period."""

    period_id: int
    start: datetime
    end: datetime
    cause: str
    project: str | None
    task: str | None
    answer_by: datetime | None  # when the no-answer rule applies; None: never
    no_answer: str
    keep_needs_reason: bool
    break_policy: str
    waiting: int = 0  # further unanswered periods after this one

    @property
    def seconds(self) -> float:
        return max((self.end - self.start).total_seconds(), 0.0)

    def message(self) -> str:
        """ "You were away from 10:02 to 10:17 (15 min)", in local time."""
        start, end = self.start.astimezone(), self.end.astimezone()
        fmt = "%H:%M" if start.date() == end.date() else "%a %H:%M"
        why = {
            "suspend": " (the computer was asleep)",
            "lock": " (locked)",
            "clock": " (the clock jumped ahead)",
        }
        return (
            f"You were away from {start.strftime(fmt)} to {end.strftime(fmt)} "
            f"({format_minutes(self.seconds)}){why.get(self.cause, '')}"
        )


def format_minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


@dataclass
class _Away:
    period_id: int
    entry_id: int
    start: datetime
    last_input: float  # boot time of the input the period started at


PromptListener = Callable[[IdlePrompt | None], None]


class IdleMonitor:
    """Detects idle and away time while a timer runs; applies the answers.

    ``tick``, ``on_clock_jump``, ``restore`` and ``close`` run on the agent's
    threads; ``pending`` may be called from any thread (the UI's too) and
    never touches the store; ``resolve`` writes one transaction.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        policy: IdlePolicy,
        breaks: Breaks | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self.policy = policy
        # Without break policies the idle break is recorded as before.
        self.breaks = breaks or Breaks(store, clock, NO_BREAK_POLICIES)
        self._lock = threading.RLock()
        self._last_input: float | None = None
        self._seen_marks: float | None = None
        self._away: _Away | None = None
        self._prompt: IdlePrompt | None = None
        self._listeners: list[PromptListener] = []
        self.detecting = True

    def add_listener(self, listener: PromptListener) -> None:
        """Called, on an agent thread, whenever the pending prompt changes."""
        self._listeners.append(listener)

    def pending(self) -> IdlePrompt | None:
        """The oldest unanswered idle period, or None."""
        with self._lock:
            return self._prompt

    @property
    def away(self) -> bool:
        """Whether an idle period is open now (the worker has not returned)."""
        with self._lock:
            return self._away is not None

    # lifecycle

    def restore(self) -> None:
        """At start: close a period a previous run left open; load the prompt."""
        now = self._clock.now()
        with self._store.write() as session:
            for period in session.scalars(
                select(IdlePeriod).where(IdlePeriod.end.is_(None))
            ):
                period.end = max(now, period.start)
                enqueue(session, "idle_period", period.id, now)
                log.warning(
                    "idle period %d was still open from the previous run; "
                    "closed now, the question is asked again",
                    period.id,
                )
        with self._lock:
            self._last_input = self._clock.boottime()
        self._reload()

    def close(self) -> None:
        """At shutdown: an open period ends now, without a continuation."""
        with self._lock:
            away, self._away = self._away, None
        if away is None:
            return
        now = self._clock.now()
        with self._store.write() as session:
            period = session.get(IdlePeriod, away.period_id)
            if period is not None and period.end is None:
                period.end = max(now, period.start)
                enqueue(session, "idle_period", period.id, now)

    # detection

    def tick(
        self,
        entry: EntryView | None,
        last_input: float | None,
        reading: IdleReading | None,
        passive: bool = False,
        *,
        observing: bool = False,
    ) -> bool:
        """One second's look; returns True when it cut or continued an entry.

        ``last_input`` is the input source's newest event on the monotonic
        clock; ``observing`` whether that source works (it may have seen no
        input yet); ``reading`` the OS idle time, None when not taken;
        ``passive`` whether a passive app has the focus.
        """
        with self._lock:
            self.detecting = (
                observing or last_input is not None or reading is not None or passive
            )
            if not self.detecting:
                # Nothing observes input: presence is assumed, never idle.
                self._last_input = self._clock.boottime()
                return False
            locked = self._note_input(last_input, reading, passive)
            last = self._last_input
            changed = False if last is None else self._follow(entry, last, locked)
        self._apply_no_answer()
        return changed

    def _note_input(
        self, last_input: float | None, reading: IdleReading | None, passive: bool
    ) -> bool:
        """Move the last input forward; input while locked does not count."""
        boot = self._clock.boottime()
        locked = bool(reading is not None and reading.locked)
        seen: list[float] = []
        if last_input is not None and last_input != self._seen_marks:
            self._seen_marks = last_input
            seen.append(boot - (self._clock.monotonic() - last_input))
        if reading is not None:
            seen.append(boot - reading.seconds)
        if passive:
            seen.append(boot)
        if seen and not locked:
            newest = min(max(seen), boot)
            if self._last_input is None or newest > self._last_input + READING_JITTER:
                self._last_input = newest
        return locked

    def _follow(self, entry: EntryView | None, last: float, locked: bool) -> bool:
        idle = self._clock.boottime() - last
        now = self._clock.now()
        if self._away is not None:
            if last > self._away.last_input:
                back = now - timedelta(seconds=idle)
                self._return(back)
                return True
            return False
        if (
            entry is None
            or entry.end is not None
            or idle < self.policy.threshold_seconds
        ):
            return False
        start = max(now - timedelta(seconds=idle), entry.start)
        self._cut(entry, start, last, "lock" if locked else "idle")
        return True

    def _cut(self, entry: EntryView, start: datetime, last: float, cause: str) -> None:
        """End the running entry at the last input and open an idle period."""
        with self._store.write() as session:
            row = session.get(Entry, entry.id)
            if row is None or row.end is not None:
                return
            end_entry(session, row, start)
            period = IdlePeriod(entry_id=row.id, start=start, cause=cause)
            session.add(period)
            session.flush()
            enqueue(session, "idle_period", period.id, start)
        self._away = _Away(period.id, entry.id, start, last)
        log.info("idle since %s: entry %d cut there", start.isoformat(), entry.id)

    def _return(self, back: datetime) -> None:
        """The worker is back: end the period, continue the entry from here."""
        away, self._away = self._away, None
        if away is None:
            return
        with self._store.write() as session:
            period = session.get(IdlePeriod, away.period_id)
            if period is None or period.end is not None:
                return
            back = max(back, period.start)
            started = _first_start_since(session, period.start, away.entry_id)
            if started is not None:
                period.end = min(back, max(started, period.start))
            else:
                period.end = back
                _continue(session, away.entry_id, back)
            enqueue(session, "idle_period", period.id, back)
        log.info("back after %.0f s away", (period.end - period.start).total_seconds())
        self._reload()

    # suspend

    def on_clock_jump(self, jump: ClockJump) -> None:
        """After the timer split a suspend or a forward step: away time starts
        at the last input."""
        cause = AWAY_CAUSES.get(jump.kind)
        if cause is None:
            return
        with self._lock:
            if self._last_input is None or self._away is not None:
                return
            boot = self._clock.boottime()
            # A sleep is on the boot-time clock; a step is not on it at all.
            before = boot - jump.seconds if jump.kind is JumpKind.SUSPEND else boot
            gap = max(before - self._last_input, 0.0)
            # The wake-up is where presence is known again.
            self._last_input = boot
        last = jump.before - timedelta(seconds=gap)
        with self._store.write() as session:
            period = session.scalars(
                select(IdlePeriod).where(
                    IdlePeriod.cause == cause,
                    IdlePeriod.resolved_at.is_(None),
                    IdlePeriod.end == to_stored(jump.after),
                )
            ).first()
            if period is None:
                return
            self._place_away(session, period, last)
        self._reload()

    def _place_away(self, session: Session, period: IdlePeriod, last: datetime) -> None:
        now = self._clock.now()
        if period.end is None:
            return
        if (period.end - last).total_seconds() < self.policy.threshold_seconds:
            _mark(period, Resolution.DISCARD, now, "policy")
            period.note = SHORT_GAP_NOTES[period.cause]
        elif period.entry_id is not None:
            entry = session.get(Entry, period.entry_id)
            if entry is not None and last < period.start:
                period.start = max(last, entry.start)
                end_entry(session, entry, period.start)
        enqueue(session, "idle_period", period.id, now)

    # answers

    def resolve(self, period_id: int, answer: IdleAnswer, by: str = "worker") -> None:
        """Apply the answer to that period, exactly once.

        Raises :class:`AlreadyResolvedError` when it was answered before
        (nothing changes), :class:`~agent.errors.UserError` for an answer
        that does not fit the period or the policy.
        """
        note = _clean_note(answer.note)
        if (
            by == "worker"
            and self.policy.keep_needs_reason
            and answer.keeps
            and not note
        ):
            raise UserError("keeping idle time as work needs a reason; write one")
        now = self._clock.now()
        with self._store.write() as session:
            period = self._open_for_answer(session, period_id)
            for start, end, part in _segments(period, answer.parts):
                self._apply_part(session, period, start, end, part, now)
            if answer.stop_timer:
                _stop_running(session, period, now)
            _mark(period, answer.resolution, now, by)
            period.note = note
            period.detail = json.dumps(_detail(period, answer))
            enqueue(session, "idle_period", period.id, now)
        log.info("idle period %d resolved by %s: %s", period_id, by, answer.resolution)
        self._reload()

    def _open_for_answer(self, session: Session, period_id: int) -> IdlePeriod:
        period = session.get(IdlePeriod, period_id)
        if period is None:
            raise NotFoundError(f"no idle period with id {period_id}")
        if period.resolved_at is not None:
            raise AlreadyResolvedError(
                f"that idle time was already accounted for ({period.resolution}, "
                f"by {period.resolved_by or 'worker'}); nothing was changed"
            )
        if period.end is None:
            raise UserError("that idle period has not ended yet")
        return period

    def _apply_part(
        self,
        session: Session,
        period: IdlePeriod,
        start: datetime,
        end: datetime,
        part: AnswerPart,
        now: datetime,
    ) -> None:
        if end <= start or part.action is Resolution.DISCARD:
            return
        if part.action is Resolution.BREAK:
            # Under the named break policy and its rule (agent.breaks).
            origin = Origin.SUSPEND if period.cause == "suspend" else Origin.IDLE
            self.breaks.record(
                session,
                self.policy.break_policy,
                self.policy.break_paid,
                (start, end),
                origin,
                period.entry_id,
            )
            return
        _add_kept(session, period, start, end, part, now)

    def _apply_no_answer(self) -> None:
        prompt = self.pending()
        if prompt is None or prompt.answer_by is None:
            return
        if self._clock.now() < prompt.answer_by:
            return
        answer = (
            IdleAnswer.keep()
            if self.policy.no_answer == "keep"
            else IdleAnswer.discard()
        )
        try:
            self.resolve(prompt.period_id, answer, by="policy")
        except AlreadyResolvedError:
            self._reload()
        except UserError as exc:
            log.warning("no-answer rule could not apply: %s", exc)

    # the prompt

    def _reload(self) -> None:
        with self._store.read() as session:
            prompt = self._read_prompt(session)
        with self._lock:
            changed = prompt != self._prompt
            self._prompt = prompt
        if changed:
            for listener in list(self._listeners):
                listener(prompt)

    def _read_prompt(self, session: Session) -> IdlePrompt | None:
        unresolved = (IdlePeriod.resolved_at.is_(None), IdlePeriod.end.is_not(None))
        period = session.scalars(
            select(IdlePeriod).where(*unresolved).order_by(IdlePeriod.start)
        ).first()
        if period is None or period.end is None:
            return None
        count = session.scalar(select(func.count(IdlePeriod.id)).where(*unresolved))
        entry = session.get(Entry, period.entry_id) if period.entry_id else None
        answer_by = None
        if self.policy.no_answer != "ask":
            answer_by = period.end + timedelta(seconds=self.policy.answer_seconds)
        return IdlePrompt(
            period_id=period.id,
            start=period.start,
            end=period.end,
            cause=period.cause,
            project=entry.project.name if entry else None,
            task=entry.task.name if entry and entry.task else None,
            answer_by=answer_by,
            no_answer=self.policy.no_answer,
            keep_needs_reason=self.policy.keep_needs_reason,
            break_policy=self.policy.break_policy,
            waiting=max((count or 1) - 1, 0),
        )


def _segments(
    period: IdlePeriod, parts: Sequence[AnswerPart]
) -> list[tuple[datetime, datetime, AnswerPart]]:
    """The period cut into consecutive pieces at each part's ``until``."""
    if period.end is None:
        raise UserError("that idle period has not ended yet")
    if not parts:
        raise UserError("say what to do with the idle time")
    cursor, pieces = period.start, []
    for index, part in enumerate(parts):
        if part.action not in PART_ACTIONS:
            raise UserError(f"{part.action} cannot be part of a split")
        last = index == len(parts) - 1
        until = period.end if part.until is None else part.until
        if until < cursor or until > period.end or (not last and part.until is None):
            raise UserError(
                "the parts must follow each other inside the idle period, "
                "each ending where the next begins"
            )
        pieces.append((cursor, until, part))
        cursor = until
    if cursor != period.end:
        raise UserError("the last part must reach the end of the idle period")
    return pieces


def _add_kept(
    session: Session,
    period: IdlePeriod,
    start: datetime,
    end: datetime,
    part: AnswerPart,
    now: datetime,
) -> None:
    """An idle-kept entry over [start, end) on the cut entry's or a named project."""
    source = session.get(Entry, period.entry_id) if period.entry_id else None
    if part.action is Resolution.REASSIGN:
        if not part.project:
            raise UserError("choose the project to assign the idle time to")
        project = find_project(session, part.project)
        task = find_task(session, project, part.task) if part.task else None
        project_id, task_id = project.id, task.id if task else None
    elif source is not None:
        project_id, task_id = source.project_id, source.task_id
    else:
        raise UserError("the entry of that idle time is gone; assign it to a project")
    _refuse_overlap(session, start, end)
    kept = Entry(
        project_id=project_id,
        task_id=task_id,
        note=source.note if source is not None else None,
        source=EntrySource.IDLE_KEPT,
        start=start,
        end=end,
        flushed_at=end,
        updated_at=now,
    )
    session.add(kept)
    session.flush()
    enqueue(session, "entry", kept.id, now)


def _refuse_overlap(session: Session, start: datetime, end: datetime) -> None:
    other = session.scalars(
        select(Entry).where(
            Entry.deleted_at.is_(None),
            Entry.start < end,
            Entry.end.is_(None) | (Entry.end > start),
        )
    ).first()
    if other is not None:
        raise ConflictError(
            f"entry {other.id} on {other.project.name!r} already covers part of "
            "that time; edit it first, or keep only the part before it"
        )


def _stop_running(session: Session, period: IdlePeriod, now: datetime) -> None:
    """Stop the timer as of the idle start: the continuation is withdrawn."""
    running = session.scalars(
        select(Entry).where(Entry.end.is_(None), Entry.deleted_at.is_(None))
    ).first()
    if running is None:
        return
    if running.start <= (period.end or now) + timedelta(seconds=1):
        # Only the continuation made at the return: nobody worked on it.
        end_entry(session, running, running.start)
        running.deleted_at = now
        enqueue(session, "entry", running.id, now)
    else:
        end_entry(session, running, now)


def _continue(session: Session, entry_id: int, start: datetime) -> None:
    """The second half of the idle cut, at the return (agent.timer.carry_on)."""
    source = session.get(Entry, entry_id)
    if source is None or source.deleted_at is not None:
        return
    carry_on(session, source, start, start)


def _first_start_since(session: Session, moment: datetime, cut: int) -> datetime | None:
    """When the first entry started at or after ``moment`` (one started while
    away); the cut entry itself does not count, though it may start there."""
    return session.scalar(
        select(Entry.start)
        .where(Entry.start >= moment, Entry.id != cut, Entry.deleted_at.is_(None))
        .order_by(Entry.start)
        .limit(1)
    )


def _mark(period: IdlePeriod, resolution: Resolution, now: datetime, by: str) -> None:
    period.resolution = str(resolution)
    period.resolved_at = now
    period.resolved_by = by


def _detail(period: IdlePeriod, answer: IdleAnswer) -> dict[str, object]:
    return {
        "parts": [
            {
                "action": str(part.action),
                "from": start.isoformat(),
                "to": end.isoformat(),
                "project": part.project,
                "task": part.task,
            }
            for start, end, part in _segments(period, answer.parts)
        ],
        "stop_timer": answer.stop_timer,
    }


def _clean_note(note: str | None) -> str | None:
    if note is None:
        return None
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise UserError(f"a reason is at most {MAX_NOTE} characters")
    return note or None
