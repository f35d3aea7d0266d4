"""The timer: clocking in and out, switching, manual entries, crash recovery.

All state lives in the store, so the tray app, the headless agent and the CLI
see one timer. The running entry is the one entry whose end is unset.

A running agent flushes the running entry (:meth:`Timer.flush`) every few
seconds. If that agent dies, the next process to find the entry open with no
agent alive closes it at its last flush (:meth:`Timer.recover`): time after a
crash is never invented. An entry started from the CLI while no agent runs
has no flush and simply runs on the wall clock until stopped.

On a suspend or a wall-clock step (:class:`~agent.clock.ClockJump`) the
running entry is split: it ends where the old clock reading ended and a
continuation starts at the new reading, so no duration is ever negative or
doubled, and sleep never counts as work. The gap of a suspend or a forward
step is recorded as an idle period (cause ``suspend`` or ``clock``), which
idle detection moves back to the last input and puts to the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from agent.clock import Clock, ClockJump, JumpKind
from agent.errors import ConflictError, NotFoundError, UserError
from agent.names import clean_text
from agent.projects import find_open_task
from agent.store import Store
from agent.store.models import Entry, EntrySource, IdlePeriod, to_stored
from agent.store.outbox import enqueue

log = logging.getLogger(__name__)

MAX_NOTE = 2000

# Called inside Timer.start's transaction with the new entry; raises a
# UserError to refuse the start (agent.allowance.StartGuard).
StartGuard = Callable[[Session, Entry, datetime], None]
# The gap a jump leaves is away time to account for: a suspend, and a
# forward step (a sleep the OS did not announce, or the clock being set).
# A backward step leaves no gap.
AWAY_CAUSES = {JumpKind.SUSPEND: "suspend", JumpKind.FORWARD: "clock"}


@dataclass(frozen=True)
class EntryView:
    """An entry as the UI and the CLI see it."""

    id: int
    project: str
    task: str | None
    note: str | None
    source: str
    start: datetime
    end: datetime | None
    flushed_at: datetime | None

    @property
    def running(self) -> bool:
        return self.end is None

    def seconds(self, now: datetime) -> float:
        """Duration so far; a running entry counts up to ``now``."""
        end = self.end if self.end is not None else now
        return max((end - self.start).total_seconds(), 0.0)


class Timer:
    """Clock in, switch, clock out, and the manual entries beside them."""

    def __init__(
        self, store: Store, clock: Clock, start_guard: StartGuard | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        # Work limits and budgets (agent/allowance.py): may refuse a start.
        self.start_guard = start_guard

    # The running entry

    def _now(self) -> datetime:
        """The wall time at the store's precision, so views match what is stored."""
        return to_stored(self._clock.now())

    def get(self, entry_id: int) -> EntryView:
        with self._store.read() as session:
            return _view(_get(session, entry_id))

    def current(self) -> EntryView | None:
        with self._store.read() as session:
            entry = _running(session)
            return _view(entry) if entry is not None else None

    def start(
        self,
        project: str,
        task: str | None = None,
        note: str | None = None,
        *,
        tracked: bool = False,
    ) -> EntryView:
        """Clock in; a running entry is closed at the same instant (a switch).

        ``tracked`` says a running agent will flush the entry: it counts as
        flushed from its start, so a crash before the agent's first flush
        closes it there instead of leaving it running on the wall clock.
        """
        note = _clean_note(note)

        with self._store.write() as session:
            # Read the clock only once the write lock is ours: a start that
            # waited for another process must not begin before what that
            # process wrote.
            now = self._now()
            project_row, task_row = find_open_task(session, project, task)
            previous = _running(session)
            if previous is not None:
                _close(session, previous, now)

            entry = Entry(
                project_id=project_row.id,
                task_id=task_row.id if task_row else None,
                note=note,
                source=EntrySource.TIMER,
                start=now,
                flushed_at=now if tracked else None,
                updated_at=now,
            )
            session.add(entry)
            session.flush()
            if self.start_guard is not None:
                # Raising here rolls the whole switch back: nothing changes.
                self.start_guard(session, entry, now)
            enqueue(session, "entry", entry.id, now)
            log.info(
                "clocked in on %r%s",
                project_row.name,
                f" / {task_row.name!r}" if task_row else "",
            )
            return _view(entry)

    def stop(self, at: datetime | None = None) -> EntryView | None:
        """Clock out (``at``: earlier, where a work limit was reached).
        Returns the closed entry, or None when nothing ran."""
        with self._store.write() as session:
            now = self._now()
            entry = _running(session)
            if entry is None:
                return None
            if at is not None:
                now = min(now, to_stored(at))
            _close(session, entry, now)
            log.info("clocked out after %.0f s", (now - entry.start).total_seconds())
            return _view(entry)

    def set_note(self, note: str | None) -> EntryView:
        now = self._now()
        with self._store.write() as session:
            entry = _running(session)
            if entry is None:
                raise UserError("no timer is running; start one first")
            entry.note = _clean_note(note)
            _touch(session, entry, now)
            return _view(entry)

    def flush(self) -> EntryView | None:
        """Confirm the running entry is still being worked on (agent only)."""
        now = self._now()
        with self._store.write() as session:
            entry = _running(session)
            if entry is None:
                return None
            entry.flushed_at = max(now, entry.start)
            return _view(entry)

    def recover(self) -> EntryView | None:
        """Close an entry left open by an agent that died, at its last flush.

        Call only when no agent is alive (the caller checked the instance
        lock). An entry without a flush was started while no agent ran and
        is left running.
        """
        with self._store.write() as session:
            entry = _running(session)
            if entry is None or entry.flushed_at is None:
                return None
            end = max(entry.flushed_at, entry.start)
            _close(session, entry, end)
            log.warning(
                "closed entry %d left open by an agent that stopped unexpectedly, "
                "at its last flush %s",
                entry.id,
                end.isoformat(),
            )
            return _view(entry)

    def on_clock_jump(self, jump: ClockJump) -> None:
        """Split the running entry at a suspend or a wall-clock step."""
        with self._store.write() as session:
            entry = _running(session)
            if entry is None:
                return

            end = max(to_stored(jump.before), entry.start)
            resumed = to_stored(jump.after)
            _close(session, entry, end)
            follow = continuation(entry, resumed)
            session.add(follow)
            session.flush()
            enqueue(session, "entry", follow.id, resumed)
            cause = AWAY_CAUSES.get(jump.kind)
            if cause is not None:
                self._record_away(session, entry, end, resumed, cause)
            log.info("entry %d split at a clock %s", entry.id, jump.kind)

    def _record_away(
        self,
        session: Session,
        entry: Entry,
        start: datetime,
        end: datetime,
        cause: str,
    ) -> None:
        away = IdlePeriod(entry_id=entry.id, start=start, end=end, cause=cause)
        session.add(away)
        session.flush()
        enqueue(session, "idle_period", away.id, end)

    # Manual entries

    def entries(self, start: datetime, end: datetime) -> list[EntryView]:
        """Entries overlapping [start, end), oldest first; a running one too."""
        with self._store.read() as session:
            return [_view(entry) for entry in overlapping(session, start, end)]

    def add(
        self,
        project: str,
        start: datetime,
        end: datetime,
        task: str | None = None,
        note: str | None = None,
    ) -> EntryView:
        """Add time worked without the timer. Overlaps are refused."""
        now = self._now()
        _check_span(start, end, now)
        start, end = to_stored(start), to_stored(end)
        note = _clean_note(note)

        with self._store.write() as session:
            project_row, task_row = find_open_task(session, project, task)
            _refuse_overlap(session, start, end, now, ignore=None)
            entry = Entry(
                project_id=project_row.id,
                task_id=task_row.id if task_row else None,
                note=note,
                source=EntrySource.MANUAL,
                start=start,
                end=end,
                updated_at=now,
            )
            session.add(entry)
            session.flush()
            enqueue(session, "entry", entry.id, now)
            log.info("manual entry %d added", entry.id)
            return _view(entry)

    def edit(
        self,
        entry_id: int,
        *,
        project: str | None = None,
        task: str | None = None,
        note: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> EntryView:
        """Change an entry. A running entry's end cannot be set here (stop it)."""
        now = self._now()
        with self._store.write() as session:
            entry = _get(session, entry_id)
            if end is not None and entry.end is None:
                raise UserError("that entry is running; stop it instead of ending it")
            if project is not None or task is not None:
                _set_project(session, entry, project, task)
            if note is not None:
                entry.note = _clean_note(note)

            new_start = to_stored(start) if start else entry.start
            new_end = to_stored(end) if end else entry.end
            if start is not None or end is not None:
                if new_end is None:
                    if new_start > now:
                        raise UserError("a running entry cannot start in the future")
                else:
                    _check_span(new_start, new_end, now)
                _refuse_overlap(session, new_start, new_end or now, now, entry.id)
                entry.start, entry.end = new_start, new_end
            _touch(session, entry, now)
            return _view(entry)

    def delete(self, entry_id: int) -> EntryView:
        """Delete an entry (kept as a tombstone until the server has it)."""
        now = self._now()
        with self._store.write() as session:
            entry = _get(session, entry_id)
            if entry.end is None:
                raise UserError("that entry is running; stop it first")
            entry.deleted_at = now
            _touch(session, entry, now)
            log.info("entry %d deleted", entry_id)
            return _view(entry)


def overlapping(session: Session, start: datetime, end: datetime) -> list[Entry]:
    """Entries (not deleted) overlapping [start, end), oldest first."""
    query = (
        select(Entry)
        .options(joinedload(Entry.project), joinedload(Entry.task))
        .where(
            Entry.deleted_at.is_(None),
            Entry.start < end,
            (Entry.end.is_(None)) | (Entry.end > start),
        )
        .order_by(Entry.start)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class Cut:
    """What :func:`cut_out` did: seconds taken out, and the entries touched.

    ``follow_ups`` maps each cut entry that went on past the cut to the new
    entry carrying it on from there (a running one keeps running there).
    """

    removed_seconds: float
    entry_ids: tuple[int, ...]
    follow_ups: dict[int, int]


def cut_out(session: Session, start: datetime, end: datetime, now: datetime) -> Cut:
    """Takes [start, end) out of every entry, as the idle "discard" leaves it.

    The one way time is cut out, in two halves the idle cut (agent/idle.py)
    uses too: an entry is ended where the cut begins (:func:`end_entry`)
    and, if it went on past the cut, carried on by a new entry from the
    cut's end (:func:`carry_on`): the part after the cut never keeps the
    old id, so whoever records against the running entry starts afresh on
    the new one. An ended entry wholly inside is deleted (a tombstone for
    sync). Every change is queued for upload.
    """
    if end <= start:
        return Cut(0.0, (), {})
    removed, touched, follow_ups = 0.0, [], {}
    for entry in overlapping(session, start, end):
        old_end = entry.end
        removed += (min(old_end or now, end) - max(entry.start, start)).total_seconds()
        touched.append(entry.id)
        end_entry(session, entry, start)
        if entry.end == entry.start:
            entry.deleted_at = now
        entry.updated_at = now
        if old_end is None or old_end > end:
            follow_ups[entry.id] = carry_on(session, entry, end, now, end=old_end)
    return Cut(max(removed, 0.0), tuple(touched), follow_ups)


def end_entry(session: Session, entry: Entry, end: datetime) -> None:
    """Ends ``entry`` at ``end`` (never before its start), queued for upload:
    the first half of a cut. The idle cut stops here until the worker is
    back; :func:`cut_out` carries on at once."""
    _close(session, entry, end)


def carry_on(
    session: Session,
    entry: Entry,
    start: datetime,
    now: datetime,
    *,
    end: datetime | None = None,
) -> int:
    """A new entry carrying ``entry``'s project, task and note on from
    ``start`` (running unless ``end``), queued for upload; returns its id.

    The second half of a cut: ``entry`` is ended first, and written before
    its follow-up exists, so that at most one entry runs.
    """
    session.flush()
    follow = continuation(entry, start)
    follow.end = end
    follow.flushed_at = end or start
    follow.updated_at = now
    session.add(follow)
    session.flush()
    enqueue(session, "entry", follow.id, now)
    return follow.id


def _running(session: Session) -> Entry | None:
    query = (
        select(Entry)
        .options(joinedload(Entry.project), joinedload(Entry.task))
        .where(Entry.end.is_(None), Entry.deleted_at.is_(None))
    )
    return session.scalars(query).first()


def _get(session: Session, entry_id: int) -> Entry:
    entry = session.get(Entry, entry_id)
    if entry is None or entry.deleted_at is not None:
        raise NotFoundError(
            f"no entry with id {entry_id}; see `punchclock entries list`"
        )
    return entry


def _close(session: Session, entry: Entry, end: datetime) -> None:
    entry.end = max(end, entry.start)
    entry.flushed_at = entry.end
    _touch(session, entry, end)


def _touch(session: Session, entry: Entry, now: datetime) -> None:
    entry.updated_at = now
    enqueue(session, "entry", entry.id, now)


def continuation(entry: Entry, start: datetime) -> Entry:
    """A new running entry carrying on ``entry``'s project, task and note."""
    return Entry(
        project_id=entry.project_id,
        task_id=entry.task_id,
        note=entry.note,
        source=entry.source,
        start=start,
        flushed_at=start,
        updated_at=start,
    )


def _set_project(
    session: Session, entry: Entry, project: str | None, task: str | None
) -> None:
    if project is not None:
        # Moving time onto a project is booking it there: archived ones refused.
        project_row, task_row = find_open_task(session, project, task)
        entry.project_id = project_row.id
        entry.task_id = task_row.id if task_row else None
    elif task is not None:
        _, task_row = find_open_task(session, entry.project.name, task)
        entry.task_id = task_row.id if task_row else None


def _check_span(start: datetime, end: datetime, now: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise UserError("times need a time zone")
    if end <= start:
        raise UserError("an entry must end after it starts")
    if end > now + timedelta(seconds=1):
        raise UserError("an entry cannot end in the future")
    if end - start > timedelta(days=7):
        raise UserError("an entry cannot be longer than 7 days; split it")


def _refuse_overlap(
    session: Session, start: datetime, end: datetime, now: datetime, ignore: int | None
) -> None:
    query = select(Entry).where(
        Entry.deleted_at.is_(None),
        Entry.start < end,
        (Entry.end.is_(None)) | (Entry.end > start),
    )
    for other in session.scalars(query):
        other_end = other.end or now
        if other.id == ignore or other_end <= start:
            continue
        raise ConflictError(
            f"that overlaps entry {other.id} on {other.project.name!r} "
            f"({_hm(other.start)}–{'now' if other.end is None else _hm(other_end)}); "
            "change the times or edit that entry"
        )


def _hm(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _clean_note(note: str | None) -> str | None:
    if note is None:
        return None
    # NFC, line breaks as spaces, no escapes, no bidi controls (agent.names).
    note = clean_text(note, "note").strip()
    if len(note) > MAX_NOTE:
        raise UserError(f"a note is at most {MAX_NOTE} characters")
    return note or None


def _view(entry: Entry) -> EntryView:
    return EntryView(
        id=entry.id,
        project=entry.project.name,
        task=entry.task.name if entry.task else None,
        note=entry.note,
        source=entry.source,
        start=entry.start,
        end=entry.end,
        flushed_at=entry.flushed_at,
    )
