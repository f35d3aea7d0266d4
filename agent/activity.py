"""Slots: activity % per fixed wall-clock interval, and unusual-activity flags.

The agent's tick job hands :meth:`ActivityRecorder.record` what the input
source drained (or, where input cannot be observed, the OS idle reading)
once a second, with the running entry; the recorder keeps per-slot sets of
active seconds in memory. The flush job writes them (:meth:`flush`) as one
``slots`` row per (slot, entry).

- A second is active when any key or mouse input happened in it; keyboard
  and mouse seconds are kept apart for the share of each.
- Activity is unknown (NULL, not 0) in a slot where neither the input
  listeners nor the OS idle time worked; with only the OS idle time the
  active seconds are known but the keyboard/mouse split is not.
- Seconds in which a passive app (a video call) had the focus are counted
  in ``passive_seconds``; they are not active seconds, but idle detection
  treats them as presence.

Flags (:class:`SlotFlag`) are stored with a readable reason each, for the
worker and the lead alike: input the OS marked as injected, mouse movement
at a fixed interval with no other input, only one device for hours, and a
known jiggler program running.
"""

from __future__ import annotations

import enum
import itertools
import logging
import statistics
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources

import psutil
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.clock import Clock
from agent.settings import ActivitySettings
from agent.store import Store
from agent.store.models import Entry, Slot
from agent.store.outbox import enqueue
from agent.timer import EntryView
from capture.idle import IdleReading
from capture.input import InputMarks

log = logging.getLogger(__name__)

# A gap of at most this many seconds either way counts as "the same
# interval" when telling a jiggler's rhythm from a person's.
RHYTHM_TOLERANCE = 1
MIN_RHYTHM_BURSTS = 6
MIN_RHYTHM_GAP = 3


class SlotFlag(enum.IntFlag):
    NONE = 0
    INJECTED = 1
    REGULAR_MOUSE = 2
    MOUSE_ONLY = 4
    KEYBOARD_ONLY = 8
    JIGGLER_PROGRAM = 16


def slot_start(moment: datetime, minutes: int) -> datetime:
    """The start of the slot holding ``moment``: slots are aligned to the hour."""
    moment = moment.astimezone(UTC)
    floored = moment.minute - moment.minute % minutes
    return moment.replace(minute=floored, second=0, microsecond=0)


@dataclass
class _SlotState:
    entry_id: int
    start: datetime
    end: datetime
    entry_start: datetime
    entry_end: datetime | None = None
    active: set[int] = field(default_factory=set)
    keyboard: set[int] = field(default_factory=set)
    mouse: set[int] = field(default_factory=set)
    passive: set[int] = field(default_factory=set)
    known: bool = False
    split_known: bool = False
    injected: int = 0
    reasons: dict[SlotFlag, str] = field(default_factory=dict)
    slot_id: int | None = None
    # Seconds counted before this state existed, on the entry a cut ended
    # (:func:`carry_over_slots`): kept as counts, added when written.
    carried: CarriedSlot | None = None

    def tracked(self, now: datetime) -> float:
        begin = max(self.start, self.entry_start)
        finish = min(self.end, self.entry_end or now)
        return max((finish - begin).total_seconds(), 0.0)


class ActivityRecorder:
    """Per-slot activity of the running entry; thread-safe."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: ActivitySettings,
        jigglers: JigglerScan | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._jigglers = jigglers or JigglerScan(load_jiggler_names())
        self._lock = threading.Lock()
        self._slots: dict[tuple[int, datetime], _SlotState] = {}
        self._patterns = InputPatterns(settings)
        self._last_scan = -float(settings.jiggler_check_seconds)
        self._jiggler_reason: str | None = None

    def record(
        self,
        entry: EntryView | None,
        marks: InputMarks | None,
        reading: IdleReading | None,
        passive: bool = False,
    ) -> None:
        """One tick's input; called by the tick job, once a second."""
        now = self._clock.now()
        offset = now.timestamp() - self._clock.monotonic()
        keyboard = [int(s + offset) for s in marks.keyboard] if marks else []
        mouse = [int(s + offset) for s in marks.mouse] if marks else []
        self._patterns.add(keyboard, mouse)
        if entry is None or entry.end is not None:
            return

        with self._lock:
            state = self._state(entry, now)
            if marks is not None:
                self._add_marks(entry, state, marks, keyboard, mouse)
            elif reading is not None:
                state.known = True
                if reading.seconds < 1.5:
                    self._add(entry, state, "active", [int(now.timestamp())])
            if passive:
                state.passive.add(int(now.timestamp()))

    def on_entry_closed(self, entry_id: int, end: datetime) -> None:
        """An entry ended (stopped, cut at idle, split): its slots end there."""
        with self._lock:
            for state in self._slots.values():
                if state.entry_id == entry_id:
                    state.entry_end = end

    def take_carried(self, carried: Iterable[CarriedSlot]) -> None:
        """Slots :func:`carry_over_slots` moved to an entry that carries a cut
        entry on: what this recorder counts for them from now on adds to the
        moved seconds instead of writing over them. Call once the move is
        committed, before recording against the new entry."""
        with self._lock:
            for moved in carried:
                state = _SlotState(
                    moved.entry_id,
                    moved.start,
                    moved.end,
                    moved.entry_start,
                    known=moved.active is not None,
                    split_known=moved.keyboard is not None,
                    slot_id=moved.slot_id,
                    carried=moved,
                )
                self._slots[(moved.entry_id, moved.start)] = state

    def flush(self) -> int:
        """Write every slot recorded in memory; returns how many rows."""
        now = self._clock.now()
        self._scan_jigglers()
        with self._lock:
            self._flag(now)
            pending = [
                s for s in self._slots.values() if s.tracked(now) > 0 or s.active
            ]
        if not pending:
            return 0

        with self._store.write() as session:
            for state in pending:
                _close_from_store(session, state)
                row = _upsert(session, state, now)
                enqueue(session, "slot", row.id, now)
                state.slot_id = row.id
        self._forget_finished(now)
        return len(pending)

    # recording

    def _state(self, entry: EntryView, now: datetime) -> _SlotState:
        start = slot_start(now, self._settings.slot_minutes)
        key = (entry.id, start)
        state = self._slots.get(key)
        if state is None:
            end = start + timedelta(minutes=self._settings.slot_minutes)
            state = _SlotState(entry.id, start, end, entry.start)
            self._slots[key] = state
        return state

    def _add_marks(
        self,
        entry: EntryView,
        state: _SlotState,
        marks: InputMarks,
        keyboard: list[int],
        mouse: list[int],
    ) -> None:
        state.known = state.split_known = True
        state.injected += marks.injected
        self._add(entry, state, "keyboard", keyboard)
        self._add(entry, state, "mouse", mouse)
        self._add(entry, state, "active", keyboard + mouse)

    def _add(
        self, entry: EntryView, state: _SlotState, role: str, seconds: list[int]
    ) -> None:
        """Seconds of this entry go to the slot holding them (a tick may straddle).

        ``role`` names the set: "keyboard", "mouse" or "active".
        """
        first = int(entry.start.timestamp())
        for second in seconds:
            # A whole second of the monotonic clock falls across two wall
            # seconds: input in the second the entry began may map onto the
            # one before it. It belongs to the entry's first second.
            if second < first - 1:
                continue
            second = max(second, first)
            target = state
            if not state.start.timestamp() <= second < state.end.timestamp():
                target = self._state(entry, datetime.fromtimestamp(second, UTC))
                target.known, target.split_known = state.known, state.split_known
            seen: set[int] = getattr(target, role)
            seen.add(second)

    # flags

    def _scan_jigglers(self) -> None:
        mono = self._clock.monotonic()
        if mono - self._last_scan < self._settings.jiggler_check_seconds:
            return
        self._last_scan = mono
        found = self._jigglers.running()
        self._jiggler_reason = (
            "a program made to fake input was running: " + ", ".join(found)
            if found
            else None
        )

    def _flag(self, now: datetime) -> None:
        pattern_reasons = self._patterns.reasons(now)
        for state in self._slots.values():
            if state.injected:
                state.reasons[SlotFlag.INJECTED] = (
                    f"{state.injected} input events were marked by the operating "
                    "system as injected by a program, not made by a person"
                )
            if state.start <= now < state.end:
                state.reasons.update(pattern_reasons)
                if self._jiggler_reason:
                    state.reasons[SlotFlag.JIGGLER_PROGRAM] = self._jiggler_reason
        self._patterns.note_slots(self._slots.values(), now)

    def _forget_finished(self, now: datetime) -> None:
        with self._lock:
            for key, state in list(self._slots.items()):
                ended = state.entry_end is not None or state.end <= now
                if ended and (state.slot_id is not None or not state.tracked(now)):
                    del self._slots[key]


@dataclass(frozen=True)
class CarriedSlot:
    """A slot's activity moved from a cut entry to the entry carrying it on."""

    slot_id: int
    entry_id: int
    entry_start: datetime
    start: datetime
    end: datetime
    active: float | None
    keyboard: float | None
    mouse: float | None
    passive: float


def carry_over_slots(
    session: Session, follow_ups: Mapping[int, int], after: datetime, now: datetime
) -> list[CarriedSlot]:
    """Activity the cut entries counted from ``after`` on goes to the entries
    carrying them on (``follow_ups``: cut entry -> follow-up, as
    :class:`agent.timer.Cut` has them).

    A screenshot deleted after its slot ended takes that slot out; the next
    slot's seconds, counted before the deletion on the entry now ended at
    the cut, would stay on a row with no tracked time. They move to the
    continuing entry's row of that slot (added to what it has), and the cut
    entry's row is zeroed; both are queued for upload. Returns the moved
    slots, for the recorder (:meth:`ActivityRecorder.take_carried`).
    """
    if not follow_ups:
        return []
    rows = session.scalars(
        select(Slot)
        .where(Slot.entry_id.in_(list(follow_ups)), Slot.start >= after)
        .order_by(Slot.start)
    ).all()
    carried: list[CarriedSlot] = []
    for row in rows:
        follow = session.get(Entry, follow_ups[row.entry_id])
        if follow is None:
            continue
        target = session.scalars(
            select(Slot).where(Slot.entry_id == follow.id, Slot.start == row.start)
        ).first()
        if target is None:
            target = Slot(
                entry_id=follow.id,
                start=row.start,
                end=row.end,
                tracked_seconds=0.0,
                passive_seconds=0.0,
                synthetic_flags=0,
            )
            session.add(target)
        begin = max(row.start, follow.start)
        finish = min(row.end, follow.end or now)
        target.tracked_seconds = max((finish - begin).total_seconds(), 0.0)
        for name in ("active_seconds", "keyboard_seconds", "mouse_seconds"):
            setattr(target, name, _plus(getattr(target, name), getattr(row, name)))
        target.passive_seconds = (target.passive_seconds or 0.0) + row.passive_seconds
        target.synthetic_flags |= row.synthetic_flags
        target.flag_reasons = _joined(target.flag_reasons, row.flag_reasons)
        _zero(row)
        session.flush()
        enqueue(session, "slot", row.id, now)
        enqueue(session, "slot", target.id, now)
        carried.append(
            CarriedSlot(
                target.id,
                follow.id,
                follow.start,
                target.start,
                target.end,
                target.active_seconds,
                target.keyboard_seconds,
                target.mouse_seconds,
                target.passive_seconds,
            )
        )
    return carried


def _plus(first: float | None, second: float | None) -> float | None:
    if first is None and second is None:
        return None
    return (first or 0.0) + (second or 0.0)


def _joined(first: str | None, second: str | None) -> str | None:
    lines = [*(first or "").splitlines(), *(second or "").splitlines()]
    unique = list(dict.fromkeys(line for line in lines if line))
    return "\n".join(unique) or None


def _zero(row: Slot) -> None:
    row.tracked_seconds = 0.0
    row.passive_seconds = 0.0
    for name in ("active_seconds", "keyboard_seconds", "mouse_seconds"):
        if getattr(row, name) is not None:
            setattr(row, name, 0.0)
    row.synthetic_flags = 0
    row.flag_reasons = None


def _close_from_store(session: Session, state: _SlotState) -> None:
    """An entry that ended elsewhere (the CLI, a split) ends its slots too."""
    if state.entry_end is not None:
        return
    entry = session.get(Entry, state.entry_id)
    if entry is not None and entry.end is not None:
        state.entry_end = entry.end
    if entry is not None and entry.deleted_at is not None:
        state.entry_end = state.entry_start


def _upsert(session: Session, state: _SlotState, now: datetime) -> Slot:
    row = session.scalars(
        select(Slot).where(Slot.start == state.start, Slot.entry_id == state.entry_id)
    ).first()
    if row is None:
        row = Slot(entry_id=state.entry_id, start=state.start, end=state.end)
        session.add(row)
    base = state.carried
    row.tracked_seconds = state.tracked(now)
    if base is None:
        row.active_seconds = float(len(state.active)) if state.known else None
        row.keyboard_seconds = float(len(state.keyboard)) if state.split_known else None
        row.mouse_seconds = float(len(state.mouse)) if state.split_known else None
        row.passive_seconds = float(len(state.passive))
    else:
        row.active_seconds = _plus(_count(state.active, state.known), base.active)
        keyboard = _count(state.keyboard, state.split_known)
        row.keyboard_seconds = _plus(keyboard, base.keyboard)
        row.mouse_seconds = _plus(_count(state.mouse, state.split_known), base.mouse)
        row.passive_seconds = float(len(state.passive)) + base.passive
    flags = SlotFlag.NONE
    for flag in state.reasons:
        flags |= flag
    row.synthetic_flags = int(flags)
    row.flag_reasons = (
        "\n".join(state.reasons[f] for f in sorted(state.reasons)) or None
    )
    session.flush()
    return row


def _count(seconds: set[int], known: bool) -> float | None:
    return float(len(seconds)) if known else None


class InputPatterns:
    """Recent input seconds of the whole session, for pattern flags.

    Keeps the last ``regular_mouse_minutes`` of keyboard and mouse seconds,
    and per-slot keyboard/mouse totals for the last ``single_device_hours``.
    """

    def __init__(self, settings: ActivitySettings) -> None:
        self._window = settings.regular_mouse_minutes * 60
        self._hours = settings.single_device_hours
        self._keyboard: deque[int] = deque()
        self._mouse: deque[int] = deque()
        self._slots: dict[datetime, tuple[float, float, float]] = {}

    def add(self, keyboard: Iterable[int], mouse: Iterable[int]) -> None:
        self._keyboard.extend(keyboard)
        self._mouse.extend(mouse)

    def note_slots(self, states: Iterable[_SlotState], now: datetime) -> None:
        """Remember each slot's tracked, keyboard and mouse seconds."""
        for state in states:
            if state.split_known:
                tracked = state.tracked(now)
                self._slots[state.start] = (
                    tracked,
                    float(len(state.keyboard)),
                    float(len(state.mouse)),
                )
        horizon = now - timedelta(hours=self._hours + 1)
        for start in [s for s in self._slots if s < horizon]:
            del self._slots[start]

    def reasons(self, now: datetime) -> dict[SlotFlag, str]:
        found: dict[SlotFlag, str] = {}
        rhythm = self._rhythm(int(now.timestamp()))
        if rhythm is not None:
            found[SlotFlag.REGULAR_MOUSE] = rhythm
        single = self._single_device(now)
        if single is not None:
            found[single[0]] = single[1]
        return found

    def _rhythm(self, now: int) -> str | None:
        for seconds in (self._keyboard, self._mouse):
            while seconds and seconds[0] < now - self._window:
                seconds.popleft()
        if self._keyboard or not self._mouse:
            return None
        if self._mouse[0] > now - self._window + 60:
            return None  # the window is not covered yet
        return regular_mouse_reason(list(self._mouse), self._window // 60)

    def _single_device(self, now: datetime) -> tuple[SlotFlag, str] | None:
        since = now - timedelta(hours=self._hours)
        recent = [v for s, v in self._slots.items() if s >= since]
        tracked = sum(v[0] for v in recent)
        if tracked < self._hours * 3600 * 0.9:
            return None
        keyboard = sum(v[1] for v in recent)
        mouse = sum(v[2] for v in recent)
        hours = f"{self._hours} hour{'s' if self._hours > 1 else ''}"
        if keyboard == 0 and mouse > 0:
            return SlotFlag.MOUSE_ONLY, f"only the mouse was used for {hours}"
        if mouse == 0 and keyboard > 0:
            return SlotFlag.KEYBOARD_ONLY, f"only the keyboard was used for {hours}"
        return None


def regular_mouse_reason(mouse_seconds: list[int], minutes: int) -> str | None:
    """Why these mouse-only seconds look like a jiggler's, or None.

    A person moves the mouse in bursts of varying length at varying
    intervals. Moves that start at the same interval, again and again, or
    that never pause at all, come from a program.
    """
    bursts = _bursts(sorted(set(mouse_seconds)))
    if len(bursts) == 1 and bursts[0][1] - bursts[0][0] >= minutes * 60 - 60:
        return (
            f"the mouse moved in every second for {minutes} minutes with no other input"
        )
    if len(bursts) < MIN_RHYTHM_BURSTS:
        return None
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(bursts)]
    median = statistics.median(gaps)
    if median < MIN_RHYTHM_GAP:
        return None
    if max(gaps) - min(gaps) > 2 * RHYTHM_TOLERANCE:
        return None
    return (
        f"the mouse moved every {median:.0f} s, {len(bursts)} times in "
        f"{minutes} minutes, with no other input: no person moves this regularly"
    )


def _bursts(seconds: list[int]) -> list[tuple[int, int]]:
    """Runs of consecutive seconds as (first, last)."""
    runs: list[tuple[int, int]] = []
    for second in seconds:
        if runs and second == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], second)
        else:
            runs.append((second, second))
    return runs


def load_jiggler_names() -> frozenset[str]:
    """The known jiggler program names shipped in ``resources/jigglers.txt``."""
    text = resources.files("resources").joinpath("jigglers.txt").read_text("utf-8")
    names = (line.strip() for line in text.splitlines())
    return frozenset(_normal(n) for n in names if n and not n.startswith("#"))


ProcessNames = Callable[[], Iterable[tuple[int, str]]]


def _process_names() -> Iterable[tuple[int, str]]:
    for process in psutil.process_iter(["pid", "name"]):
        name = process.info.get("name")
        if name:
            yield int(process.info["pid"]), str(name)


class JigglerScan:
    """Which known jiggler programs run now (psutil's process list)."""

    def __init__(
        self, names: frozenset[str], processes: ProcessNames = _process_names
    ) -> None:
        self._names = names
        self._processes = processes

    def running(self) -> list[str]:
        try:
            listed = list(self._processes())
        except psutil.Error as exc:
            log.warning("could not list processes for the jiggler check: %s", exc)
            return []
        return sorted(
            {
                f"{name} (pid {pid})"
                for pid, name in listed
                if _normal(name) in self._names
            }
        )


def _normal(name: str) -> str:
    name = name.strip().casefold()
    for suffix in (".exe", ".app"):
        name = name.removesuffix(suffix)
    return name
