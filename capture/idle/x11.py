"""Idle time on X11 from the MIT-SCREEN-SAVER extension (python-xlib).

One ``ScreenSaverQueryInfo`` request per read, under a millisecond. The
connection is opened on first use and again after the server went away.

Lock: the session counts as locked while the X screen saver is on (the
screen is blanked; xset, xss-lock and most lockers run with it) or while a
locker says so on D-Bus (:class:`~capture.idle.lock.LockWatch`: the
desktop's screen saver service, logind's ``LockedHint``). Input while
locked is someone at the lock screen, not work (``agent.idle``).
"""

from __future__ import annotations

import logging
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
        self._lock_watch = lock_watch
        self._saver_on = False

    @property
    def reports_lock(self) -> bool:
        """Only while the session is locked can a reading overrule the input.

        Unlocked, the RECORD input source sees every event the idle time
        counts, so the agent skips the query on a tick with input; locked
        (the last reading, or a locker's signal), the input is someone at
        the lock screen and the reading must be taken.
        """
        return self._saver_on or bool(self._lock_watch and self._lock_watch.locked)

    def _query(self) -> IdleReading:
        from Xlib import error as xerror
        from Xlib.ext.screensaver import StateOn

        if self._lock_watch is not None:
            self._lock_watch.start()
        try:
            display = self._connect()
            info = display.screen().root.screensaver_query_info()
        except (xerror.DisplayError, xerror.XError, OSError, EOFError) as exc:
            self._drop_display()
            raise BackendUnavailable(
                f"the X server {self._name} cannot be asked for idle time ({exc})",
                "start Punchclock from your desktop session",
            ) from exc
        self._saver_on = info.state == StateOn
        bus_locked = self._lock_watch.locked if self._lock_watch else None
        return IdleReading(info.idle / 1000.0, self._saver_on or bool(bus_locked))

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
        if self._lock_watch is not None:
            self._lock_watch.stop()

    def _drop_display(self) -> None:
        display, self._display = self._display, None
        if display is not None:
            try:
                display.close()
            except Exception as exc:  # the connection may already be gone
                log.debug("closing the idle display: %s", exc)
