"""Focus capture: which app, window title and browser page is in front.

:func:`create_focus_source` picks the back end for the running desktop, so
callers never branch on the operating system::

    receiver = BrowserReceiver(ReceiverConfig(port=5600))
    receiver.start()
    source = create_focus_source(SystemClock(), FocusPrivacy(), receiver)
    source.start(on_sample)           # FocusSample per change, own thread
    source.health()                   # CaptureHealth, any thread
    source.stop()

Back ends live beside this file, one per desktop (``x11``, ``windows``,
``macos``, ``wayland``) plus ``null`` for desktops that do not expose the
focused window; each is imported only when chosen.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

from agent.clock import Clock
from capture.base import BackendUnavailable, FocusSource, HealthState
from capture.browser.receiver import BrowserReceiver
from capture.browser.urls import BrowserUrls
from capture.focus.null import NullFocusSource
from capture.focus.privacy import FocusPrivacy, TitleLevel

log = logging.getLogger(__name__)

__all__ = [
    "FocusPrivacy",
    "TitleLevel",
    "create_focus_source",
    "is_wayland",
]


def is_wayland(environ: Mapping[str, str]) -> bool:
    """True in a Wayland session, even where XWayland also sets DISPLAY."""
    session = environ.get("XDG_SESSION_TYPE", "").lower()
    if session:
        return session == "wayland"
    return bool(environ.get("WAYLAND_DISPLAY"))


def create_focus_source(
    clock: Clock,
    privacy: FocusPrivacy | None = None,
    receiver: BrowserReceiver | None = None,
    *,
    enabled: bool = True,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> FocusSource:
    """The focus source for this desktop; a Null source that says why if none.

    Called by the agent's thread. It only inspects the environment and
    imports the chosen back end; on Wayland it asks the session bus which
    compositor helper is present, which takes at most about a second.
    """
    if not enabled:
        return NullFocusSource("focus capture is off by policy", state=HealthState.OFF)
    env = os.environ if environ is None else environ
    urls = BrowserUrls(receiver)
    try:
        return _for_platform(platform or sys.platform, env, clock, privacy, urls)
    except BackendUnavailable as exc:
        log.warning("no focus back end: %s", exc.reason)
        return NullFocusSource(exc.reason, exc.fix)


def _for_platform(
    platform: str,
    env: Mapping[str, str],
    clock: Clock,
    privacy: FocusPrivacy | None,
    urls: BrowserUrls,
) -> FocusSource:
    if platform == "win32":
        from capture.focus.windows import WindowsFocusSource

        return WindowsFocusSource(clock, privacy, urls)
    if platform == "darwin":
        from capture.focus.macos import MacFocusSource

        return MacFocusSource(clock, privacy, urls)
    if is_wayland(env):
        from capture.focus.wayland import create_wayland_source

        return create_wayland_source(clock, privacy, urls, env)
    return _x11(env, clock, privacy, urls)


def _x11(
    env: Mapping[str, str],
    clock: Clock,
    privacy: FocusPrivacy | None,
    urls: BrowserUrls,
) -> FocusSource:
    display = env.get("DISPLAY")
    if not display:
        raise BackendUnavailable(
            "no DISPLAY: not running in a graphical session",
            "start Punchclock from your desktop session",
        )
    try:
        from capture.focus.x11 import X11FocusSource
    except ImportError as exc:
        raise BackendUnavailable(
            f"python-xlib cannot be loaded ({exc})", "reinstall Punchclock"
        ) from exc
    return X11FocusSource(clock, privacy, urls, display=display)
