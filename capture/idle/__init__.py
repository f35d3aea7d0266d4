"""OS idle time: seconds since the last input, as the desktop counts them.

:func:`create_idle_source` picks the back end for the running desktop::

    source = create_idle_source()
    source.read()          # IdleReading(seconds, locked) or None
    source.health()        # CaptureHealth

Back ends beside this file: ``x11`` (MIT-SCREEN-SAVER), ``windows``
(GetLastInputInfo), ``macos`` (HID idle time), ``wayland`` (the desktop's
D-Bus idle monitor); the Null source where none applies. Each is imported
only when chosen.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from capture.base import BackendUnavailable, HealthState
from capture.idle.common import SOURCE, IdleReading, IdleSource, NullIdleSource

log = logging.getLogger(__name__)

__all__ = [
    "SOURCE",
    "IdleReading",
    "IdleSource",
    "NullIdleSource",
    "create_idle_source",
]


def create_idle_source(
    *,
    enabled: bool = True,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> IdleSource:
    """The idle source for this desktop; a Null source that says why if none."""
    if not enabled:
        return NullIdleSource("input capture is off by policy", state=HealthState.OFF)
    env = os.environ if environ is None else environ
    try:
        return _for_platform(platform or sys.platform, env)
    except BackendUnavailable as exc:
        log.warning("no idle back end: %s", exc.reason)
        return NullIdleSource(exc.reason, exc.fix)


def _for_platform(platform: str, env: Mapping[str, str]) -> IdleSource:
    if platform == "win32":
        from capture.idle.windows import WindowsIdleSource

        return WindowsIdleSource()
    if platform == "darwin":
        from capture.idle.macos import MacIdleSource

        return MacIdleSource()
    session = env.get("XDG_SESSION_TYPE", "").lower()
    if session == "wayland" or (not session and env.get("WAYLAND_DISPLAY")):
        import time

        from capture.idle.idle_notify import CompositorIdle
        from capture.idle.wayland import WaylandIdleSource

        compositor = CompositorIdle.for_session(env, time.monotonic)
        return WaylandIdleSource(compositor=compositor)
    display = env.get("DISPLAY")
    if not display:
        raise BackendUnavailable(
            "no DISPLAY: not running in a graphical session",
            "start Punchclock from your desktop session",
        )
    from capture.idle.lock import LockWatch
    from capture.idle.x11 import X11IdleSource

    return X11IdleSource(display, LockWatch(env))
