"""Ergonomic reminders: micro-breaks and rest breaks, counted on active time.

Two counters run side by side (``[reminders]`` in settings): a micro-break
(say 20 s every 20 min) and a rest break (say 10 min every 60 min). They
count **active seconds** — seconds with keyboard or mouse input, as the input
source reports them — not wall time, so a long read or a meeting without
input does not bring a reminder early.

- **Natural break.** Being idle (no input, or the machine asleep) for at
  least a break's length counts as that break taken: its counter starts
  again, and a rest break resets the micro-break too. A break under a break
  policy that lasted as long counts the same.
- **Due.** When a counter reaches its interval the reminder is due. It is
  **held back** while a full-screen window or one of ``hold_apps`` (a
  presentation, a call) has the focus, and shown once that ends.
- **Answers.** Take it (the agent records a break with origin ``reminder``
  that ends by itself after the break's length), postpone it (by
  ``postpone_minutes`` of active time, at most ``postpone_limit`` times in a
  row) or skip it where the policy allows.

The agent's tick calls :meth:`Reminders.tick` once a second; the tray shows
:meth:`Reminders.pending` (``ui/break_reminder.py``) and passes the answer to
:meth:`Reminders.answer`. Thread-safe; nothing here touches the store.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from agent.clock import Clock
from agent.errors import UserError
from agent.settings import ReminderSettings

log = logging.getLogger(__name__)


class ReminderKind(enum.StrEnum):
    MICRO = "micro"
    REST = "rest"


class ReminderAction(enum.StrEnum):
    TAKE = "take"
    POSTPONE = "postpone"
    SKIP = "skip"


@dataclass(frozen=True)
class Reminder:
    """A due reminder, as the dialog shows it."""

    kind: ReminderKind
    seconds: int  # the break's length
    active_seconds: float  # active time since the last break of this kind
    postpones_left: int
    postpone_minutes: int
    can_skip: bool

    @property
    def policy_name(self) -> str:
        """The name its break is recorded under."""
        return "micro-break" if self.kind is ReminderKind.MICRO else "rest break"

    def message(self) -> str:
        worked = round(self.active_seconds / 60)
        if self.kind is ReminderKind.MICRO:
            return (
                f"{worked} min of active work: look away from the screen and "
                f"relax your hands for {self.seconds} s."
            )
        return (
            f"{worked} min of active work: stand up, stretch and move for "
            f"{self.seconds // 60} min."
        )


@dataclass
class _Counter:
    kind: ReminderKind
    every: float  # active seconds between breaks
    length: int  # seconds a break lasts
    active: float = 0.0
    due_at: float = 0.0
    postponed: int = 0
    rested: bool = False  # a natural break was credited in this idle run

    def __post_init__(self) -> None:
        self.due_at = self.every

    def reset(self) -> None:
        self.active, self.due_at, self.postponed = 0.0, self.every, 0


ReminderListener = Callable[[Reminder | None], None]


class Reminders:
    """The two counters, the held-back and the shown reminder."""

    def __init__(self, settings: ReminderSettings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._counters = _counters(settings)
        self._last_active = clock.boottime()
        self._shown: Reminder | None = None
        self._held: ReminderKind | None = None
        self._listeners: list[ReminderListener] = []
        self._announced: Reminder | None = None

    def add_listener(self, listener: ReminderListener) -> None:
        """Called, on the agent's thread, when the shown reminder changes."""
        self._listeners.append(listener)

    def pending(self) -> Reminder | None:
        """The reminder to show now, or None."""
        with self._lock:
            return self._shown

    @property
    def held(self) -> bool:
        """Whether a due reminder waits for a full-screen or call app to go."""
        with self._lock:
            return self._held is not None

    def active_seconds(self, kind: ReminderKind) -> float:
        with self._lock:
            counter = self._counters.get(kind)
            return counter.active if counter is not None else 0.0

    def tick(
        self, active_seconds: int, holding: bool, *, counting: bool = True
    ) -> None:
        """One tick: how many seconds had input since the last one; whether a
        full-screen window or a hold app has the focus; ``counting`` whether
        that input counts (the timer runs: off the clock it only tells idle
        time apart)."""
        with self._lock:
            self._credit_rest(self._idle(active_seconds))
            for counter in self._counters.values():
                counter.active += active_seconds if counting else 0
            shown = self._next(holding)
        self._announce(shown)

    def on_break_ended(self, seconds: float) -> None:
        """A break under a policy lasted ``seconds``: a natural break as long."""
        with self._lock:
            self._credit_rest(seconds)
            shown = self._shown
        self._announce(shown)

    def answer(self, kind: ReminderKind, action: ReminderAction) -> Reminder:
        """Apply the worker's answer to the shown reminder of ``kind``.

        Raises :class:`~agent.errors.UserError` when no such reminder is
        shown, no postpones are left, or skipping is not allowed.
        """
        with self._lock:
            shown = self._shown
            if shown is None or shown.kind is not kind:
                raise UserError("that reminder is no longer shown")
            self._apply(self._counters[kind], action)
            self._shown = None
        log.info("%s reminder: %s", kind, action)
        self._announce(None)
        return shown

    # steps

    def _idle(self, active_seconds: int) -> float:
        """Seconds since the input before this tick, on the boot-time clock
        (a suspend counts): input right after a wake-up still ends a run."""
        boot = self._clock.boottime()
        idle = max(boot - self._last_active, 0.0)
        if active_seconds:
            self._last_active = boot
        return idle

    def _credit_rest(self, idle: float) -> None:
        """Idle as long as a break counts as that break taken (once per run)."""
        for counter in self._counters.values():
            if idle < counter.length:
                counter.rested = False
                continue
            if counter.rested:
                continue
            counter.rested = True
            self._rested(counter.kind)

    def _rested(self, kind: ReminderKind) -> None:
        kinds = [kind] + ([ReminderKind.MICRO] if kind is ReminderKind.REST else [])
        for each in kinds:
            counter = self._counters.get(each)
            if counter is None:
                continue
            if counter.active:
                log.info("natural %s break: its count starts again", each)
            counter.reset()
            if self._shown is not None and self._shown.kind is each:
                self._shown = None
            if self._held is each:
                self._held = None

    def _next(self, holding: bool) -> Reminder | None:
        """The reminder to show: the rest break before the micro-break."""
        if self._shown is not None:
            return self._shown
        due = [c for c in self._counters.values() if c.active >= c.due_at]
        if not due:
            return self._shown
        counter = max(due, key=lambda c: c.length)
        if holding:
            if self._held is None:
                log.info(
                    "%s reminder held back: a full-screen or call app", counter.kind
                )
            self._held = counter.kind
            return None
        self._held = None
        self._shown = self._reminder(counter)
        log.info("%s reminder due after %.0f s active", counter.kind, counter.active)
        return self._shown

    def _reminder(self, counter: _Counter) -> Reminder:
        settings = self._settings
        return Reminder(
            kind=counter.kind,
            seconds=counter.length,
            active_seconds=counter.active,
            postpones_left=max(settings.postpone_limit - counter.postponed, 0),
            postpone_minutes=settings.postpone_minutes,
            can_skip=settings.skip_allowed,
        )

    def _apply(self, counter: _Counter, action: ReminderAction) -> None:
        if action is ReminderAction.POSTPONE:
            if counter.postponed >= self._settings.postpone_limit:
                raise UserError(
                    f"this reminder was postponed {counter.postponed} times, the "
                    "most the policy allows; take the break or skip it"
                )
            counter.postponed += 1
            counter.due_at = counter.active + self._settings.postpone_minutes * 60
            return
        if action is ReminderAction.SKIP and not self._settings.skip_allowed:
            raise UserError("your organisation's policy does not allow skipping it")
        self._rested(counter.kind)

    def _announce(self, shown: Reminder | None) -> None:
        with self._lock:
            if shown == self._announced:
                return
            self._announced = shown
        for listener in list(self._listeners):
            listener(shown)


def _counters(settings: ReminderSettings) -> dict[ReminderKind, _Counter]:
    counters = {}
    if settings.micro_enabled:
        counters[ReminderKind.MICRO] = _Counter(
            ReminderKind.MICRO,
            settings.micro_every_minutes * 60,
            settings.micro_seconds,
        )
    if settings.rest_enabled:
        counters[ReminderKind.REST] = _Counter(
            ReminderKind.REST,
            settings.rest_every_minutes * 60,
            settings.rest_minutes * 60,
        )
    return counters


def is_hold_app(hold_apps: tuple[str, ...], *names: str | None) -> bool:
    """Whether one of ``names`` (app, window class) is in ``hold_apps``."""
    wanted = {app.casefold() for app in hold_apps}
    return any(name and name.casefold() in wanted for name in names)
