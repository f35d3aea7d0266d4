"""Whether there is a desktop for a window, checked before Qt is asked.

Without one, Qt's xcb plugin aborts the process (a core dump) with a message
blaming a missing ``libxcb-cursor0``. On Linux and the BSDs, with neither
``DISPLAY`` nor ``WAYLAND_DISPLAY`` set and no ``QT_QPA_PLATFORM`` chosen
(``offscreen``, ``vnc``…), there is no desktop: say so in one line instead.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from agent.errors import UserError

_DESKTOP_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


class NoDesktopError(UserError):
    """There is no display for a window in this session."""


def require_desktop(
    what: str, instead: str, env: Mapping[str, str] | None = None
) -> None:
    """Raise :class:`NoDesktopError` when Qt would find no display.

    ``what`` names the window ("the tray"), ``instead`` what the worker can
    do without one.
    """
    if not _uses_x11_or_wayland():
        return
    variables = os.environ if env is None else env
    if any(variables.get(name) for name in _DESKTOP_VARIABLES):
        return
    raise NoDesktopError(
        f"no desktop to show {what} on (DISPLAY and WAYLAND_DISPLAY are not "
        f"set): start Punchclock from your desktop session, or {instead}"
    )


def _uses_x11_or_wayland() -> bool:
    return sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd"))
