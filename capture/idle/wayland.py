"""Idle time on Wayland from the desktop's D-Bus services.

A Wayland client cannot see other clients' input, so the desktop must say
how long the session has been idle:

- GNOME: ``org.gnome.Mutter.IdleMonitor.GetIdletime`` (milliseconds) on
  ``/org/gnome/Mutter/IdleMonitor/Core``; the lock from
  ``org.gnome.ScreenSaver.GetActive``.
- KDE and wlroots compositors: the compositor's idle notification
  (``ext-idle-notify-v1`` or ``org_kde_kwin_idle``, see ``idle_notify``);
  the lock from ``org.freedesktop.ScreenSaver.GetActive`` where offered.
  Where neither exists, idle is unavailable and the health says so.

The D-Bus calls go through :data:`DBusCall`, the thin layer tests replace.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from capture.base import BackendUnavailable
from capture.idle.common import IdleReading, PollingIdleSource
from capture.idle.idle_notify import CompositorIdle

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
DBUS_BACKEND = "wayland-dbus"
COMPOSITOR_BACKEND = "wayland-idle-notify"
NO_IDLE = (
    "this Wayland desktop offers its idle time neither on D-Bus (GNOME's "
    "Mutter IdleMonitor) nor as the compositor's idle notification",
    "on GNOME, KDE, sway, Hyprland or labwc idle is detected; elsewhere it "
    "is unknown, and activity is stored as unknown, not 0 %",
)

# (destination, path, interface, member) -> the reply's body
DBusCall = Callable[[str, str, str, str], tuple[Any, ...]]


class DBusCallError(Exception):
    """A D-Bus call failed or the service is not there."""


class WaylandIdleSource(PollingIdleSource):
    backend = DBUS_BACKEND

    def __init__(
        self, call: DBusCall | None = None, compositor: CompositorIdle | None = None
    ) -> None:
        super().__init__()
        self._call = call or JeepneyCall()
        self._compositor = compositor
        # The screen saver service that answered last: asked first, so a
        # tick costs one call for the lock, not one per missing service.
        self._savers = [GNOME_SAVER, FDO_SAVER]
        self._mutter_missing = False

    def _query(self) -> IdleReading:
        if self._mutter_missing and self._compositor is not None:
            try:
                return IdleReading(self._compositor.seconds(), self._locked())
            except BackendUnavailable:
                self._mutter_missing = False  # ask GNOME again
        try:
            (milliseconds,) = self._call(*MUTTER, "GetIdletime")
            seconds = int(milliseconds) / 1000.0
        except (DBusCallError, OSError, ValueError, TypeError) as exc:
            if self._compositor is None:
                raise BackendUnavailable(*NO_IDLE) from exc
            self._mutter_missing = True
            try:
                seconds = self._compositor.seconds()
            except BackendUnavailable as missing:
                raise BackendUnavailable(*NO_IDLE) from missing
        # The health names what answered (doctor, what is collected now).
        self.backend = COMPOSITOR_BACKEND if self._mutter_missing else DBUS_BACKEND
        return IdleReading(seconds, self._locked())

    def close(self) -> None:
        if self._compositor is not None:
            self._compositor.stop()

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
