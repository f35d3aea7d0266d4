"""Idle time on Wayland from the desktop's D-Bus services.

A Wayland client cannot see other clients' input, so the desktop must say
how long the session has been idle:

- GNOME: ``org.gnome.Mutter.IdleMonitor.GetIdletime`` (milliseconds) on
  ``/org/gnome/Mutter/IdleMonitor/Core``; the lock from
  ``org.gnome.ScreenSaver.GetActive``.
- KDE and others implementing ``org.freedesktop.ScreenSaver``: only the
  lock (``GetActive``); their idle time goes through ``ext-idle-notify-v1``,
  a Wayland protocol Python cannot use without a compositor binding, so
  idle is then unavailable and the health says so.

The D-Bus calls go through :data:`DBusCall`, the thin layer tests replace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from capture.base import BackendUnavailable
from capture.idle.common import IdleReading, PollingIdleSource

log = logging.getLogger(__name__)

MUTTER = (
    "org.gnome.Mutter.IdleMonitor",
    "/org/gnome/Mutter/IdleMonitor/Core",
    "org.gnome.Mutter.IdleMonitor",
)
GNOME_SAVER = (
    "org.gnome.ScreenSaver",
    "/org/gnome/ScreenSaver",
    "org.gnome.ScreenSaver",
)
FDO_SAVER = (
    "org.freedesktop.ScreenSaver",
    "/org/freedesktop/ScreenSaver",
    "org.freedesktop.ScreenSaver",
)
CALL_TIMEOUT = 1.0
NO_IDLE = (
    "this Wayland desktop does not offer its idle time on D-Bus "
    "(GNOME's Mutter IdleMonitor is not running)",
    "idle is detected from the input listeners where they work; on KDE and "
    "wlroots desktops it is not available yet",
)

# (destination, path, interface, member) -> the reply's body
DBusCall = Callable[[str, str, str, str], tuple[Any, ...]]


class DBusCallError(Exception):
    """A D-Bus call failed or the service is not there."""


class WaylandIdleSource(PollingIdleSource):
    backend = "wayland-dbus"

    def __init__(self, call: DBusCall | None = None) -> None:
        super().__init__()
        self._call = call or JeepneyCall()
        # The screen saver service that answered last: asked first, so a
        # tick costs one call for the lock, not one per missing service.
        self._savers = [GNOME_SAVER, FDO_SAVER]

    def _query(self) -> IdleReading:
        try:
            (milliseconds,) = self._call(*MUTTER, "GetIdletime")
            seconds = int(milliseconds) / 1000.0
        except (DBusCallError, OSError, ValueError, TypeError) as exc:
            raise BackendUnavailable(*NO_IDLE) from exc
        return IdleReading(seconds, self._locked())

    def _locked(self) -> bool | None:
        for service in list(self._savers):
            try:
                (active,) = self._call(*service, "GetActive")
            except (DBusCallError, OSError, ValueError):
                continue
            if service is not self._savers[0]:
                self._savers.remove(service)
                self._savers.insert(0, service)
            return bool(active)
        return None


class JeepneyCall:
    """Method calls on the session bus through jeepney, one connection kept."""

    def __init__(self) -> None:
        self._bus: Any = None

    def __call__(
        self, dest: str, path: str, iface: str, member: str
    ) -> tuple[Any, ...]:
        from jeepney import (  # type: ignore[import-untyped,unused-ignore]
            DBusAddress,
            MessageType,
            new_method_call,
        )

        bus = self._connect()
        message = new_method_call(
            DBusAddress(path, bus_name=dest, interface=iface), member
        )
        try:
            reply = bus.send_and_get_reply(message, timeout=CALL_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            self._bus = None
            raise DBusCallError(f"{dest} {member}: {exc}") from exc
        if reply.header.message_type is MessageType.error:
            raise DBusCallError(f"{dest} {member}: {reply.body}")
        return tuple(reply.body)

    def _connect(self) -> Any:
        if self._bus is None:
            try:
                from jeepney.io.blocking import (  # type: ignore[import-untyped,unused-ignore]
                    open_dbus_connection,
                )

                self._bus = open_dbus_connection(bus="SESSION")
            except (ImportError, OSError, ValueError, KeyError) as exc:
                raise DBusCallError(f"no session bus ({exc})") from exc
        return self._bus
