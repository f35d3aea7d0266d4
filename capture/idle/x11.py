"""Idle time on X11 from the MIT-SCREEN-SAVER extension (python-xlib).

One ``ScreenSaverQueryInfo`` request per read, under a millisecond. The
connection is opened on first use and again after the server went away.
"""

from __future__ import annotations

import logging
from typing import Any

from capture.base import BackendUnavailable
from capture.idle.common import IdleReading, PollingIdleSource

log = logging.getLogger(__name__)


class X11IdleSource(PollingIdleSource):
    backend = "x11"
    reports_lock = False

    def __init__(self, display: str) -> None:
        super().__init__()
        self._name = display
        self._display: Any = None

    def _query(self) -> IdleReading:
        from Xlib import error as xerror

        try:
            display = self._connect()
            info = display.screen().root.screensaver_query_info()
        except (xerror.DisplayError, xerror.XError, OSError, EOFError) as exc:
            self.close()
            raise BackendUnavailable(
                f"the X server {self._name} cannot be asked for idle time ({exc})",
                "start Punchclock from your desktop session",
            ) from exc
        return IdleReading(info.idle / 1000.0)

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
        display, self._display = self._display, None
        if display is not None:
            try:
                display.close()
            except Exception as exc:  # the connection may already be gone
                log.debug("closing the idle display: %s", exc)
