"""Focus on Wayland, where the compositor offers a way to see it.

Wayland has no standard protocol that tells a client which window is
focused. Two desktop helpers do, over the session bus:

- GNOME Shell with the "Focused Window D-Bus" extension (``Get`` on
  ``/org/gnome/shell/extensions/FocusedWindow``) or the "Window Calls"
  extension (``List`` on ``/org/gnome/Shell/Extensions/Windows``). Neither
  emits a signal, so the source asks every ``poll`` seconds (0.5 s).
- KWin (KDE Plasma): the source serves ``io.punchclock.Focus`` on the bus
  and loads a KWin script that calls it on every activation and title
  change, so switches arrive as events.

Failing those, wlroots compositors (sway, Hyprland, labwc, river, Wayfire)
list their windows through the wlr-foreign-toplevel-management protocol on
the Wayland socket itself (``capture.focus.wlroots``).

Where none is present the factory returns the Null source with the
reason "Wayland: focused window not exposed by this compositor".

The bus is reached through jeepney's blocking connection (``bus_factory``),
which tests point at a private dbus-daemon with fake GNOME/KWin services.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agent.clock import Clock
from capture.base import BackendUnavailable, CaptureHealth
from capture.browser.urls import BrowserUrls
from capture.focus.common import SOURCE, EmittingFocusSource, FocusedWindow
from capture.focus.privacy import FocusPrivacy

log = logging.getLogger(__name__)

NOT_EXPOSED = "Wayland: focused window not exposed by this compositor"
NOT_EXPOSED_FIX = (
    "on GNOME install the 'Focused Window D-Bus' or 'Window Calls' shell "
    "extension; on KDE Plasma allow KWin scripts; or log in to an X11 session"
)
CALL_TIMEOUT = 1.0

GNOME_SHELL = "org.gnome.Shell"
GNOME_FOCUSED = (
    "/org/gnome/shell/extensions/FocusedWindow",
    "org.gnome.shell.extensions.FocusedWindow",
    "Get",
)
GNOME_WINDOWS = (
    "/org/gnome/Shell/Extensions/Windows",
    "org.gnome.Shell.Extensions.Windows",
    "List",
)
KWIN = "org.kde.KWin"
KWIN_SCRIPTING = ("/Scripting", "org.kde.kwin.Scripting")
SERVICE = "io.punchclock.Focus"
SERVICE_PATH = "/io/punchclock/Focus"

# Reports the active window (KWin 6 and 5 APIs) to SERVICE's Update method.
KWIN_SCRIPT = """
function active() {
  return workspace.activeWindow !== undefined ? workspace.activeWindow
                                              : workspace.activeClient;
}
function report(w) {
  callDBus("@SERVICE@", "@PATH@", "@SERVICE@", "Update",
           w ? String(w.caption || "") : "", w ? String(w.resourceClass || "") : "",
           w ? (w.pid || 0) : 0, w ? String(w.internalId) : "");
}
function watch(w) {
  if (!w || w.punchclockWatched) return;
  w.punchclockWatched = true;
  w.captionChanged.connect(function () { if (w === active()) report(w); });
}
var activated = workspace.windowActivated || workspace.clientActivated;
activated.connect(function (w) { watch(w); report(w); });
watch(active());
report(active());
""".replace("@SERVICE@", SERVICE).replace("@PATH@", SERVICE_PATH)

BusFactory = Callable[[], Any]


def _jeepney_bus() -> Any:
    from jeepney.io.blocking import (  # type: ignore[import-untyped,unused-ignore]
        open_dbus_connection,
    )

    return open_dbus_connection(bus="SESSION")


def create_wayland_source(
    clock: Clock,
    privacy: FocusPrivacy | None,
    urls: BrowserUrls,
    environ: Mapping[str, str],
    bus_factory: BusFactory | None = None,
) -> EmittingFocusSource:
    """The Wayland back end the session offers; raises when there is none."""
    factory = bus_factory or _jeepney_bus
    no_bus: Exception | None = None
    try:
        bus = factory()
    except (ImportError, OSError, ValueError, KeyError) as exc:
        no_bus = exc
    else:
        source = _bus_source(bus, clock, privacy, urls, factory)
        if source is not None:
            return source

    from capture.focus import wlroots

    path = wlroots.socket_path(environ)
    if path is not None and wlroots.advertises_foreign_toplevel(environ):
        return wlroots.WlrootsFocusSource(clock, privacy, urls, path)
    if no_bus is not None:
        raise BackendUnavailable(
            f"{NOT_EXPOSED} (no session bus: {no_bus})", NOT_EXPOSED_FIX
        ) from no_bus
    raise BackendUnavailable(NOT_EXPOSED, NOT_EXPOSED_FIX)


def _bus_source(
    bus: Any,
    clock: Clock,
    privacy: FocusPrivacy | None,
    urls: BrowserUrls,
    factory: BusFactory,
) -> EmittingFocusSource | None:
    """The GNOME or KWin source, when the session bus offers one."""
    try:
        method = _gnome_method(bus)
        if method is not None:
            return GnomeFocusSource(clock, privacy, urls, factory, method)
        if _has_owner(bus, KWIN):
            return KWinFocusSource(clock, privacy, urls, factory)
    finally:
        bus.close()
    return None


def _call(bus: Any, dest: str, path: str, iface: str, member: str, *args: Any) -> Any:
    """One method call; returns the reply body or raises DBusCallError."""
    from jeepney import (  # type: ignore[import-untyped,unused-ignore]
        DBusAddress,
        MessageType,
        new_method_call,
    )

    address = DBusAddress(path, bus_name=dest, interface=iface)
    signature = _signature(args)
    message = new_method_call(address, member, signature or None, args or None)
    reply = bus.send_and_get_reply(message, timeout=CALL_TIMEOUT)
    if reply.header.message_type is MessageType.error:
        raise DBusCallError(f"{dest} {member}: {reply.body}")
    return reply.body


def _signature(args: tuple[Any, ...]) -> str:
    codes = {str: "s", int: "i", bool: "b"}
    return "".join(codes[type(a)] for a in args)


class DBusCallError(Exception):
    """A D-Bus method call was answered with an error."""


def _has_owner(bus: Any, name: str) -> bool:
    try:
        body = _call(
            bus,
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NameHasOwner",
            name,
        )
    except (DBusCallError, TimeoutError, OSError):
        return False
    return bool(body and body[0])


def _gnome_method(bus: Any) -> tuple[str, str, str] | None:
    """The GNOME extension that answers, if any."""
    for method in (GNOME_FOCUSED, GNOME_WINDOWS):
        try:
            _call(bus, GNOME_SHELL, *method)
        except (DBusCallError, TimeoutError, OSError):
            continue
        return method
    return None


def window_from_gnome(reply: str, listing: bool) -> FocusedWindow | None:
    """The focused window in a GNOME extension's JSON answer."""
    data = json.loads(reply)
    if listing:
        focused = [w for w in data if isinstance(w, dict) and w.get("focus")]
        data = focused[0] if focused else None
    if not isinstance(data, dict) or not data:
        return None
    pid = data.get("pid")
    window_id = data.get("id")
    return FocusedWindow(
        window_id=window_id if isinstance(window_id, int) else None,
        pid=pid if isinstance(pid, int) and pid > 0 else None,
        wm_class=str(data.get("wm_class") or "") or None,
        title=str(data.get("title") or ""),
    )


class _BusThreadSource(EmittingFocusSource):
    """A focus source whose thread talks to the session bus."""

    def __init__(
        self,
        clock: Clock,
        privacy: FocusPrivacy | None,
        urls: BrowserUrls | None,
        bus_factory: BusFactory,
    ) -> None:
        super().__init__(clock, privacy, urls)
        self._bus_factory = bus_factory
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _start_backend(self) -> None:
        self._thread = threading.Thread(
            target=self._guarded_run, name=f"focus-{self.backend}", daemon=True
        )
        self._thread.start()

    def _stop_backend(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    def _guarded_run(self) -> None:
        while not self._stop.is_set():
            try:
                bus = self._bus_factory()
            except (OSError, ValueError) as exc:
                self._lost(f"session bus unavailable: {exc}")
                self._stop.wait(2.0)
                continue
            try:
                self._set_health(CaptureHealth.working(SOURCE, self.backend))
                self._run(bus)
            except (DBusCallError, TimeoutError, OSError, ValueError) as exc:
                self._lost(f"{self.backend} stopped answering: {exc}")
                self._stop.wait(2.0)
            finally:
                bus.close()

    def _lost(self, reason: str) -> None:
        self._observe(None, self._clock.now(), self._clock.monotonic())
        self._set_health(CaptureHealth.unavailable(SOURCE, self.backend, reason))

    def _run(self, bus: Any) -> None:
        raise NotImplementedError


class GnomeFocusSource(_BusThreadSource):
    """GNOME Shell through a focus-exposing extension, polled."""

    backend = "wayland-gnome"

    def __init__(
        self,
        clock: Clock,
        privacy: FocusPrivacy | None,
        urls: BrowserUrls | None,
        bus_factory: BusFactory,
        method: tuple[str, str, str],
        poll: float = 0.5,
    ) -> None:
        super().__init__(clock, privacy, urls, bus_factory)
        self._method = method
        self._poll = poll

    def _run(self, bus: Any) -> None:
        listing = self._method == GNOME_WINDOWS
        while not self._stop.is_set():
            at, mono = self._clock.now(), self._clock.monotonic()
            (reply,) = _call(bus, GNOME_SHELL, *self._method)
            self._observe(window_from_gnome(reply, listing), at, mono)
            self._stop.wait(self._poll)


class KWinFocusSource(_BusThreadSource):
    """KWin through a script that calls our bus service on every change."""

    backend = "wayland-kwin"

    def _run(self, bus: Any) -> None:
        from jeepney import (  # type: ignore[import-untyped,unused-ignore]
            MatchRule,
            MessageType,
            new_method_return,
        )
        from jeepney.bus_messages import (  # type: ignore[import-untyped,unused-ignore]
            message_bus,
        )

        bus.send_and_get_reply(message_bus.RequestName(SERVICE), timeout=CALL_TIMEOUT)
        rule = MatchRule(type="method_call", interface=SERVICE, path=SERVICE_PATH)
        calls: deque[Any] = deque()
        with bus.filter(rule, queue=calls, bufsize=64):
            self._load_script(bus)
            while not self._stop.is_set():
                try:
                    message = bus.recv_until_filtered(calls, timeout=1.0)
                except TimeoutError:
                    continue
                if message.header.message_type is MessageType.method_call:
                    self._update(message.body)
                    bus.send(new_method_return(message))

    def _load_script(self, bus: Any) -> None:
        with tempfile.NamedTemporaryFile(
            "w", prefix="punchclock-kwin-", suffix=".js", delete=False
        ) as script:
            script.write(KWIN_SCRIPT)
        path = Path(script.name)
        _call(bus, KWIN, *KWIN_SCRIPTING, "loadScript", str(path), SERVICE)
        _call(bus, KWIN, *KWIN_SCRIPTING, "start")

    def _update(self, body: tuple[Any, ...]) -> None:
        at, mono = self._clock.now(), self._clock.monotonic()
        if len(body) != 4:
            log.warning("KWin script sent %d values, expected 4", len(body))
            return
        caption, resource_class, pid, _window_id = body
        if not resource_class and not caption:
            self._observe(None, at, mono)
            return
        self._observe(
            FocusedWindow(
                window_id=None,
                pid=int(pid) or None,
                wm_class=str(resource_class) or None,
                title=str(caption),
            ),
            at,
            mono,
        )
