"""Input activity: how many seconds had keyboard or mouse input, never which.

:func:`create_input_source` picks the back end for the running desktop, so
callers never branch on the operating system::

    source = create_input_source(SystemClock())
    source.start()                    # listeners on their own threads
    marks = source.drain()            # InputMarks since the previous drain
    source.health()                   # CaptureHealth, any thread
    source.stop()

Back ends live beside this file: ``x11_record`` (X11's RECORD extension,
counted from the wire), ``listener`` (pynput on Windows and macOS) and
``null`` for desktops where input cannot be observed (Wayland, no display,
off by policy); each is imported only when chosen.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from agent.clock import Clock
from capture.base import BackendUnavailable, HealthState
from capture.input.common import SOURCE, InputMarks, InputSource
from capture.input.null import NullInputSource

log = logging.getLogger(__name__)

__all__ = ["SOURCE", "InputMarks", "InputSource", "create_input_source"]

WAYLAND_REASON = "Wayland does not let an application see input meant for other windows"
WAYLAND_FIX = (
    "activity is taken from the desktop's idle time where it offers one; "
    "otherwise it is stored as unknown, not as 0 %"
)


def create_input_source(
    clock: Clock,
    *,
    enabled: bool = True,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> InputSource:
    """The input source for this desktop; a Null source that says why if none.

    Called by the agent's thread; it only inspects the environment. pynput
    itself is imported when the source starts (it needs DISPLAY first).
    """
    if not enabled:
        return NullInputSource("input capture is off by policy", state=HealthState.OFF)
    env = os.environ if environ is None else environ
    try:
        return _for_platform(platform or sys.platform, env, clock)
    except BackendUnavailable as exc:
        log.warning("no input back end: %s", exc.reason)
        return NullInputSource(exc.reason, exc.fix)


def _for_platform(platform: str, env: Mapping[str, str], clock: Clock) -> InputSource:
    from capture.input.listener import ListenerInputSource

    if platform == "win32":
        return ListenerInputSource(clock, "windows")
    if platform == "darwin":
        return ListenerInputSource(clock, "macos")
    if _is_wayland(env):
        raise BackendUnavailable(WAYLAND_REASON, WAYLAND_FIX)
    if not env.get("DISPLAY"):
        raise BackendUnavailable(
            "no DISPLAY: not running in a graphical session",
            "start Punchclock from your desktop session",
        )
    from capture.input.x11_record import RecordInputSource

    return RecordInputSource(clock, display=env["DISPLAY"])


def _is_wayland(env: Mapping[str, str]) -> bool:
    session = env.get("XDG_SESSION_TYPE", "").lower()
    if session:
        return session == "wayland"
    return bool(env.get("WAYLAND_DISPLAY"))
