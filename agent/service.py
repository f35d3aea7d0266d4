"""The agent: what runs while Punchclock runs, with or without the tray.

:class:`Agent` owns the store, the clock watch, the timer and the scheduler.
Its jobs run on the scheduler's pool threads, never on a UI thread:

- every second, ``tick``: look for clock jumps (the timer splits entries
  there) and for changes other processes committed (the CLI's ``start`` and
  ``stop``), which it announces to its listeners;
- every few seconds, ``flush``: confirm the running entry, so a crash loses at
  most that much;
- every few seconds, ``sync``: upload the outbox when it is time (shortly
  after each slot ends, after a backoff, or at once on :meth:`Agent.sync_now`);
  see :class:`sync.service.SyncService`.

The tick also drains the input listeners and reads the OS idle time: idle
detection (:class:`~agent.idle.IdleMonitor`) may cut the running entry at
the last input, and the activity recorder (:class:`~agent.activity.
ActivityRecorder`) marks the second's activity in its slot; the flush writes
the slots. The pending idle prompt is offered to the tray through
:meth:`Agent.pending_idle`, :meth:`Agent.resolve_idle` and
:meth:`Agent.add_idle_listener` (see ``ui/idle_prompt.py``).

Screenshots (:class:`~agent.screenshots.ScreenshotService`) are scheduled
by the tick and taken on their own worker thread; the tray shows each one
through :meth:`Agent.add_screenshot_listener` and deletes one through
:meth:`Agent.delete_screenshot` (see ``ui/screenshot_notice.py``).

Breaks (:class:`~agent.breaks.Breaks`): the tick follows breaks begun or
ended by any process, warns once on an overrun and ends a reminder's break
when its time is up; a suspend ends an open break at the suspend. While a
break is open no entry runs and :meth:`Agent.capture_paused` is True. The
reminders (:class:`~agent.reminders.Reminders`) count the tick's active
seconds while the timer runs. The tray takes and ends breaks through
:meth:`Agent.break_choices`, :meth:`Agent.start_break` and
:meth:`Agent.stop_break`, and shows ``ui/break_countdown.py`` and
``ui/break_reminder.py`` from :meth:`Agent.add_break_listener` and
:meth:`Agent.add_reminder_listener`.

The tray app drives the same object and turns its announcements into Qt
signals.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

from agent.activity import ActivityRecorder
from agent.allowance import Allowance, StartGuard
from agent.breaks import (
    Availability,
    BreakListener,
    BreakPolicy,
    Breaks,
    BreakView,
    Origin,
)
from agent.capturing import CaptureSet
from agent.clock import Clock, ClockJump, ClockWatch
from agent.errors import PunchclockError, StoreError, UserError
from agent.idle import IdleAnswer, IdleMonitor, IdlePolicy, IdlePrompt, PromptListener
from agent.instance import InstanceLock
from agent.paths import Paths
from agent.policy import load_effective, server_policy_stamp
from agent.projects import Projects, ProjectView
from agent.reminders import (
    Reminder,
    ReminderAction,
    ReminderKind,
    ReminderListener,
    Reminders,
    is_hold_app,
)
from agent.screenshot_requests import serve_requests
from agent.screenshots import (
    Conditions,
    Deletion,
    NoticeListener,
    ScreenshotService,
    break_open,
    conditions,
)
from agent.settings import (
    ActivitySettings,
    BreakSettings,
    IdleSettings,
    ReminderSettings,
    ScreenshotSettings,
    Settings,
    SyncSettings,
    default_settings,
)
from agent.spans import SpanRecorder
from agent.store import Store
from agent.store.models import Meta
from agent.timer import EntryView, Timer
from capture.base import CaptureHealth, FocusSample, HealthState

if TYPE_CHECKING:
    from sync.service import SyncService

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
SYNC_TICK_SECONDS = 15.0
DEFAULT_FLUSH_SECONDS = 5.0


@dataclass(frozen=True)
class AgentConfig:
    flush_seconds: float = DEFAULT_FLUSH_SECONDS
    idle: IdleSettings = field(default_factory=lambda: default_settings().idle)
    activity: ActivitySettings = field(
        default_factory=lambda: default_settings().activity
    )
    sync: SyncSettings = field(default_factory=lambda: default_settings().sync)
    breaks: BreakSettings = field(default_factory=lambda: default_settings().breaks)
    reminders: ReminderSettings = field(
        default_factory=lambda: default_settings().reminders
    )
    screenshots: ScreenshotSettings = field(
        default_factory=lambda: default_settings().screenshots
    )
    # Rates, budgets and work limits read the whole settings (agent/allowance.py).
    settings: Settings = field(default_factory=default_settings)
    # How often the sync job asks whether an upload is due (tests shorten it).
    sync_tick_seconds: float = SYNC_TICK_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> AgentConfig:
        return cls(
            flush_seconds=settings.timer.flush_seconds,
            idle=settings.idle,
            activity=settings.activity,
            sync=settings.sync,
            breaks=settings.breaks,
            reminders=settings.reminders,
            screenshots=settings.screenshots,
            settings=settings,
        )


Listener = Callable[[EntryView | None], None]
HealthListener = Callable[[list[CaptureHealth]], None]


class Agent:
    """The headless core of Punchclock; start it once per user session."""

    def __init__(
        self,
        paths: Paths,
        store: Store,
        clock: Clock,
        config: AgentConfig | None = None,
        capture: CaptureSet | None = None,
    ) -> None:
        self.paths = paths
        self.store = store
        self.clock = clock
        self.config = config or AgentConfig()
        self.capture = capture
        self.timer = Timer(store, clock, StartGuard(self.config.settings))
        self.allowance = Allowance(store, clock, self.timer, self.config.settings)
        self.spans = SpanRecorder(store, clock)
        self.breaks = Breaks(store, clock, self.config.breaks)
        self.allowance.watch_breaks(self.breaks)
        self.idle = IdleMonitor(
            store, clock, IdlePolicy.from_settings(self.config.idle), self.breaks
        )
        self.reminders = Reminders(self.config.reminders, clock)
        self.breaks.add_listener(self._on_break)
        self._last_break: BreakView | None = None
        # Whether a full-screen window has the focus; the tray or a capture
        # back end that can tell sets it. Reminders wait while it is True.
        self.fullscreen_probe: Callable[[], bool] = lambda: False
        self.activity = ActivityRecorder(store, clock, self.config.activity)
        self._published_health: list[dict[str, str]] | None = None
        self._health_listeners: list[HealthListener] = []
        self.watch = ClockWatch(clock)
        self.watch.subscribe(self._on_clock_jump)
        self._lock = InstanceLock(paths.lock_file)
        self._scheduler = BackgroundScheduler(
            job_defaults={"coalesce": True, "max_instances": 1}
        )
        self._listeners: list[Listener] = []
        self._data_version = -1
        self._current: EntryView | None = None
        # The entry a dead agent left open, closed by start(); the tray says so.
        self.recovered: EntryView | None = None
        self._state_lock = threading.Lock()
        self.sync: SyncService | None = None
        self._policy_stamp = server_policy_stamp(paths)
        self._screenshot_listeners: list[NoticeListener] = []
        # Seconds with keyboard input seen; None until an input source reports.
        self._typed_seconds: int | None = None
        self.screenshots = self._make_screenshots()

    def add_listener(self, listener: Listener) -> None:
        """Called with the running entry (or None) whenever it changes."""
        self._listeners.append(listener)

    def add_health_listener(self, listener: HealthListener) -> None:
        """Called with every source's health whenever it changes, on the
        thread that noticed (the flush job, or the one turning capture on
        or off)."""
        self._health_listeners.append(listener)

    @property
    def current(self) -> EntryView | None:
        with self._state_lock:
            return self._current

    def start(self) -> None:
        """Take the instance lock, recover from a crash, start the jobs.

        Raises :class:`~agent.instance.AlreadyRunningError` when another
        agent runs for this store.
        """
        self._lock.acquire()
        recovered = self.recovered = self.timer.recover()
        if recovered is not None:
            log.warning(
                "the previous agent stopped unexpectedly; entry on %r closed at %s",
                recovered.project,
                recovered.end,
            )
        self._refresh()
        self.idle.restore()
        if self.capture is not None:
            self.capture.start(self.spans.on_sample)
        self._publish_health()
        self._scheduler.add_job(self.tick, "interval", seconds=TICK_SECONDS, id="tick")
        self._scheduler.add_job(
            self.flush, "interval", seconds=self.config.flush_seconds, id="flush"
        )
        self._start_sync()
        self._scheduler.start()
        log.info("agent started (pid lock %s)", self.paths.lock_file)

    def _start_sync(self) -> None:
        from sync.service import SyncService

        self.sync = SyncService(
            self.paths,
            self.config.sync,
            self.store,
            self.clock,
            slot_minutes=self.config.activity.slot_minutes,
        )
        # Scheduled even without a server: a sign-in while the agent runs
        # (`punchclock sync login`) takes effect on the next sync tick.
        self._scheduler.add_job(
            self._sync_tick,
            "interval",
            seconds=self.config.sync_tick_seconds,
            id="sync",
        )

    def sync_now(self) -> None:
        """Upload at once ("sync now" in the tray), whatever the schedule."""
        if self.sync is not None:
            self.sync.sync_now()
            self._scheduler.add_job(
                self._sync_tick, id="sync-now", replace_existing=True
            )

    def _sync_tick(self) -> None:
        if self.sync is None:
            return
        try:
            self.sync.tick()
        except StoreError:
            log.exception("sync failed on the store; retrying on the next tick")
        # A sync here or by `punchclock sync` may have stored a new policy.
        stamp = server_policy_stamp(self.paths)
        if stamp != self._policy_stamp:
            self._policy_stamp = stamp
            self.apply_settings(load_effective(self.paths).settings)

    def apply_settings(self, settings: Settings) -> None:
        """Apply a changed policy while running: the idle rules and the
        screenshots' encoding (blur) at once, the screenshots per slot from
        the next slot on."""
        self.config = replace(
            self.config, idle=settings.idle, screenshots=settings.screenshots
        )
        self.idle.policy = IdlePolicy.from_settings(settings.idle)
        # Rates, budgets and work limits the server sent apply on the next tick.
        self.timer.start_guard = StartGuard(settings)
        self.allowance.apply_settings(settings)
        per_slot = settings.screenshots.per_slot
        if self.screenshots is not None:
            # Blur, size and format at once: a policy asking for blur must
            # not wait for a restart.
            self.screenshots.apply(settings.screenshots)
        elif per_slot > 0:
            self.screenshots = self._make_screenshots()
            for listener in self._screenshot_listeners:
                if self.screenshots is not None:
                    self.screenshots.add_listener(listener)
        log.info(
            "settings applied: idle after %.0f s, %d screenshot(s) per slot",
            self.idle.policy.threshold_seconds,
            per_slot,
        )

    def stop(self, *, stop_timer: bool = True) -> None:
        """Stop the jobs; with ``stop_timer`` the running entry is closed now."""
        self._scheduler.shutdown(wait=True)
        if self.screenshots is not None:
            self.screenshots.close()
        if self.sync is not None:
            self.sync.close()
        if self.capture is not None:
            self.capture.stop()
        try:
            self.idle.close()
            if stop_timer:
                closed = self.timer.stop()
                if closed is not None:
                    self.spans.on_entry(None, closed.end or self.clock.now())
                    log.info("running entry closed at shutdown")
            self.timer.flush()
            self.spans.flush()
            self.activity.flush()
        except StoreError:
            log.exception("could not close the running entry at shutdown")
        finally:
            self._lock.release()
            log.info("agent stopped")

    def tick(self) -> None:
        """Once a second: clock jumps first, then changes from other processes."""
        try:
            self.watch.tick()
            version = self.store.data_version()
            if version != self._data_version or self.breaks.current_cached():
                # Breaks begun or ended elsewhere, overruns, reminder ends.
                self.breaks.tick()
                version = self.store.data_version()
            if version != self._data_version:
                self._data_version = version
                self._refresh()
                # `punchclock screenshots delete` from another process.
                serve_requests(self.store, self.delete_screenshot)
            if self.allowance.tick(self.current):
                self._refresh()  # stopped at a work limit or a used-up budget
            self._observe_input()
            if self.screenshots is not None:
                self.screenshots.tick()
        except StoreError:
            log.exception("tick failed; retrying on the next one")

    def _observe_input(self) -> None:
        """Input since the last tick: idle detection first, then activity."""
        source = self.capture.input if self.capture is not None else None
        idle_source = self.capture.idle if self.capture is not None else None
        marks = source.drain() if source is not None else None
        if marks is not None:
            # A running count for the screenshots' wallpaper check.
            self._typed_seconds = (self._typed_seconds or 0) + len(set(marks.keyboard))
        reading = None
        # A working input source sees all input; the OS idle time is asked
        # only without one, or where it can say the session is locked.
        if idle_source is not None and (marks is None or idle_source.reports_lock):
            reading = idle_source.read()
        passive = self._passive_focused()
        last_input = marks.last_input if marks is not None else None
        observing = marks is not None
        if self.idle.tick(
            self.current, last_input, reading, passive, observing=observing
        ):
            self._refresh()
        self.activity.record(self.current, marks, reading, passive)
        active = _active_seconds(marks.keyboard + marks.mouse if marks else None)
        if marks is None and reading is not None:
            active = 1 if reading.seconds < 1.5 else 0
        counting = self.current is not None
        self.reminders.tick(active, self._holding(), counting=counting)

    def _holding(self) -> bool:
        """A full-screen window or a presentation or call app has the focus."""
        if self.fullscreen_probe():
            return True
        sample = self.capture.focus.current() if self.capture is not None else None
        if sample is None:
            return False
        if sample.fullscreen:
            return True
        hold_apps = self.config.reminders.hold_apps
        return is_hold_app(hold_apps, sample.app, sample.wm_class)

    def _passive_focused(self) -> bool:
        if self.capture is None:
            return False
        sample = self.capture.focus.current()
        if sample is None:
            return False
        return self.idle.policy.is_passive(sample.app, sample.wm_class)

    def flush(self) -> None:
        """Confirm the running entry and write the spans recorded since."""
        try:
            # One transaction: the writes below join it (Store.write).
            with self.store.write():
                self.timer.flush()
                self.spans.flush()
                self.activity.flush()
            self._publish_health()
        except StoreError:
            log.exception("flush failed; what was recorded stays in memory")

    # The idle prompt, for the tray (ui/idle_prompt.py). Any thread may call.

    def pending_idle(self) -> IdlePrompt | None:
        """The oldest unanswered idle period; never touches the store."""
        return self.idle.pending()

    def resolve_idle(self, period_id: int, answer: IdleAnswer) -> None:
        """Apply the worker's answer once; see :meth:`IdleMonitor.resolve`."""
        self.idle.resolve(period_id, answer)
        self._refresh()

    def add_idle_listener(self, listener: PromptListener) -> None:
        """Called on an agent thread whenever the pending prompt changes."""
        self.idle.add_listener(listener)

    # Breaks and reminders, for the tray (ui/break_countdown.py,
    # ui/break_reminder.py). Any thread may call.

    def break_choices(self) -> list[Availability]:
        """Every break policy with whether it may be taken now, and why not."""
        return self.breaks.choices()

    def start_break(self, policy: str | None = None) -> BreakView:
        """Pause the running entry under ``policy``; see :meth:`Breaks.start`."""
        view = self.breaks.start(policy, tracked=True)
        self._refresh()
        return view

    def stop_break(self) -> BreakView | None:
        """End the break; the entry continues on the same project and task."""
        view = self.breaks.stop(tracked=True)
        self._refresh()
        return view

    def current_break(self) -> BreakView | None:
        """The open break as of the last tick; never touches the store."""
        return self.breaks.current_cached()

    def capture_paused(self) -> bool:
        """True while on a break: capture and screenshots must wait."""
        return self.breaks.capture_paused

    def add_break_listener(self, listener: BreakListener) -> None:
        """Called with the open break (or None) on a change; on an agent
        thread, or the caller's for :meth:`start_break` and :meth:`stop_break`."""
        self.breaks.add_listener(listener)

    def pending_reminder(self) -> Reminder | None:
        return self.reminders.pending()

    def answer_reminder(
        self, kind: ReminderKind, action: ReminderAction
    ) -> BreakView | None:
        """Take, postpone or skip the shown reminder; taking it while the
        timer runs records a break that ends by itself after its length."""
        reminder = self.reminders.answer(kind, action)
        if action is not ReminderAction.TAKE or self.timer.current() is None:
            return None
        policy = BreakPolicy(
            reminder.policy_name, self.config.reminders.paid, reminder.seconds / 60
        )
        view = self.breaks.start(tracked=True, origin=Origin.REMINDER, policy=policy)
        self._refresh()
        return view

    def add_reminder_listener(self, listener: ReminderListener) -> None:
        """Called on an agent thread when the reminder to show changes."""
        self.reminders.add_listener(listener)

    def _on_break(self, current: BreakView | None) -> None:
        """A break that ended counts as a natural break for the reminders."""
        previous, self._last_break = self._last_break, current
        if current is not None:
            log.info("on a break under %r since %s", current.policy, current.start)
        if current is None and previous is not None:
            log.info("the break under %r is over", previous.policy)
            ended = previous.elapsed(self.clock.now())
            self.reminders.on_break_ended(ended)

    def project_choices(self) -> list[ProjectView]:
        """Active projects and tasks, for assigning idle time."""
        return Projects(self.store, self.clock).all()

    def capture_health(self) -> list[CaptureHealth]:
        """Every capture source's health; empty when capture is not running."""
        if self.capture is None:
            return []
        health = self.capture.health()
        if self.screenshots is not None:
            health.append(self.screenshots.health())
        elif self.capture.screenshot is not None:
            health.append(self.capture.screenshot.health())
        return health

    # Consent given or withdrawn while the agent runs (the tray's consent
    # dialog, `punchclock consent`). Both block while sources start or stop:
    # call them off the UI thread.

    def enable_capture(self, capture: CaptureSet) -> None:
        """Start ``capture`` now: focus, input and idle on the next tick, and
        screenshots, whose service is made here as it is at construction."""
        if self.capture is not None:
            return
        capture.start(self.spans.on_sample)
        self.capture = capture
        if self.screenshots is None:
            self.screenshots = self._make_screenshots()
            for listener in self._screenshot_listeners:
                if self.screenshots is not None:
                    self.screenshots.add_listener(listener)
        log.info("capture started (consent given while running)")
        self._publish_health()

    def disable_capture(self) -> None:
        """Stop every capture source and screenshots; close the open span."""
        capture, self.capture = self.capture, None
        screenshots, self.screenshots = self.screenshots, None
        if screenshots is not None:
            screenshots.close()
        if capture is None:
            return
        capture.stop()
        # Time after withdrawal has no app: the open span ends now.
        nothing = FocusSample(
            at=self.clock.now(), mono=self.clock.monotonic(), app=None
        )
        self.spans.on_sample(nothing)
        self.spans.flush()
        log.info("capture stopped (consent withdrawn)")
        self._publish_health()

    # Screenshots, for the tray (ui/screenshot_notice.py). Any thread may call.

    def add_screenshot_listener(self, listener: NoticeListener) -> None:
        """Called on the screenshot thread after each stored screenshot."""
        self._screenshot_listeners.append(listener)
        if self.screenshots is not None:
            self.screenshots.add_listener(listener)

    def delete_screenshot(self, shot_id: int) -> Deletion:
        """The worker deletes a screenshot within the grace period; by policy
        the slot's time goes with it (agent/screenshots.py).

        One write transaction: the tick's flush cannot slip in between what
        the recorders hand over and the cut that removes it from the slot.
        """
        if self.screenshots is None:
            raise UserError("screenshots are off")
        now = self.clock.now()
        try:
            with self.store.write():
                window = self.screenshots.deletion_window(shot_id, now)
                reopened = self._hand_over_recorders(window, now)
                deletion = self.screenshots.delete(
                    shot_id, now=now, reopened_at=reopened
                )
        except StoreError:
            # Nothing was cut: the span recorder goes on with the running entry.
            self.spans.on_entry(self.current, now)
            raise
        # Committed: what the next slot counted before the cut now belongs to
        # the entry carrying the work on, and the recorder adds to it.
        self.activity.take_carried(deletion.carried)
        self._refresh()
        return deletion

    def _hand_over_recorders(
        self, window: tuple[datetime, datetime] | None, now: datetime
    ) -> datetime | None:
        """Spans and slots recorded so far go to the store before a cut.

        When the running entry is cut, its open span ends now and its slots
        stop at the cut: the recorders start afresh on the entry that carries
        it on (``_refresh``), and nothing of the cut time stays in memory to
        be written back. Returns when the open span was ended, if it was.
        """
        if window is None:
            return None
        running, reopened = self.current, None
        if running is not None and running.start < window[1]:
            self.spans.on_entry(None, now)
            self.activity.on_entry_closed(running.id, window[0])
            reopened = now
        self.spans.flush()
        self.activity.flush()
        return reopened

    def _make_screenshots(self) -> ScreenshotService | None:
        source = self.capture.screenshot if self.capture is not None else None
        settings = self.config.screenshots
        if source is None or settings.per_slot == 0:
            return None
        if source.health().state is HealthState.OFF:
            return None
        return ScreenshotService(
            self.store,
            self.clock,
            self.paths.screenshots_dir,
            settings,
            self.config.activity.slot_minutes,
            source,
            self._screenshot_conditions,
        )

    def _screenshot_conditions(self) -> Conditions:
        current = self.current
        focus = self.capture.focus.current() if self.capture is not None else None
        return conditions(
            current.id if current is not None else None,
            away=self.idle.away,
            on_break=break_open(self.store),
            focus=focus,
            typed=self._typed_seconds,
        )

    def _publish_health(self) -> None:
        """Keep the health where other processes (doctor, the CLI) can read it."""
        items = self.capture_health()
        health = [health_dict(item) for item in items]
        if health == self._published_health:
            return
        with self.store.write() as session:
            session.merge(Meta(key="capture_health", value=json.dumps(health)))
        self._published_health = health
        for item in items:
            if item.state is HealthState.UNAVAILABLE:
                log.warning("capture %s: %s %s", item.source, item.state, item.reason)
        for listener in self._health_listeners:
            listener(items)

    def _on_clock_jump(self, jump: ClockJump) -> None:
        self.timer.on_clock_jump(jump)
        self.idle.on_clock_jump(jump)
        self.breaks.on_clock_jump(jump)
        self._refresh()

    def _refresh(self) -> None:
        current = self.timer.current()
        with self._state_lock:
            previous = self._current
            changed = _identity(current) != _identity(previous)
            self._current = current
        if changed:
            self.spans.on_entry(current, self._edge(previous, current))
            # A stopped or switched entry's last span is written now, so a
            # report read right after `punchclock stop` is complete.
            self.spans.flush()
            log.info(
                "running entry: %s",
                f"{current.project!r} since {current.start}" if current else "none",
            )
            for listener in self._listeners:
                listener(current)

    def _edge(self, previous: EntryView | None, current: EntryView | None) -> datetime:
        """Where the previous entry ended: the open span ends there too."""
        if current is not None:
            return current.start
        if previous is not None:
            try:
                ended = self.timer.get(previous.id).end
            except PunchclockError:
                ended = None
            if ended is not None:
                return ended
        return self.clock.now()


def health_dict(health: CaptureHealth) -> dict[str, str]:
    return {
        "source": health.source,
        "backend": health.backend,
        "state": str(health.state),
        "reason": health.reason,
        "fix": health.fix,
    }


def _active_seconds(seconds: tuple[int, ...] | None) -> int:
    return len(set(seconds)) if seconds else 0


def _identity(entry: EntryView | None) -> tuple[object, ...] | None:
    if entry is None:
        return None
    return (entry.id, entry.project, entry.task, entry.note, entry.end)
