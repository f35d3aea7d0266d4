"""What the widgets may ask of the agent, in one place.

Plain Python over the agent's services (:class:`~agent.timer.Timer`,
:class:`~agent.projects.Projects`, :mod:`agent.reporting`,
:class:`~agent.consent.Consent`); never the ORM. Every method may block on
the store, so the UI calls them through :class:`ui.commands.CommandRunner`
(off the UI thread), except the cheap reads named as such.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from agent.breaks import Availability, BreakView
from agent.consent import META_KEY as CONSENT_KEY
from agent.consent import Collection, Consent, ConsentState
from agent.errors import UserError
from agent.idle import IdleAnswer, IdlePrompt
from agent.paths import Paths
from agent.projects import Projects, ProjectView
from agent.reminders import Reminder, ReminderAction, ReminderKind
from agent.reporting import collect_report
from agent.screenshots import Deletion, LastCapture, last_capture
from agent.service import Agent
from agent.settings import Settings, load_settings, save_settings
from agent.store import Store
from agent.timeparse import zone
from agent.timer import EntryView, Timer
from capture.base import CaptureHealth

if TYPE_CHECKING:
    from agent.timeline import StoreSource
    from sync.outbox import Quarantined
    from sync.signin import SignedIn, SignIn

log = logging.getLogger(__name__)

RECENT_DAYS = 14
RECENT_LIMIT = 5
WEEKDAYS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)

HealthProbe = Callable[[], list[CaptureHealth]]

# The settings the settings dialog offers, as ``section.key``.
DIALOG_KEYS = (
    "sync.server_url",
    "idle.threshold_minutes",
    "general.time_zone",
    "capture.title_level",
    "capture.private_apps",
)


@dataclass(frozen=True)
class Choice:
    """A project, or one of its tasks, to clock in on."""

    project: str
    task: str | None = None

    @property
    def label(self) -> str:
        return f"{self.project} / {self.task}" if self.task else self.project


@dataclass(frozen=True)
class Totals:
    today_seconds: float
    week_seconds: float


@dataclass(frozen=True)
class SyncStatus:
    """What the tray's sync line says, read from the published sync state."""

    server: str = ""
    waiting: int = 0
    quarantined: int = 0
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    last_error: str | None = None
    offline: bool = False
    needs_action: bool = False

    @property
    def configured(self) -> bool:
        return bool(self.server)


@dataclass(frozen=True)
class LiveState:
    """The agent's in-memory state the dialogs follow, read once at start-up
    (the agent's listeners announce every later change)."""

    idle_prompt: IdlePrompt | None = None
    reminder: Reminder | None = None
    on_break: BreakView | None = None
    away: bool = False


class Services:
    """The agent's services as the tray app uses them."""

    def __init__(
        self,
        paths: Paths,
        settings: Settings,
        store: Store,
        timer: Timer,
        projects: Projects,
        consent: Consent,
        health: HealthProbe,
        now: Callable[[], datetime],
        agent: Agent | None = None,
    ) -> None:
        self.paths = paths
        self.agent = agent
        self.settings = settings
        self._store = store
        self.timer = timer
        self.projects = projects
        self.consent = consent
        self._health = health
        self._now = now
        self._peek = _MetaPeek(store.path)

    @classmethod
    def for_agent(cls, agent: Agent, settings: Settings) -> Services:
        return cls(
            paths=agent.paths,
            settings=settings,
            store=agent.store,
            timer=agent.timer,
            projects=Projects(agent.store, agent.clock),
            consent=Consent(agent.store, agent.clock),
            health=agent.capture_health,
            now=agent.clock.now,
            agent=agent,
        )

    # the timer

    def start(self, choice: Choice, note: str | None = None) -> EntryView:
        self.consent.check_timer(self.collection())
        return self.timer.start(choice.project, choice.task, note)

    def stop(self) -> EntryView | None:
        return self.timer.stop()

    def set_note(self, note: str) -> EntryView:
        return self.timer.set_note(note)

    def current(self) -> EntryView | None:
        return self.timer.current()

    # projects and tasks

    def choices(self) -> list[Choice]:
        """Every open project and each of its open tasks, projects first."""
        choices: list[Choice] = []
        for project in self.projects.all():
            choices.append(Choice(project.name))
            choices += [Choice(project.name, task.name) for task in project.tasks]
        return choices

    def all_projects(self) -> list[ProjectView]:
        return self.projects.all()

    def add_project(self, name: str, task: str | None) -> Choice:
        known = {p.name.lower(): p for p in self.projects.all(include_archived=True)}
        existing = known.get(" ".join(name.split()).lower())
        if existing is None:
            view = self.projects.add(name, [task] if task else [])
            return Choice(view.name, task)
        if task and task.lower() not in {t.name.lower() for t in existing.tasks}:
            self.projects.add(existing.name, [task])
        return Choice(existing.name, task)

    def recent(self, limit: int = RECENT_LIMIT) -> list[Choice]:
        """What was clocked on lately, most recent first, without repeats."""
        now = self._now()
        entries = self.timer.entries(now - timedelta(days=RECENT_DAYS), now)
        open_names = {p.name for p in self.projects.all()}
        seen: list[Choice] = []
        for entry in reversed(entries):
            choice = Choice(entry.project, entry.task)
            if choice not in seen and entry.project in open_names:
                seen.append(choice)
            if len(seen) >= limit:
                break
        return seen

    # totals

    def tz(self) -> ZoneInfo:
        return zone(self.settings.general.time_zone)

    def totals(self) -> Totals:
        tz, now = self.tz(), self._now()
        today = now.astimezone(tz).date()
        week_start = WEEKDAYS.index(self.settings.general.week_start)
        first = today - timedelta(days=(today.weekday() - week_start) % 7)
        day = collect_report(self._store, "day", tz, today, today, now)
        week = collect_report(self._store, "day", tz, first, today, now)
        return Totals(day.total_seconds, week.total_seconds)

    # consent and capture

    def collection(self) -> Collection:
        return Collection.from_settings(self.settings)

    def consent_state(self) -> ConsentState:
        return self.consent.state(self.collection())

    def data_version(self) -> int:
        """Changes whenever another process commits (cheap; any thread)."""
        return self._store.data_version()

    def consent_marker(self) -> str | None:
        """The stored consent answer as text: it changes whenever consent is
        given or withdrawn, here or from a terminal. Cheap (one plain SQL
        read, no ORM; any thread); None when it cannot be read."""
        return self._peek.value(CONSENT_KEY)

    def close(self) -> None:
        self._peek.close()

    def capture_health(self) -> list[CaptureHealth]:
        """Cheap: the running sources' health, as the agent last knew it."""
        return self._health()

    # breaks, idle and reminders: the agent's own calls. Each may write to
    # the store; the dialogs' answers run on the UI thread by their design
    # (one short transaction), the menu's through the command runner.

    def break_choices(self) -> list[Availability]:
        return self.agent.break_choices() if self.agent is not None else []

    def start_break(self, policy: str) -> BreakView:
        return self._live().start_break(policy)

    def stop_break(self) -> BreakView | None:
        return self._live().stop_break()

    def resolve_idle(self, period_id: int, answer: IdleAnswer) -> None:
        self._live().resolve_idle(period_id, answer)

    def answer_reminder(
        self, kind: ReminderKind, action: ReminderAction
    ) -> BreakView | None:
        return self._live().answer_reminder(kind, action)

    def delete_screenshot(self, shot_id: int) -> Deletion:
        return self._live().delete_screenshot(shot_id)

    def screenshot_grace_seconds(self) -> int:
        """How long a screenshot may be deleted after it is taken, as the
        running agent applies it (a server policy may have changed it)."""
        if self.agent is not None:
            return self.agent.config.screenshots.grace_seconds
        return self.settings.screenshots.grace_seconds

    def last_capture(self) -> LastCapture | None:
        """Off the UI thread: the newest screenshot and its thumbnail files."""
        return last_capture(self._store, self.paths.screenshots_dir)

    def live_state(self) -> LiveState:
        """Off the UI thread: the idle monitor's lock is held during its writes."""
        agent = self.agent
        if agent is None:
            return LiveState()
        return LiveState(
            agent.pending_idle(),
            agent.pending_reminder(),
            agent.breaks.current(),
            agent.idle.away,
        )

    def _live(self) -> Agent:
        if self.agent is None:
            raise UserError("the agent is not running in this window")
        return self.agent

    # sync

    def sync_status(self) -> SyncStatus:
        """The published sync state and the outbox now (reads the store)."""
        from sync.outbox import Outbox
        from sync.service import read_state

        server = self.settings.sync.server_url
        state = read_state(self._store) or {}
        counts = Outbox(self._store).counts(self._now())
        return SyncStatus(
            server=server,
            waiting=counts.waiting,
            quarantined=counts.quarantined,
            last_success=_moment(state.get("last_success")),
            last_attempt=_moment(state.get("last_attempt")),
            last_error=_text(state.get("last_error")),
            offline=bool(state.get("offline", False)),
            needs_action=bool(state.get("needs_action", False)),
        )

    def sync_now(self) -> None:
        """Asks the agent's scheduler for an upload; returns at once."""
        if self.agent is not None:
            self.agent.sync_now()

    def quarantined(self) -> list[Quarantined]:
        """The records the server rejected, oldest first (reads the store)."""
        from sync.outbox import Outbox

        return Outbox(self._store).quarantined()

    def retry_quarantined(self) -> int:
        """As `punchclock sync --retry`: the rejected records go back in line
        and an upload is asked for; returns how many went back."""
        from sync.outbox import Outbox

        released = Outbox(self._store).release_quarantined()
        log.info("%d quarantined record(s) put back in line from the tray", released)
        self.sync_now()
        return released

    # settings

    def save_settings(self, chosen: Settings, locked: frozenset[str]) -> None:
        """Write what the worker changed into the worker's own file.

        ``chosen`` is the settings in force (policy applied) with the
        dialog's values; only the fields the dialog offers, and of those only
        the ones policy does not lock, go into the worker's file. The running
        agent takes ``chosen`` at once; it may block on its locks, so call
        this off the UI thread.
        """
        worker = load_settings(self.paths).settings
        for key in DIALOG_KEYS:
            if key not in locked:
                worker = _with_value(worker, key, _value(chosen, key))
        save_settings(self.paths, worker)
        self.settings = chosen
        # The idle threshold and the rest apply now, not at the next start.
        if self.agent is not None:
            self.agent.apply_settings(chosen)
        log.info("settings changed from the tray app")

    def sign_in(self, url: str, key: str) -> SignedIn:
        """Sign in as `punchclock sync login URL --key KEY` does (network
        and store: off the UI thread); the server goes into the worker's own
        settings file, and the running agent's sync follows on its next tick.
        Raises :class:`~agent.errors.UserError` or
        :class:`~sync.signin.SignInError` with what to do."""
        from sync.signin import SignIn, sign_in

        target = self.settings.sync.target
        request = SignIn(url, key, target, self.settings.sync.allow_insecure_http)
        done = sign_in(self.paths, self._store, self._now, request, self._remember)
        log.info("signed in to %s from the tray app", done.url)
        return done

    def _remember(self, request: SignIn) -> None:
        worker = load_settings(self.paths).settings
        save_settings(self.paths, _signed_in(worker, request))
        self.settings = _signed_in(self.settings, request)

    def now(self) -> datetime:
        return self._now()

    def timeline_source(self) -> StoreSource:
        """The store as the timeline window reads it (on the Qt thread)."""
        from agent.timeline import StoreSource

        return StoreSource(
            self._store, self.paths.screenshots_dir, self.tz(), self._now
        )


class _MetaPeek:
    """Reads one ``meta`` value over a read-only connection of its own.

    The consent poll asks every 2 s while the store changes (every flush
    and span): through the ORM each read cost a session and a pool
    thread's turn; this is a prepared SELECT in SQLite's WAL mode, which
    never waits for the agent's writes.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def value(self, key: str) -> str | None:
        with self._lock:
            try:
                if self._connection is None:
                    uri = f"{self._path.absolute().as_uri()}?mode=ro"
                    self._connection = sqlite3.connect(
                        uri, uri=True, check_same_thread=False
                    )
                row = self._connection.execute(
                    "SELECT value FROM meta WHERE key = ?", (key,)
                ).fetchone()
            except sqlite3.Error as error:
                log.warning("cannot read %s from the store: %s", key, error)
                return None
        return str(row[0]) if row is not None and row[0] is not None else None

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


@dataclass(frozen=True)
class Snapshot:
    """Everything the tray shows, read at once off the UI thread."""

    at: datetime
    current: EntryView | None
    projects: tuple[ProjectView, ...]
    recent: tuple[Choice, ...]
    totals: Totals
    consent: ConsentState
    health: tuple[CaptureHealth, ...]
    breaks: tuple[Availability, ...] = ()
    sync: SyncStatus = SyncStatus()


def take_snapshot(services: Services) -> Snapshot:
    return Snapshot(
        at=services.now(),
        current=services.current(),
        projects=tuple(services.all_projects()),
        recent=tuple(services.recent()),
        totals=services.totals(),
        consent=services.consent_state(),
        health=tuple(services.capture_health()),
        breaks=tuple(services.break_choices()),
        sync=services.sync_status(),
    )


def _signed_in(settings: Settings, request: SignIn) -> Settings:
    sync = dataclasses.replace(
        settings.sync,
        server_url=request.url,
        target=request.target,
        allow_insecure_http=request.allow_insecure_http,
    )
    return dataclasses.replace(settings, sync=sync)


def _value(settings: Settings, key: str) -> object:
    section, name = key.split(".")
    return getattr(getattr(settings, section), name)


def _with_value(settings: Settings, key: str, value: object) -> Settings:
    section, name = key.split(".")
    changed = dataclasses.replace(getattr(settings, section), **{name: value})
    return dataclasses.replace(settings, **{section: changed})


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        log.warning("sync state has an unreadable time: %r", value)
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
