"""Screenshots: random moments per slot, one capture at a time, stored
privately, deletable by the worker within the grace period.

How a screenshot comes about:

1. :class:`ShotSchedule` draws ``per_slot`` random moments inside each slot
   (one in each equal part of it), afresh for every slot. The agent's tick
   calls :meth:`ScreenshotService.tick` once a second; a moment that has come
   is handed to the worker thread. Moments of a slot that passed while the
   agent was not ticking (a suspend) are dropped, never taken late.
2. On the worker thread the :data:`Gate` says what the desktop is doing. No
   timer running: nothing happens. Idle, on a break, a private app or a
   private browser window in front: the shot is skipped, and a row with the
   reason (and no image) records it.
3. The source grabs every monitor. Blank frames (black or one colour: a
   missing permission, a Wayland session without the portal) are not
   stored as work; the first one makes the screenshot health a fault, with
   the reason and the fix, until a frame shows something again. Frames
   that show only the desktop background are caught by
   :class:`WallpaperWatch` (its docstring has the heuristic) and treated
   the same way.
4. Each frame is scaled, blurred where policy asks, encoded
   (:mod:`agent.screenshot_images`) and written 0600 under the screenshots
   directory with its thumbnail; its row is queued for upload not before
   the grace period ends.
5. The listeners (the tray's notification) get a :class:`ShotNotice`.
6. The disk budget is kept: uploaded images go first, oldest first. Images
   not yet uploaded are never removed; while only they fill the budget, new
   shots are skipped with the reason "disk budget full" and the health says
   so.

A scheduled and a manual capture that meet share one capture: the worker
runs one at a time, and a request made while one is under way gets that
one's result.

Deleting (:meth:`ScreenshotService.delete`) within the grace period removes
the capture's files (every monitor), keeps the rows as the audit record
(when, by whom, no image) and, where policy says so, takes the slot's time
so far out: the entries in it are cut as the idle "discard" cuts them
(:func:`agent.timer.cut_out`), their focus spans there are dropped and their
activity in the slot zeroed, in one transaction, queued for upload.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.orm import Session

from agent.activity import CarriedSlot, carry_over_slots, slot_start
from agent.clock import Clock
from agent.errors import NotFoundError, UserError
from agent.ids import new_id
from agent.paths import ensure_private_dir, write_private
from agent.settings import ScreenshotSettings
from agent.store import Store
from agent.store.models import Break, Entry, OutboxItem, Screenshot, Slot, Span
from agent.store.outbox import enqueue
from agent.timer import Cut, cut_out

if TYPE_CHECKING:
    from PIL import Image

    from agent.screenshot_images import Encoded, EncodeOptions, Look
from capture.base import CaptureHealth, FocusSample
from capture.screenshot import SOURCE, Frame, GrabError, ScreenshotSource

log = logging.getLogger(__name__)

KIND = "screenshot"
# The audit record of a deleted shot (sync protocol v1, no image).
DELETION_KIND = "screenshot_deletion"

SKIP_IDLE = "idle"
SKIP_BREAK = "on a break"
SKIP_PRIVATE_APP = "private app in focus"
SKIP_PRIVATE_WINDOW = "private browser window in focus"
SKIP_DISK_FULL = "disk budget full"
SKIP_WALLPAPER = "wallpaper-only frame"
# Seconds of typing between two shots that must show on the screen: echoed
# text, a moving caret. A few seconds could go to a field that shows
# nothing (a password); twenty cannot.
TYPED_EVIDENCE_SECONDS = 20

BLANK_FIX = (
    "on macOS allow Punchclock under System Settings → Privacy & Security → "
    "Screen Recording; on Wayland allow screenshots for Punchclock in the "
    "desktop's settings or log in to an X11 session; check the screen is on"
)
DISK_FULL_FIX = (
    "let the screenshots upload (check the connection in the tray), or raise "
    "screenshots.disk_budget_mb"
)


# -- what the desktop is doing ---------------------------------------------------


@dataclass(frozen=True)
class Conditions:
    """Whether a shot may be taken now: the running entry, or why not.

    ``entry_id`` None with no ``skip`` means no timer runs: nothing to record.
    """

    entry_id: int | None
    skip: str | None = None
    # What has the focus (app, window, title), for WallpaperWatch; None
    # where no focus source runs.
    focus: str | None = None
    # Seconds with keyboard input so far (a running count), for
    # WallpaperWatch; None where no input source runs.
    typed: int | None = None


Gate = Callable[[], Conditions]


def conditions(
    entry_id: int | None,
    *,
    away: bool,
    on_break: bool,
    focus: FocusSample | None,
    typed: int | None = None,
) -> Conditions:
    """The rules of item 1 of the issue, in the order they are checked."""
    if away:
        return Conditions(entry_id, SKIP_IDLE)
    if on_break:
        return Conditions(entry_id, SKIP_BREAK)
    if entry_id is None:
        return Conditions(None)
    if focus is not None and focus.private:
        return Conditions(entry_id, SKIP_PRIVATE_APP)
    if focus is not None and focus.incognito:
        return Conditions(entry_id, SKIP_PRIVATE_WINDOW)
    return Conditions(entry_id, focus=focus_key(focus), typed=typed)


def focus_key(focus: FocusSample | None) -> str | None:
    """What is in front, as one comparable string (never stored)."""
    if focus is None:
        return None
    return f"{focus.app}\x1f{focus.window_id}\x1f{focus.title}"


def break_open(store: Store) -> bool:
    """True while a break (of any policy) has begun and not ended."""
    with store.read() as session:
        found = session.scalar(select(Break.id).where(Break.end.is_(None)).limit(1))
    return found is not None


# -- the schedule ------------------------------------------------------------------


def draw_moments(
    start: datetime, seconds: float, count: int, rng: random.Random
) -> list[datetime]:
    """``count`` moments in [start, start + seconds), one per equal part."""
    part = seconds / count if count else 0.0
    return [
        start + timedelta(seconds=part * i + rng.random() * part) for i in range(count)
    ]


class ShotSchedule:
    """The random moments of the current slot; not thread-safe (the tick's)."""

    def __init__(self, slot_minutes: int, per_slot: int, rng: random.Random) -> None:
        self.slot_minutes = slot_minutes
        self.per_slot = per_slot
        self._rng = rng
        self._slot: datetime | None = None
        self._moments: list[datetime] = []

    @property
    def slot(self) -> datetime | None:
        return self._slot

    @property
    def moments(self) -> list[datetime]:
        """The moments of the current slot not yet due."""
        return list(self._moments)

    def due(self, now: datetime) -> list[datetime]:
        """The moments that have come; a new slot draws new moments first."""
        start = slot_start(now, self.slot_minutes)
        if start != self._slot:
            self._slot = start
            seconds = self.slot_minutes * 60.0
            self._moments = draw_moments(start, seconds, self.per_slot, self._rng)
            log.debug("slot %s: screenshots at %s", start, self._moments)
        come = [moment for moment in self._moments if moment <= now]
        self._moments = [moment for moment in self._moments if moment > now]
        return come


# -- wallpaper-only frames ---------------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    fingerprints: tuple[Image.Image, ...]
    focus: str | None
    typed: int | None
    shot_ids: tuple[int, ...]


class WallpaperWatch:
    """Recognises captures that show only the desktop background.

    A desktop that hides the windows from a screen grab (Wayland without the
    portal, macOS without Screen Recording) hands back its wallpaper: a
    picture with content, so the blank test passes it. The heuristic:

    1. A capture is compared with the previous stored capture of the same
       monitors, by fingerprint (:func:`~agent.screenshot_images.look`).
       The same picture on every monitor while the focused window (app,
       window or title) changed between the two, or while the worker typed
       for :data:`TYPED_EVIDENCE_SECONDS` or more, cannot come from a real
       grab: a focus change alone repaints title bars and the new window
       shows; typed text appears. Both captures are then wallpaper-only.
    2. Their fingerprints are remembered as the wallpaper: a later capture
       showing that picture again on every monitor is wallpaper-only at
       once, whatever the focus did.

    A screen that simply did not change while the same window kept the
    focus (reading a long page) is never flagged: rule 1 needs the focus
    change or the typing, rule 2 a picture already proven to be the
    wallpaper. A monitor
    that only shows the background beside one with windows is not flagged
    either: the capture is judged as a whole. Not thread-safe: the
    screenshot worker's, one capture at a time.
    """

    def __init__(self) -> None:
        self._previous: _Seen | None = None
        self._known: list[Image.Image] = []

    def judge(
        self,
        fingerprints: list[Image.Image],
        focus: str | None,
        typed: int | None = None,
    ) -> tuple[str, tuple[int, ...]] | None:
        """The reason, and the stored shots this proves wallpaper-only too."""
        from agent.screenshot_images import same_picture

        if self._known and all(
            any(same_picture(f, known) for known in self._known) for f in fingerprints
        ):
            return "the frame shows only the desktop background seen before", ()
        previous = self._previous
        if previous is None:
            return None
        change = _what_changed(previous, focus, typed)
        if change is None or not _same_pictures(previous.fingerprints, fingerprints):
            return None
        self._known.extend(fingerprints)
        self._previous = None
        reason = (
            f"the picture stayed the same while {change}: "
            "the desktop shows its background instead of the windows"
        )
        return reason, previous.shot_ids

    def remember(
        self,
        fingerprints: list[Image.Image],
        focus: str | None,
        shot_ids: tuple[int, ...],
        typed: int | None = None,
    ) -> None:
        """A capture was stored as work: the next one is compared with it."""
        self._previous = _Seen(tuple(fingerprints), focus, typed, shot_ids)


def _what_changed(previous: _Seen, focus: str | None, typed: int | None) -> str | None:
    """What should have changed the picture since ``previous``, if anything."""
    if previous.focus is not None and focus is not None and previous.focus != focus:
        return "the focused window changed"
    typing = None if previous.typed is None or typed is None else typed - previous.typed
    if typing is not None and typing >= TYPED_EVIDENCE_SECONDS:
        return f"the keyboard was used for {typing} s"
    return None


def _same_pictures(first: tuple[Image.Image, ...], second: list[Image.Image]) -> bool:
    from agent.screenshot_images import same_picture

    return len(first) == len(second) and all(
        same_picture(a, b) for a, b in zip(first, second, strict=True)
    )


# -- what the worker sees ------------------------------------------------------------


@dataclass(frozen=True)
class ShotNotice:
    """A capture just stored: for the notification with its thumbnails."""

    shot_ids: tuple[int, ...]
    taken_at: datetime
    slot_start: datetime
    thumbnails: tuple[Path, ...]
    blurred: bool
    deletable_until: datetime | None
    removes_time: bool


@dataclass(frozen=True)
class Capture:
    """What one capture request came to: stored shots, or the skip reason."""

    taken_at: datetime
    slot_start: datetime
    shot_ids: tuple[int, ...] = ()
    skipped: str | None = None


@dataclass(frozen=True)
class Deletion:
    shot_ids: tuple[int, ...]
    deleted_at: datetime
    removed_seconds: float
    # The slot time taken out, when policy takes it with the image.
    window: tuple[datetime, datetime] | None = None
    # Later slots' activity moved to the entries carrying the cut ones on.
    carried: tuple[CarriedSlot, ...] = ()


NoticeListener = Callable[[ShotNotice], None]


# -- the service ----------------------------------------------------------------------


class ScreenshotService:
    """Schedules, takes, stores, prunes and deletes screenshots.

    Threads: :meth:`tick` on the agent's tick thread; captures on the
    service's own single worker thread; :meth:`take_now`, :meth:`delete`,
    :meth:`health` from any thread. Listeners run on the worker thread and
    must return quickly (the tray re-emits them as a Qt signal).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        screenshots_dir: Path,
        settings: ScreenshotSettings,
        slot_minutes: int,
        source: ScreenshotSource,
        gate: Gate,
        rng: random.Random | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._dir = screenshots_dir
        self._slot_minutes = slot_minutes
        # The policy and the encoding it asks for, replaced together (one
        # assignment) so the worker never sees one without the other.
        self._policy = (settings, _encoding(settings))
        self._source = source
        self._gate = gate
        self.schedule = ShotSchedule(
            slot_minutes, settings.per_slot, rng or random.SystemRandom()
        )
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="screenshot")
        self._lock = threading.Lock()
        self._running: Future[Capture | None] | None = None
        self._fault: CaptureHealth | None = None
        self._listeners: list[NoticeListener] = []
        self.wallpaper = WallpaperWatch()

    @property
    def settings(self) -> ScreenshotSettings:
        return self._policy[0]

    @settings.setter
    def settings(self, settings: ScreenshotSettings) -> None:
        """A new policy: the next capture is encoded by it (blur, size,
        format, quality), the grace and budget apply from now on."""
        self._policy = (settings, _encoding(settings))

    def apply(self, settings: ScreenshotSettings) -> None:
        """A changed policy while running: the encoding at once, the number
        of shots per slot from the next slot on."""
        self.settings = settings
        self.schedule.per_slot = settings.per_slot
        log.info(
            "screenshot policy applied: blur %s, %d px %s, %d per slot",
            "on" if settings.blur else "off",
            settings.width,
            settings.format,
            settings.per_slot,
        )

    def add_listener(self, listener: NoticeListener) -> None:
        self._listeners.append(listener)

    def tick(self) -> list[Future[Capture | None]]:
        """Hands every moment that has come to the worker; returns their futures."""
        futures = []
        for moment in self.schedule.due(self._clock.now()):
            log.debug("screenshot due at %s", moment)
            futures.append(self._submit())
        return futures

    def take_now(self) -> Future[Capture | None]:
        """A capture now, under the same rules; joins one under way."""
        return self._submit()

    def health(self) -> CaptureHealth:
        with self._lock:
            fault = self._fault
        return fault if fault is not None else self._source.health()

    def close(self) -> None:
        """Waits for a capture under way, then releases the grabber."""
        self._worker.shutdown(wait=True, cancel_futures=True)
        self._source.close()

    def _submit(self) -> Future[Capture | None]:
        with self._lock:
            if self._running is not None and not self._running.done():
                log.info("a capture is under way; this request shares it")
                return self._running
            self._running = self._worker.submit(self._capture_logged)
            return self._running

    # -- one capture, on the worker thread

    def _capture_logged(self) -> Capture | None:
        try:
            return self.capture()
        except Exception:
            log.exception("screenshot capture failed")
            raise

    def capture(self) -> Capture | None:
        """Takes, checks and stores one capture now (the worker's job)."""
        now = self._clock.now()
        slot = slot_start(now, self._slot_minutes)
        state = self._gate()
        if state.skip is not None:
            return self._skip(now, slot, state.entry_id, state.skip)
        if state.entry_id is None:
            return None
        if not self._within_budget(now):
            return self._skip(now, slot, state.entry_id, SKIP_DISK_FULL)

        try:
            frames = self._source.grab()
        except GrabError as error:
            log.warning("screenshot not taken: %s", error)
            return self._skip(now, slot, state.entry_id, f"grab failed: {error}")

        shown, blank = _sort_blank(frames)
        self._note_blank(blank, shown)
        if not shown:
            return self._skip(now, slot, state.entry_id, blank[0][1])
        fingerprints = [seen.fingerprint for _, seen in shown]
        wallpaper = self.wallpaper.judge(fingerprints, state.focus, state.typed)
        if wallpaper is not None:
            reason, earlier = wallpaper
            self._note_fault(f"{SKIP_WALLPAPER}: {reason}", BLANK_FIX)
            self._withdraw(earlier, now)
            return self._skip(now, slot, state.entry_id, SKIP_WALLPAPER)

        from agent.screenshot_images import encode

        settings, options = self._policy
        encoded = [encode(frame, options) for frame, _ in shown]
        capture = self._store_capture(now, slot, state.entry_id, encoded, options)
        self.wallpaper.remember(
            fingerprints, state.focus, capture.shot_ids, state.typed
        )
        self._clear_fault(SKIP_WALLPAPER)
        self._prune(now)
        self._notify(capture, encoded, settings, options.extension)
        return capture

    def _skip(
        self, now: datetime, slot: datetime, entry_id: int | None, reason: str
    ) -> Capture:
        log.info("screenshot skipped: %s", reason)
        with self._store.write() as session:
            session.add(_skip_row(now, slot, entry_id, reason))
        return Capture(now, slot, skipped=reason)

    def _note_blank(
        self, blank: list[tuple[Frame, str]], shown: list[tuple[Frame, Look]]
    ) -> None:
        """A blank screen becomes a fault once; a frame with content clears it."""
        if not blank or shown:
            self._clear_fault("blank")
            return
        monitors = ", ".join(str(f.monitor.index) for f, _ in blank)
        self._note_fault(
            f"blank screenshots: {blank[0][1]} on monitor {monitors}", BLANK_FIX
        )

    def _note_fault(self, reason: str, fix: str) -> None:
        """The screenshot health becomes this fault, logged once, if it had none."""
        with self._lock:
            if self._fault is not None:
                return
            self._fault = CaptureHealth.unavailable(
                SOURCE, self._source.backend, reason, fix
            )
        log.warning("screenshot fault: %s; %s", reason, fix)

    def _clear_fault(self, kind: str) -> None:
        """Ends a fault whose reason starts with ``kind``: the cause went away."""
        with self._lock:
            if self._fault is None or not self._fault.reason.startswith(kind):
                return
            self._fault = None
        log.info("screenshots show content again (%s over)", kind)

    def _withdraw(self, shot_ids: tuple[int, ...], now: datetime) -> None:
        """Earlier shots proven wallpaper-only: not work, so never uploaded.

        Their files go and their rows become skips; the uploader drops a
        skip's queued item. One already uploaded is only logged.
        """
        if not shot_ids:
            return
        with self._store.write() as session:
            for shot in session.scalars(
                select(Screenshot).where(Screenshot.id.in_(shot_ids))
            ):
                if shot.uploaded_at is not None:
                    log.warning(
                        "screenshot %d was wallpaper-only but is already uploaded",
                        shot.id,
                    )
                    continue
                if shot.deleted_at is not None or shot.skipped_reason is not None:
                    continue
                self._remove_files(shot.path)
                shot.path = ""
                shot.skipped_reason = SKIP_WALLPAPER
        log.info("%d earlier screenshot(s) withdrawn as wallpaper-only", len(shot_ids))

    def _store_capture(
        self,
        now: datetime,
        slot: datetime,
        entry_id: int,
        encoded: list[Encoded],
        options: EncodeOptions,
    ) -> Capture:
        ensure_private_dir(self._day_dir(now))
        upload_after = now + timedelta(seconds=self.settings.grace_seconds)
        ids = []
        with self._store.write() as session:
            for image in encoded:
                shot_id = new_id()
                path = self._image_path(now, shot_id, options.extension)
                write_private(path, image.data)
                write_private(thumbnail_path(path), image.thumbnail)
                relative = path.relative_to(self._dir).as_posix()
                session.add(_shot_row(shot_id, now, slot, entry_id, image, relative))
                session.flush()
                _queue_after(session, shot_id, now, upload_after)
                ids.append(shot_id)
        log.info("screenshot stored: %d monitor(s), slot %s", len(ids), slot)
        return Capture(now, slot, tuple(ids))

    def _day_dir(self, taken_at: datetime) -> Path:
        return self._dir / f"{taken_at:%Y-%m-%d}"

    def _image_path(self, taken_at: datetime, shot_id: int, extension: str) -> Path:
        return self._day_dir(taken_at) / f"{shot_id}.{extension}"

    def _notify(
        self,
        capture: Capture,
        encoded: list[Encoded],
        settings: ScreenshotSettings,
        extension: str,
    ) -> None:
        grace = settings.grace_seconds
        notice = ShotNotice(
            shot_ids=capture.shot_ids,
            taken_at=capture.taken_at,
            slot_start=capture.slot_start,
            thumbnails=tuple(
                thumbnail_path(self._image_path(capture.taken_at, shot_id, extension))
                for shot_id in capture.shot_ids
            ),
            blurred=any(image.blurred for image in encoded),
            deletable_until=(
                capture.taken_at + timedelta(seconds=grace) if grace else None
            ),
            removes_time=settings.delete_removes_time,
        )
        for listener in list(self._listeners):
            listener(notice)

    # -- disk budget

    def _within_budget(self, now: datetime) -> bool:
        """Prunes if needed; False while un-uploaded images alone fill the budget."""
        full = self._prune(now)
        with self._lock:
            previous = self._fault
            if full and previous is None:
                waiting = self._waiting_count()
                self._fault = CaptureHealth.unavailable(
                    SOURCE,
                    self._source.backend,
                    f"disk budget full: {waiting} screenshot(s) wait for upload",
                    DISK_FULL_FIX,
                )
                log.warning("screenshots paused: %s", self._fault.reason)
            elif not full and previous is not None and "disk" in previous.reason:
                self._fault = None
                log.info("screenshot disk budget has room again")
        return not full

    def _prune(self, now: datetime) -> bool:
        """Removes uploaded images, oldest first, down to the budget.

        Returns True when the images still kept fill the budget.
        """
        budget = self.settings.disk_budget_mb * 1024 * 1024
        # Mostly under budget: a read answers that without the write lock.
        if self.used_bytes() < budget:
            return False
        with self._store.write() as session:
            used = _used_bytes(session)
            if used < budget:
                return False
            for shot in session.scalars(_uploaded_oldest_first()):
                self._remove_files(shot.path)
                shot.pruned_at = now
                used -= shot.size_bytes
                log.info("pruned uploaded screenshot %d for the disk budget", shot.id)
                if used < budget:
                    return False
        return True

    def used_bytes(self) -> int:
        with self._store.read() as session:
            return _used_bytes(session)

    def _waiting_count(self) -> int:
        with self._store.read() as session:
            count = session.scalar(
                select(func.count(Screenshot.id)).where(*_kept(), _not_uploaded())
            )
        return int(count or 0)

    # -- deletion (the rules: ShotDeleter)

    @property
    def deleter(self) -> ShotDeleter:
        return ShotDeleter(
            self._store, self._clock, self._dir, self.settings, self._slot_minutes
        )

    def deletion_window(
        self, shot_id: int, now: datetime | None = None
    ) -> tuple[datetime, datetime] | None:
        """See :meth:`ShotDeleter.deletion_window`."""
        return self.deleter.deletion_window(shot_id, now)

    def delete(
        self,
        shot_id: int,
        by: str = "worker",
        *,
        now: datetime | None = None,
        reopened_at: datetime | None = None,
    ) -> Deletion:
        """See :meth:`ShotDeleter.delete`."""
        return self.deleter.delete(shot_id, by, now=now, reopened_at=reopened_at)

    def _remove_files(self, relative: str) -> None:
        remove_files(self._dir, relative)


class ShotDeleter:
    """Deletes a capture within the grace period, with its slot time where
    policy says so: the rules the notice, the agent and ``punchclock
    screenshots delete`` (without a running agent) share. Needs no capture
    source; thread-safe (via the store).
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        screenshots_dir: Path,
        settings: ScreenshotSettings,
        slot_minutes: int,
    ) -> None:
        self._store = store
        self._clock = clock
        self._dir = screenshots_dir
        self.settings = settings
        self._slot_minutes = slot_minutes

    def deletion_window(
        self, shot_id: int, now: datetime | None = None
    ) -> tuple[datetime, datetime] | None:
        """The slot time deleting ``shot_id`` now would take out (None: none).

        Raises as :meth:`delete` would, so a caller can settle what it
        records before the cut (the agent: see ``Agent.delete_screenshot``).
        """
        now = now or self._clock.now()
        with self._store.read() as session:
            shots = self._deletable(session, shot_id, now)
            return self._window(shots[0], now)

    def delete(
        self,
        shot_id: int,
        by: str = "worker",
        *,
        now: datetime | None = None,
        reopened_at: datetime | None = None,
    ) -> Deletion:
        """Deletes the capture ``shot_id`` belongs to (every monitor), once.

        Where policy says so, the slot's time so far goes with it, in the
        same transaction: the entries in it are cut (:func:`agent.timer.
        cut_out`, as the idle "discard" leaves them), their spans there
        dropped and their activity in the slot zeroed, all queued for
        upload. The rows stay as the audit record: when, by whom, how many
        seconds, and no image. ``reopened_at``: see :func:`_cut_spans`.

        Raises :class:`~agent.errors.UserError` after the grace period or
        when it was deleted before (a second click changes
        nothing), :class:`~agent.errors.NotFoundError` for an unknown id.
        """
        now = now or self._clock.now()
        with self._store.write() as session:
            shots = self._deletable(session, shot_id, now)
            window = self._window(shots[0], now)
            removed = 0.0
            carried: tuple[CarriedSlot, ...] = ()
            if window is not None:
                cut = cut_out(session, window[0], window[1], now)
                _cut_spans(session, cut, window, now, reopened_at)
                _clear_slots(session, cut, window[0], now)
                moved = carry_over_slots(session, cut.follow_ups, window[1], now)
                removed, carried = cut.removed_seconds, tuple(moved)
            for shot in shots:
                self._remove_files(shot.path)
                _mark_deleted(session, shot, now, by, removed)
        ids = tuple(shot.id for shot in shots)
        log.info(
            "screenshot %s deleted by %s; %.0f s of slot time removed", ids, by, removed
        )
        return Deletion(ids, now, removed, window, carried)

    def _window(
        self, shot: Screenshot, now: datetime
    ) -> tuple[datetime, datetime] | None:
        if not self.settings.delete_removes_time:
            return None
        end = min(shot.slot_start + timedelta(minutes=self._slot_minutes), now)
        return (shot.slot_start, end) if end > shot.slot_start else None

    def _deletable(
        self, session: Session, shot_id: int, now: datetime
    ) -> list[Screenshot]:
        shot = session.get(Screenshot, shot_id)
        if shot is None or shot.skipped_reason is not None:
            raise NotFoundError(f"no screenshot with id {shot_id}")
        if shot.deleted_at is not None:
            raise UserError("that screenshot was already deleted")
        grace = timedelta(seconds=self.settings.grace_seconds)
        # An image sent early ("sync now") can still be deleted within the
        # grace period: the audit record makes the server remove it.
        if now > shot.taken_at + grace:
            raise UserError(
                "that screenshot can no longer be deleted: the "
                f"{self.settings.grace_seconds} s to delete it are over"
            )
        return list(
            session.scalars(
                select(Screenshot).where(
                    Screenshot.taken_at == shot.taken_at,
                    Screenshot.skipped_reason.is_(None),
                    Screenshot.deleted_at.is_(None),
                )
            )
        )

    def _remove_files(self, relative: str) -> None:
        remove_files(self._dir, relative)


def remove_files(directory: Path, relative: str) -> None:
    """A shot's image and thumbnail go; a failure is logged, not raised."""
    if not relative:
        return
    path = directory / relative
    for item in (path, thumbnail_path(path)):
        try:
            item.unlink(missing_ok=True)
        except OSError as error:
            log.warning("could not remove %s: %s", item, error.strerror)


def thumbnail_path(image: Path) -> Path:
    return image.with_name(f"{image.stem}.thumb.jpg")


@dataclass(frozen=True)
class LastCapture:
    """The newest capture taken (every monitor), as "What is collected now"
    shows it: its thumbnails while their files are here, or why they are not.
    """

    taken_at: datetime
    shot_ids: tuple[int, ...]
    thumbnails: tuple[Path, ...]
    blurred: bool
    deleted_at: datetime | None
    deleted_by: str | None
    state: str
    """What became of it, as ``punchclock screenshots list`` says (KEPT...)."""

    @property
    def uploaded(self) -> bool:
        return self.state in (UPLOADED, PRUNED)

    @property
    def pruned(self) -> bool:
        return self.state == PRUNED


def last_capture(store: Store, screenshots_dir: Path) -> LastCapture | None:
    """The newest capture in the store (skipped attempts aside), or None."""
    with store.read() as session:
        taken_at = session.scalar(
            select(func.max(Screenshot.taken_at)).where(
                Screenshot.skipped_reason.is_(None)
            )
        )
        if taken_at is None:
            return None
        shots = list(
            session.scalars(
                select(Screenshot)
                .where(
                    Screenshot.taken_at == taken_at,
                    Screenshot.skipped_reason.is_(None),
                )
                .order_by(Screenshot.monitor)
            )
        )
        row = _capture_row(shots, _queued(session, shots))

    deleted_at = next((s.deleted_at for s in shots if s.deleted_at), None)
    kept = [s for s in shots if s.deleted_at is None and s.pruned_at is None]
    files = (thumbnail_path(screenshots_dir / s.path) for s in kept if s.path)
    return LastCapture(
        taken_at=taken_at,
        shot_ids=row.shot_ids,
        thumbnails=tuple(path for path in files if path.is_file()),
        blurred=any(s.blurred for s in shots),
        deleted_at=deleted_at,
        deleted_by=row.deleted_by,
        state=row.state,
    )


@dataclass(frozen=True)
class CaptureRow:
    """One capture (every monitor) as ``punchclock screenshots list`` shows it."""

    shot_ids: tuple[int, ...]
    taken_at: datetime
    monitors: int
    state: str
    deleted_by: str | None = None

    def deletable_until(self, grace_seconds: int) -> datetime | None:
        """Until when the worker may delete it (None: not any more)."""
        if self.state in (DELETED, PRUNED) or not grace_seconds:
            return None
        return self.taken_at + timedelta(seconds=grace_seconds)


# What became of a capture, as the list names it.
KEPT = "kept"  # on this computer only: not signed in to a server
WAITING = "waiting"  # queued for upload
UPLOADED = "uploaded"
DELETED = "deleted"
PRUNED = "pruned"  # uploaded, then removed here for the disk budget


def captures_between(store: Store, start: datetime, end: datetime) -> list[CaptureRow]:
    """The captures taken in [start, end), oldest first; skips left out."""
    with store.read() as session:
        shots = list(
            session.scalars(
                select(Screenshot)
                .where(
                    Screenshot.taken_at >= start,
                    Screenshot.taken_at < end,
                    Screenshot.skipped_reason.is_(None),
                )
                .order_by(Screenshot.taken_at, Screenshot.monitor, Screenshot.id)
            )
        )
        queued = _queued(session, shots)
    by_time: dict[datetime, list[Screenshot]] = {}
    for shot in shots:
        by_time.setdefault(shot.taken_at, []).append(shot)
    return [_capture_row(group, queued) for group in by_time.values()]


def _queued(session: Session, shots: list[Screenshot]) -> set[int]:
    """Which of ``shots`` wait in the outbox."""
    ids = [shot.id for shot in shots]
    query = select(OutboxItem.record_id).where(
        OutboxItem.kind == KIND, OutboxItem.record_id.in_(ids)
    )
    return set(session.scalars(query))


def _capture_row(shots: list[Screenshot], queued: set[int]) -> CaptureRow:
    deleted = next((s for s in shots if s.deleted_at is not None), None)
    if deleted is not None:
        state = DELETED
    elif any(s.pruned_at is not None for s in shots):
        state = PRUNED
    elif all(s.uploaded_at is not None for s in shots):
        state = UPLOADED
    elif any(s.id in queued for s in shots):
        state = WAITING
    else:
        state = KEPT
    return CaptureRow(
        shot_ids=tuple(s.id for s in shots),
        taken_at=shots[0].taken_at,
        monitors=len(shots),
        state=state,
        deleted_by=deleted.deleted_by if deleted else None,
    )


# -- rows -------------------------------------------------------------------


def _encoding(settings: ScreenshotSettings) -> EncodeOptions:
    """How ``settings`` encode a shot. :mod:`agent.screenshot_images`, and
    Pillow with it (about 3 MB resident, P2), load with the first screenshot
    service, here and in the functions above: an agent with screenshots off
    never loads them."""
    from agent.screenshot_images import EncodeOptions

    return EncodeOptions.from_settings(settings)


def _sort_blank(
    frames: list[Frame],
) -> tuple[list[tuple[Frame, Look]], list[tuple[Frame, str]]]:
    from agent.screenshot_images import look

    shown, blank = [], []
    for frame in frames:
        seen = look(frame.image)
        if seen.blank is None:
            shown.append((frame, seen))
        else:
            blank.append((frame, seen.blank))
    return shown, blank


def _skip_row(
    now: datetime, slot: datetime, entry_id: int | None, reason: str
) -> Screenshot:
    return Screenshot(
        entry_id=entry_id,
        taken_at=now,
        slot_start=slot,
        monitor=0,
        width=0,
        height=0,
        size_bytes=0,
        sha256="",
        path="",
        blurred=False,
        skipped_reason=reason,
    )


def _shot_row(
    shot_id: int,
    now: datetime,
    slot: datetime,
    entry_id: int,
    image: Encoded,
    relative: str,
) -> Screenshot:
    return Screenshot(
        id=shot_id,
        entry_id=entry_id,
        taken_at=now,
        slot_start=slot,
        monitor=image.monitor,
        width=image.width,
        height=image.height,
        size_bytes=len(image.data),
        sha256=image.sha256,
        path=relative,
        blurred=image.blurred,
    )


def _queue_after(
    session: Session, shot_id: int, now: datetime, upload_after: datetime
) -> None:
    """Queued for upload, but not due before the worker could delete it."""
    enqueue(session, KIND, shot_id, now)
    session.execute(
        update(OutboxItem)
        .where(OutboxItem.kind == KIND, OutboxItem.record_id == shot_id)
        .values(next_attempt_at=upload_after)
    )


def _mark_deleted(
    session: Session, shot: Screenshot, now: datetime, by: str, removed: float
) -> None:
    shot.deleted_at = now
    shot.deleted_by = by
    shot.removed_seconds = removed
    shot.path = ""
    if shot.uploaded_at is None:
        # The uploader drops a deleted shot's queued image when it comes due.
        enqueue(session, KIND, shot.id, now)
    # The audit goes up either way; a server holding the image removes it.
    enqueue(session, DELETION_KIND, shot.id, now)


def _kept() -> tuple[ColumnElement[bool], ...]:
    return (
        Screenshot.skipped_reason.is_(None),
        Screenshot.deleted_at.is_(None),
        Screenshot.pruned_at.is_(None),
    )


def _not_uploaded() -> ColumnElement[bool]:
    return Screenshot.uploaded_at.is_(None)


def _used_bytes(session: Session) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Screenshot.size_bytes), 0)).where(*_kept())
    )
    return int(total or 0)


def _uploaded_oldest_first() -> Select[tuple[Screenshot]]:
    return (
        select(Screenshot)
        .where(*_kept(), Screenshot.uploaded_at.is_not(None))
        .order_by(Screenshot.taken_at, Screenshot.id)
    )


# -- taking a slot's time out: spans and activity -------------------------


def _cut_spans(
    session: Session,
    cut: Cut,
    window: tuple[datetime, datetime],
    now: datetime,
    reopened_at: datetime | None,
) -> None:
    """The focus spans of the cut entries lose what lay in ``window``.

    A span inside it is deleted; one reaching into it from before is cut
    short; the part after it (a deletion after the slot ended) moves to the
    entry carrying the work on, except the span the recorder had open: it
    ended at ``reopened_at`` and the recorder opens it again there.
    """
    start, end = window
    if not cut.entry_ids:
        return
    earliest = session.scalar(
        select(func.min(Entry.start)).where(Entry.id.in_(cut.entry_ids))
    )
    if earliest is None:
        return
    spans = session.scalars(
        select(Span).where(
            Span.start >= earliest, Span.entry_id.in_(cut.entry_ids), Span.end > start
        )
    ).all()
    for span in spans:
        follow = cut.follow_ups.get(span.entry_id)
        if span.end > end and follow is not None and span.end != reopened_at:
            after = Span(
                entry_id=follow,
                start=max(span.start, end),
                end=span.end,
                app_id=span.app_id,
                title_id=span.title_id,
                url_id=span.url_id,
                flags=span.flags,
            )
            session.add(after)
            session.flush()
            enqueue(session, "span", after.id, now)
        if span.start < start:
            span.end = start
            enqueue(session, "span", span.id, now)
        else:
            session.delete(span)


def _clear_slots(session: Session, cut: Cut, slot: datetime, now: datetime) -> None:
    """The cut entries' activity in the slot goes: nothing of it was worked."""
    rows = session.scalars(
        select(Slot).where(Slot.entry_id.in_(cut.entry_ids), Slot.start == slot)
    ).all()
    for row in rows:
        row.tracked_seconds = 0.0
        row.passive_seconds = 0.0
        for name in ("active_seconds", "keyboard_seconds", "mouse_seconds"):
            if getattr(row, name) is not None:
                setattr(row, name, 0.0)
        row.synthetic_flags = 0
        row.flag_reasons = None
        enqueue(session, "slot", row.id, now)
