"""Focus on an X11 desktop, event-driven through python-xlib.

The window manager announces the focused window in the root window's
``_NET_ACTIVE_WINDOW`` property (EWMH). The source listens for changes of
that property, and for title changes on the focused window itself, so a
switch is stamped when the X server reports it (12-22 ms after it on Xvfb),
not at the next poll. A poll every ``safety_poll`` seconds only catches
what a lost event would hide.

What the X server throws at a reader is expected, not fatal:

- the active window is 0 for a moment between two windows: a "nothing
  focused" sample is emitted only if no window follows within ``grace``;
- a window vanishes between two reads (BadWindow): it reads as unfocused
  until the window manager names the next one;
- titles come as UTF8_STRING, STRING (xdotool) or anything else, with any
  bytes: they are decoded without ever raising;
- the server goes away or restarts: the source says so in its health,
  emits "nothing focused", and reconnects with a growing back-off;
- anything else that goes wrong while one event is handled (an X error on
  a root-window read, the sample callback raising) is logged once per kind
  and the next event is handled as usual;
- should the watch itself fail (while it starts, or on event after event),
  the source says so in its health, emits "nothing focused", and starts
  afresh on a new connection with a growing back-off.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from Xlib import X, Xatom
from Xlib import error as xerror
from Xlib.display import Display

from agent.clock import Clock
from capture.base import CaptureHealth
from capture.browser.urls import BrowserUrls
from capture.focus.common import (
    SOURCE,
    EmittingFocusSource,
    FocusedWindow,
    SampleCallbackError,
)
from capture.focus.privacy import FocusPrivacy

log = logging.getLogger(__name__)

BACKEND = "x11"
# Property reads are bounded: a title longer than this is cut anyway.
_MAX_PROPERTY_LONGS = 4096
# What a lost X connection or a vanished window raises in python-xlib.
_LOST = (xerror.ConnectionClosedError, xerror.DisplayError, OSError, EOFError)
_WINDOW_GONE = (xerror.XError, xerror.ResourceIDError)
_FIRST_BACKOFF = 0.25
# Events in a row whose handling failed before the watch counts as broken and
# starts afresh: a fault that recurs on every event must not spin the loop.
_MAX_FAILED_EVENTS = 20


class _WatchBroken(Exception):
    """Handling failed on too many events in a row."""


class _FailureLog:
    """Logs each kind of failure once, with its traceback; repeats at debug.

    A fault that recurs on every focus switch would otherwise write a
    traceback per switch, all day. Used by the focus thread only.
    """

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()

    def report(self, where: str, exc: BaseException) -> None:
        cause = exc.__cause__ if isinstance(exc, SampleCallbackError) else exc
        kind = (where, type(cause or exc).__qualname__)
        if kind in self._seen:
            log.debug("X11 focus: %s failed again: %r", where, exc)
            return
        self._seen.add(kind)
        log.error(
            "X11 focus: %s failed (%s); carrying on, and logging further "
            "%s failures here at debug level only",
            where,
            exc,
            kind[1],
            exc_info=exc,
        )


@dataclass
class _Moment:
    at: datetime
    mono: float


class _Connection:
    """One open display with the atoms and subscriptions the source needs."""

    @classmethod
    def open(cls, name: str | None) -> _Connection:
        display = Display(name)
        try:
            return cls(display)
        except BaseException:
            # A display that failed half-way set up must not leak its socket
            # on every retry.
            with contextlib.suppress(*_LOST):
                display.close()
            raise

    def __init__(self, display: Display) -> None:
        self.display = display
        self.display.set_error_handler(self._async_error)
        self.root = self.display.screen().root
        atom = self.display.intern_atom
        self.active = atom("_NET_ACTIVE_WINDOW")
        self.wm_check = atom("_NET_SUPPORTING_WM_CHECK")
        self.net_name = atom("_NET_WM_NAME")
        self.utf8 = atom("UTF8_STRING")
        self.pid = atom("_NET_WM_PID")
        self.state = atom("_NET_WM_STATE")
        self.fullscreen = atom("_NET_WM_STATE_FULLSCREEN")
        self.titles = (self.net_name, Xatom.WM_NAME)
        # Programs may set these only after their window is mapped and focused.
        self.watched_atoms = (*self.titles, Xatom.WM_CLASS, self.pid, self.state)
        self.root.change_attributes(event_mask=X.PropertyChangeMask)
        self.display.flush()
        self.watched: Any = None

    def fileno(self) -> int:
        return int(self.display.fileno())

    def close(self) -> None:
        try:
            self.display.close()
        except _LOST:
            log.debug("X display already closed")

    def active_id(self) -> int:
        prop = self.root.get_property(self.active, X.AnyPropertyType, 0, 1)
        if prop is None or prop.format != 32 or not len(prop.value):
            return 0
        return int(prop.value[0])

    def watch(self, window_id: int) -> Any:
        """Subscribes to the focused window's property and destroy events."""
        if self.watched is not None and self.watched.id == window_id:
            return self.watched
        if self.watched is not None:
            # Errors of these requests arrive later, through _async_error.
            self.watched.change_attributes(event_mask=X.NoEventMask)
        window = self.display.create_resource_object("window", window_id)
        window.change_attributes(
            event_mask=X.PropertyChangeMask | X.StructureNotifyMask
        )
        self.watched = window
        return window

    def read_window(self, window: Any) -> FocusedWindow:
        return FocusedWindow(
            window_id=int(window.id),
            pid=self._pid(window),
            wm_class=self._wm_class(window),
            title=self._title(window),
            fullscreen=self._is_fullscreen(window),
        )

    def _is_fullscreen(self, window: Any) -> bool:
        prop = window.get_property(self.state, Xatom.ATOM, 0, 64)
        if prop is None or prop.format != 32:
            return False
        return self.fullscreen in prop.value

    def _title(self, window: Any) -> str:
        for atom in self.titles:
            text = self._text(window, atom)
            if text:
                return text
        return ""

    def _text(self, window: Any, atom: int) -> str | None:
        prop = window.get_property(atom, X.AnyPropertyType, 0, _MAX_PROPERTY_LONGS)
        if prop is None or prop.format != 8:
            return None
        return decode_text(prop.value, utf8=prop.property_type == self.utf8)

    def _wm_class(self, window: Any) -> str | None:
        prop = window.get_property(Xatom.WM_CLASS, X.AnyPropertyType, 0, 256)
        if prop is None or prop.format != 8:
            return None
        text = decode_text(prop.value, utf8=False)
        parts = [p for p in text.split("\0") if p]
        # WM_CLASS is "instance\0Class\0"; the class names the app.
        return parts[-1] if parts else None

    def _pid(self, window: Any) -> int | None:
        prop = window.get_property(self.pid, X.AnyPropertyType, 0, 1)
        if prop is None or prop.format != 32 or not len(prop.value):
            return None
        return int(prop.value[0]) or None

    @staticmethod
    def _async_error(error: Exception, request: object) -> None:
        # Requests without a reply (change_attributes on a window that just
        # vanished) report BadWindow here; the next event corrects the state.
        log.debug("X error ignored: %s", error)


def decode_text(value: object, utf8: bool) -> str:
    """Text of an 8-bit X property, whatever its declared type and bytes."""
    if isinstance(value, str):
        return value
    raw = _as_bytes(value)
    if utf8:
        return raw.decode("utf-8", "replace")
    try:
        # STRING is Latin-1 by ICCCM, but most programs write UTF-8 bytes.
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    # python-xlib hands 8-bit data as bytes; anything else is not text.
    return b""


class X11FocusSource(EmittingFocusSource):
    """The focus source of an X11 session; runs one daemon thread."""

    backend = BACKEND

    def __init__(
        self,
        clock: Clock,
        privacy: FocusPrivacy | None = None,
        urls: BrowserUrls | None = None,
        *,
        display: str | None = None,
        safety_poll: float = 10.0,
        grace: float = 0.15,
        max_backoff: float = 5.0,
    ) -> None:
        super().__init__(clock, privacy, urls)
        self._display_name = display or os.environ.get("DISPLAY")
        self._safety_poll = safety_poll
        self._grace = grace
        self._max_backoff = max_backoff
        self._stop = threading.Event()
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._pending_nothing: _Moment | None = None
        self._failures = _FailureLog()

    def _start_backend(self) -> None:
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="focus-x11", daemon=True)
        self._thread.start()

    def _stop_backend(self) -> None:
        self._stop.set()
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=2)
            if self._thread.is_alive():
                log.warning("X11 focus thread did not stop in time")
        os.close(self._wake_r)
        os.close(self._wake_w)

    # the thread

    def _run(self) -> None:
        backoff = _FIRST_BACKOFF
        while not self._stop.is_set():
            conn = self._connect()
            if conn is None:
                self._wait(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue

            started = self._clock.monotonic()
            if self._session(conn):
                backoff = _FIRST_BACKOFF
                continue

            # The watch failed: start afresh after a pause that grows while
            # it keeps failing soon after each start.
            if self._clock.monotonic() - started > self._max_backoff:
                backoff = _FIRST_BACKOFF
            self._wait(backoff)
            backoff = min(backoff * 2, self._max_backoff)

    def _session(self, conn: _Connection) -> bool:
        """Watches one connection; False when the watch itself failed."""
        try:
            self._watch(conn)
        except _LOST as exc:
            self._connection_lost(exc)
        except Exception as exc:
            self._watch_failed(exc)
            return False
        finally:
            conn.close()
        return True

    def _connect(self) -> _Connection | None:
        try:
            return _Connection.open(self._display_name)
        except Exception as exc:
            # Not only X errors: python-xlib parsing a broken Xauthority file,
            # say, raises what it likes, and the source must live on.
            self._set_health(
                CaptureHealth.unavailable(
                    SOURCE,
                    BACKEND,
                    f"cannot open X display {self._display_name}: {exc}",
                    "log in to a graphical session, or set DISPLAY",
                )
            )
            return None

    def _connection_lost(self, exc: BaseException) -> None:
        log.warning("X display %s lost (%s); reconnecting", self._display_name, exc)
        self._observe_nothing()
        self._set_health(
            CaptureHealth.unavailable(
                SOURCE,
                BACKEND,
                f"X display {self._display_name} lost; reconnecting",
            )
        )

    def _watch_failed(self, exc: Exception) -> None:
        self._failures.report("watching the focus", exc)
        # What is in front is unknown until the watch runs again.
        self._observe_nothing()
        self._set_health(
            CaptureHealth.unavailable(
                SOURCE,
                BACKEND,
                f"watching the focus failed ({exc}); starting afresh",
                "nothing, if it recovers; if it stays, send the log to support",
            )
        )

    def _observe_nothing(self) -> None:
        self._pending_nothing = None
        try:
            self._observe(None, self._clock.now(), self._clock.monotonic())
        except SampleCallbackError as exc:
            self._failures.report("emitting a sample", exc)

    def _wait(self, seconds: float) -> None:
        readable, _, _ = select.select([self._wake_r], [], [], seconds)
        if readable:
            os.read(self._wake_r, 64)

    def _watch(self, conn: _Connection) -> None:
        self._refresh(conn, self._now())
        # Working once the first read went through: a watch that fails as it
        # starts stays unavailable across its restarts instead of flapping.
        self._set_health(CaptureHealth.working(SOURCE, BACKEND))
        next_poll = self._clock.monotonic() + self._safety_poll
        failed = 0

        while not self._stop.is_set():
            # Replies read during the last refresh may have queued events
            # that select cannot see any more.
            queued = conn.display.pending_events()
            timeout = 0.0 if queued else self._timeout(next_poll)
            readable, _, _ = select.select(
                [conn.fileno(), self._wake_r], [], [], timeout
            )
            moment = self._now()
            if self._wake_r in readable:
                return

            try:
                next_poll = self._handle(conn, moment, next_poll)
                failed = 0
            except _LOST:
                raise
            except Exception as exc:
                failed += 1
                self._failures.report("handling an X event", exc)
                if failed >= _MAX_FAILED_EVENTS:
                    raise _WatchBroken(
                        f"{failed} events in a row failed, the last with {exc!r}"
                    ) from exc

    def _handle(self, conn: _Connection, moment: _Moment, next_poll: float) -> float:
        """Takes in what happened since the last wake-up; the next poll time."""
        changed = self._drain(conn)
        if moment.mono >= next_poll:
            # Subscribe afresh too, in case a destroy event was missed.
            conn.watched = None
            next_poll = moment.mono + self._safety_poll
            changed = True
        if changed:
            self._refresh(conn, moment)
        self._flush_nothing(moment.mono)
        return next_poll

    def _timeout(self, next_poll: float) -> float:
        deadline = next_poll
        if self._pending_nothing is not None:
            deadline = min(deadline, self._pending_nothing.mono + self._grace)
        return max(0.0, deadline - self._clock.monotonic())

    def _drain(self, conn: _Connection) -> bool:
        """Reads every queued event; True when one may change the sample."""
        changed = False
        watched = conn.watched.id if conn.watched is not None else None
        while conn.display.pending_events():
            event = conn.display.next_event()
            if event.type == X.PropertyNotify:
                if event.window.id == conn.root.id:
                    changed |= event.atom in (conn.active, conn.wm_check)
                elif event.window.id == watched:
                    changed |= event.atom in conn.watched_atoms
            elif event.type == X.DestroyNotify and event.window.id == watched:
                # X reuses window ids: a new window with this id is not watched.
                conn.watched = None
                changed = True
        return changed

    def _refresh(self, conn: _Connection, moment: _Moment) -> None:
        """Reads the focused window and emits it (de-duplicated)."""
        window_id = conn.active_id()
        if not window_id:
            self._defer_nothing(moment)
            return
        try:
            window = conn.read_window(conn.watch(window_id))
        except _WINDOW_GONE as exc:
            log.debug("focused window %#x vanished: %s", window_id, exc)
            # Its id may come back with a new window that is not watched.
            conn.watched = None
            self._defer_nothing(moment)
            return
        self._pending_nothing = None
        self._observe(window, moment.at, moment.mono)

    def _defer_nothing(self, moment: _Moment) -> None:
        if self._pending_nothing is None:
            self._pending_nothing = moment

    def _flush_nothing(self, mono: float) -> None:
        pending = self._pending_nothing
        if pending is not None and mono >= pending.mono + self._grace:
            self._pending_nothing = None
            self._observe(None, pending.at, pending.mono)

    def _now(self) -> _Moment:
        return _Moment(self._clock.now(), self._clock.monotonic())
