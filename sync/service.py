"""Sync as the agent runs it: built from the settings, ticked by the scheduler.

:func:`build_uploader` turns the ``[sync]`` settings and the stored token
into an :class:`~sync.uploader.Uploader` (or a :class:`ConfigError` saying
what is missing). :class:`SyncService` decides when to upload: shortly after
each slot ends, at a per-agent offset so a fleet does not upload all at
once; again after a failure once its backoff has passed; and at once on
"sync now". Its state is published in the store's meta table, where the CLI,
the tray and ``doctor`` read it whether or not they run in this process. It
follows `punchclock sync login` and `logout` while the agent runs (the
settings file they rewrite), and with each upload applies what the server
pushes (:mod:`sync.pushed`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: the agent's instance lock is the guard there
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import select

from agent.clock import Clock
from agent.paths import Paths, open_private
from agent.policy import load_effective
from agent.settings import SyncSettings, load_settings
from agent.store import Store
from agent.store.models import Meta, Project, Task
from agent.store.outbox import is_queueing, start_queueing
from sync.backoff import agent_jitter
from sync.errors import ConfigError, SyncError
from sync.outbox import Outbox
from sync.pushed import Pushed, refresh
from sync.targets import Target
from sync.tokens import TokenStore
from sync.uploader import (
    SyncReport,
    SyncState,
    Uploader,
    UploaderConfig,
    next_sync_after,
)

log = logging.getLogger(__name__)

STATE_KEY = "sync_state"
# Uploads start within this many seconds after a slot ends, per agent.
JITTER_SPREAD_S = 120.0


@contextlib.contextmanager
def upload_lock(paths: Paths) -> Iterator[None]:
    """One upload at a time across processes (the agent and the CLI).

    Protocol v1 uploads are idempotent, but ActivityWatch inserts are not:
    two processes sending the same batch at once would double it there.
    """
    path = paths.data_dir / "sync.lock"
    with os.fdopen(open_private(path), "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class StoreSink:
    """Publishes the sync state into the store's meta table."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._last: str | None = None

    def publish(self, state: SyncState) -> None:
        """Store ``state``; a run that has not succeeded yet (a new process:
        the agent restarted, a `punchclock sync`) keeps the last success
        already stored for the same target instead of erasing it."""
        if state.last_success is None:
            stored = read_state(self._store) or {}
            if stored.get("target") == state.target:
                state.last_success = stored.get("last_success")
        value = json.dumps(state.to_dict())
        if value == self._last:
            return
        with self._store.write() as session:
            session.merge(Meta(key=STATE_KEY, value=value))
        self._last = value


def read_state(store: Store) -> dict[str, Any] | None:
    value = store.meta(STATE_KEY)
    if not value:
        return None
    try:
        state = json.loads(value)
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def build_target(
    settings: SyncSettings, store: Store, tokens: TokenStore, **kwargs: Any
) -> Target:
    """The target the settings name; :class:`ConfigError` says what is missing."""
    if not settings.server_url:
        raise ConfigError("no server is set: sign in with `punchclock sync login URL`")
    allow = settings.allow_insecure_http
    if settings.target == "activitywatch":
        from sync.targets.activitywatch import ActivityWatchTarget

        return ActivityWatchTarget(
            settings.server_url,
            names=NameLookup(store),
            hostname=socket.gethostname(),
            allow_insecure_http=allow,
            **kwargs,
        )

    from sync.targets.punchclock import PunchclockTarget

    token = tokens.load(settings.server_url)
    if token is None:
        raise ConfigError(
            f"not signed in to {settings.server_url}: run `punchclock sync login "
            f"{settings.server_url} --key KEY`"
        )
    return PunchclockTarget(
        settings.server_url, token, allow_insecure_http=allow, **kwargs
    )


def build_uploader(
    paths: Paths,
    settings: SyncSettings,
    store: Store,
    clock: Clock,
    tokens: TokenStore | None = None,
    **kwargs: Any,
) -> Uploader:
    tokens = tokens or TokenStore(paths.config_dir)
    target = build_target(settings, store, tokens, **kwargs)
    grace = load_settings(paths).settings.screenshots.grace_seconds
    ensure_queueing(store, clock, timedelta(seconds=grace))
    config = UploaderConfig(
        batch_count=settings.batch_size,
        batch_bytes=settings.batch_bytes,
        screenshots_dir=paths.screenshots_dir,
    )
    return Uploader(Outbox(store), target, clock, config, sink=StoreSink(store))


def ensure_queueing(
    store: Store, clock: Clock, screenshot_grace: timedelta | None = None
) -> int:
    """Queue records for upload when a server is set but queueing is off.

    `punchclock sync login` turns queueing on; a server set another way (the
    settings dialog, an ActivityWatch address, a store from a version that
    queued everything) gets it here, with the history queued once. When this
    store uploaded before, that history may be on the server already, and is
    queued as possibly sent (see :func:`agent.store.outbox.start_queueing`);
    a screenshot still in ``screenshot_grace`` is held until it ends.
    """
    with store.write() as session:
        if is_queueing(session):
            return 0
        uploaded_before = session.get(Meta, STATE_KEY) is not None
        return start_queueing(
            session,
            clock.now(),
            maybe_sent=uploaded_before,
            screenshot_grace=screenshot_grace,
        )


def fetch_pushed(
    target: Target, paths: Paths, store: Store, clock: Clock
) -> Pushed | None:
    """The policy and projects from the server, applied; None when the
    target pushes none or they could not be fetched (tried again with the
    next upload: what is applied stays in force meanwhile)."""
    try:
        return refresh(target, paths, store, clock)
    except SyncError as error:
        log.warning("the server's policy and projects were not fetched: %s", error)
        return None


class NameLookup:
    """Project and task names by wire id, for targets that want names."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __call__(self, kind: str, record_id: str) -> str | None:
        model = Project if kind == "project" else Task
        with self._store.read() as session:
            name = session.scalar(select(model.name).where(model.id == int(record_id)))
        return None if name is None else str(name)


@dataclass
class _Schedule:
    next_run: datetime | None = None


class SyncService:
    """Runs the uploader from the agent's scheduler; thread-safe."""

    def __init__(
        self,
        paths: Paths,
        settings: SyncSettings,
        store: Store,
        clock: Clock,
        tokens: TokenStore | None = None,
        *,
        slot_minutes: int,
    ) -> None:
        """``slot_minutes``: the agent's ``[activity] slot_minutes``, the
        slots whose ends the uploads follow."""
        self._paths = paths
        self._settings = settings
        self._store = store
        self._clock = clock
        self._tokens = tokens
        self._slot_minutes = slot_minutes
        self._uploader: Uploader | None = None
        self._schedule = _Schedule()
        self._now_requested = threading.Event()
        self._jitter = agent_jitter(store.store_id, JITTER_SPREAD_S)
        self.last_pushed: Pushed | None = None
        self._settings_stamp = _stamp(paths.settings_file)

    @property
    def jitter_s(self) -> float:
        """This agent's offset after each slot's end, in seconds."""
        return self._jitter

    @property
    def enabled(self) -> bool:
        return bool(self._settings.server_url)

    def sync_now(self) -> None:
        """Upload on the next tick, whatever the schedule or backoff says."""
        self._now_requested.set()

    def tick(self) -> SyncReport | None:
        """Called every few seconds; uploads only when it is time."""
        self._follow_settings()
        if not self.enabled:
            return None
        uploader = self._get_uploader()
        if uploader is None:
            return None

        now = self._clock.now()
        forced = self._now_requested.is_set()
        self._now_requested.clear()
        scheduled = self._schedule.next_run is None or now >= self._schedule.next_run
        retrying = uploader.state.last_error is not None and uploader.due()
        if not (forced or scheduled or retrying):
            return None

        with upload_lock(self._paths):
            if forced or uploader.due():
                # First, so that projects it adds or archives go up in this run.
                self.last_pushed = fetch_pushed(
                    uploader.target, self._paths, self._store, self._clock
                )
            report = uploader.run(force=forced)
        if not report.skipped:
            self._schedule.next_run = next_sync_after(
                now, self._slot_minutes, self._jitter
            )
            log.debug("next scheduled upload at %s", self._schedule.next_run)
        return report

    @property
    def next_run(self) -> datetime | None:
        """When the next scheduled upload is due (None: at the next tick)."""
        return self._schedule.next_run

    def close(self) -> None:
        if self._uploader is not None:
            self._uploader.target.close()

    def _follow_settings(self) -> None:
        """Sign-in and sign-out while the agent runs: `punchclock sync login`
        and `logout` rewrite the settings file; the next tick reads the
        ``[sync]`` settings again and starts over with them (a new token, a
        new server, or none: then nothing more goes up)."""
        stamp = _stamp(self._paths.settings_file)
        if stamp == self._settings_stamp:
            return
        self._settings_stamp = stamp
        fresh = load_effective(self._paths).settings.sync
        log.info("sync settings changed: server %s", fresh.server_url or "none")
        self.close()
        self._uploader = None
        self._schedule = _Schedule()
        self._settings = fresh

    def _get_uploader(self) -> Uploader | None:
        if self._uploader is not None:
            return self._uploader
        try:
            self._uploader = build_uploader(
                self._paths, self._settings, self._store, self._clock, self._tokens
            )
        except SyncError as error:
            # Nothing to retry until the worker signs in or fixes the
            # address; say so where the tray and doctor look.
            state = SyncState(last_error=str(error), needs_action=True)
            state.last_attempt = self._clock.now().isoformat()
            StoreSink(self._store).publish(state)
            log.warning("sync is not configured: %s", error)
            self._settings = _disabled(self._settings)
            return None
        return self._uploader


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """Changes whenever the file is rewritten (atomic saves: a new inode)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _disabled(settings: SyncSettings) -> SyncSettings:
    from dataclasses import replace

    return replace(settings, server_url="")
