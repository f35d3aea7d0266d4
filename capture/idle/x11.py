"""Idle time on X11 from the MIT-SCREEN-SAVER extension (python-xlib).

One ``ScreenSaverQueryInfo`` request per read, under a millisecond. The
connection is opened on first use and again after the server went away.

Lock: the session counts as locked while the X screen saver is on (the
screen is blanked; xset, xss-lock and most lockers run with it) or while a
locker says so on D-Bus (:class:`~capture.idle.lock.LockWatch`: the
desktop's screen saver service, logind's ``LockedHint``). Input while
locked is someone at the lock screen, not work (``agent.idle``). Both are
followed from events (:class:`SaverWatch` waits for the extension's
ScreenSaverNotify), so whether the session is locked is known without a
query: while the RECORD input source works and the session is unlocked,
the agent reads nothing here at all.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from capture.base import BackendUnavailable
from capture.idle.common import IdleReading, PollingIdleSource
from capture.idle.lock import LockWatch

log = logging.getLogger(__name__)


class X11IdleSource(PollingIdleSource):
    backend = "x11"

    def __init__(self, display: str, lock_watch: LockWatch | None = None) -> None:
        super().__init__()
        self._name = display
        self._display: Any = None
        self._saver = SaverWatch(display)
        self._lock_watch = lock_watch
        self._watching = False

    @property
    def reports_lock(self) -> bool:
        """Whether a reading may overrule the input source: only while locked.

        Unlocked, RECORD sees every event the idle time counts, so a reading
        adds nothing; locked, input is someone at the lock screen and the
        reading says so. The watches start here, on the first tick.
        """
        if not self._watching:
            self._watching = True
            self._saver.start()
            if self._lock_watch is not None:
                self._lock_watch.start()
        return self._saver.on or bool(self._lock_watch and self._lock_watch.locked)

    def _query(self) -> IdleReading:
        from Xlib import error as xerror
        from Xlib.ext.screensaver import StateOn

        try:
            display = self._connect()
            info = display.screen().root.screensaver_query_info()
        except (xerror.DisplayError, xerror.XError, OSError, EOFError) as exc:
            self._drop_display()
            raise BackendUnavailable(
                f"the X server {self._name} cannot be asked for idle time ({exc})",
                "start Punchclock from your desktop session",
            ) from exc
        locked = self.reports_lock or info.state == StateOn
        return IdleReading(info.idle / 1000.0, locked)

    def _connect(self) -> Any:
        if self._display is None:
            from Xlib.display import Display

            display = Display(self._name)
            if not display.has_extension("MIT-SCREEN-SAVER"):
                display.close()
                raise BackendUnavailable(
                    "the X server has no MIT-SCREEN-SAVER extension",
                    "idle time comes from the input listeners instead",
                )
            self._display = display
        return self._display

    def close(self) -> None:
        self._drop_display()
        self._saver.stop()
        if self._lock_watch is not None:
            self._lock_watch.stop()
        self._watching = False

    def _drop_display(self) -> None:
        display, self._display = self._display, None
        if display is not None:
            _close_quietly(display)


class SaverWatch:
    """Whether the X screen saver is on, from its ScreenSaverNotify events.

    One connection of its own and a thread that waits in it: nothing runs
    between a saver's start and its end. ``start`` and ``stop`` are called
    by the idle source's owner; ``on`` may be read from any thread.
    """

    def __init__(self, display: str) -> None:
        self._name = display
        self._display: Any = None
        self._thread: threading.Thread | None = None
        self.on = False

    def start(self) -> None:
        from Xlib import error as xerror
        from Xlib.display import Display
        from Xlib.ext.screensaver import NotifyMask, StateOn

        display: Any = None
        try:
            display = Display(self._name)
            extension = display.query_extension("MIT-SCREEN-SAVER")
            if extension is None:
                raise BackendUnavailable("the X server has no MIT-SCREEN-SAVER")
            root = display.screen().root
            root.screensaver_select_input(NotifyMask)
            self.on = root.screensaver_query_info().state == StateOn
        except (BackendUnavailable, xerror.DisplayError, xerror.XError, OSError) as exc:
            log.warning("the X screen saver cannot be followed: %s", exc)
            if display is not None:
                _close_quietly(display)
            return
        # python-xlib registers a copy of the event class per connection, so
        # the event is told by its code, not by isinstance.
        notify = extension.first_event
        self._display = display
        self._thread = threading.Thread(
            target=self._follow,
            args=(display, notify),
            name="x-saver-watch",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        display, self._display = self._display, None
        thread, self._thread = self._thread, None
        if display is None:
            return
        try:
            # Wakes the thread out of its wait on the connection.
            display.display.socket.shutdown(socket.SHUT_RDWR)
        except OSError as exc:
            log.debug("saver watch connection already gone: %s", exc)
        if thread is not None:
            thread.join(2)
        _close_quietly(display)

    def _follow(self, display: Any, notify: int) -> None:
        from Xlib.ext.screensaver import StateOn

        while True:
            try:
                event = display.next_event()
            except Exception as exc:  # the connection closed: stopped or gone
                log.debug("saver watch ended: %s", exc)
                return
            if event.type & 0x7F == notify:
                self.on = event.state == StateOn
                log.info("X screen saver %s", "on" if self.on else "off")


def _close_quietly(display: Any) -> None:
    try:
        display.close()
    except Exception as exc:  # the connection may already be gone
        log.debug("closing an X connection: %s", exc)
