"""Screenshot capture: every monitor, one image each, at its physical size.

:func:`create_screenshot_source` picks the back end for the running desktop,
so callers never branch on the operating system::

    source = create_screenshot_source()
    frames = source.grab()            # list[Frame], blocks a few ms
    source.health()                   # CaptureHealth, any thread
    source.close()

Back ends beside this file: ``mss_backend`` (X11, Windows, macOS),
``portal`` (Wayland, through the desktop portal) and ``null`` (screenshots
off, or no way to take them, with the reason). Each is imported only when
chosen; :mod:`~capture.screenshot.monitors` does the layout arithmetic and
:mod:`~capture.screenshot.wayland_layout` asks a Wayland compositor for it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from capture.base import HealthState
from capture.focus import is_wayland
from capture.screenshot.common import (
    SOURCE,
    Frame,
    GrabError,
    Monitor,
    ScreenshotSource,
)
from capture.screenshot.null import NullScreenshotSource

log = logging.getLogger(__name__)

# X11 grabs a monitor in bands of this many rows (see mss_backend).
X11_BAND_ROWS = 270

__all__ = [
    "SOURCE",
    "Frame",
    "GrabError",
    "Monitor",
    "NullScreenshotSource",
    "ScreenshotSource",
    "create_screenshot_source",
]


def create_screenshot_source(
    *,
    enabled: bool = True,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> ScreenshotSource:
    """The screenshot source for this desktop; a Null source that says why.

    Called by the agent's thread; it only inspects the environment. The
    grabber itself opens on the first grab, on the screenshot worker.
    """
    if not enabled:
        return NullScreenshotSource("screenshots are off", state=HealthState.OFF)
    env = os.environ if environ is None else environ
    platform = platform or sys.platform

    if platform in ("win32", "darwin"):
        from capture.screenshot.mss_backend import MssScreenshotSource

        return MssScreenshotSource()
    if is_wayland(env):
        from capture.screenshot.portal import PortalScreenshotSource
        from capture.screenshot.wayland_layout import layout_for

        # The layout cuts the portal's one desktop image into monitors.
        layout, missing = layout_for(env)
        return PortalScreenshotSource(layout=layout, no_layout=missing)
    display = env.get("DISPLAY")
    if not display:
        log.warning("no screenshot back end: no DISPLAY")
        return NullScreenshotSource(
            "no DISPLAY: not running in a graphical session",
            "start Punchclock from your desktop session",
        )
    from capture.screenshot.mss_backend import MssScreenshotSource

    return MssScreenshotSource(display=display, band_rows=X11_BAND_ROWS)
