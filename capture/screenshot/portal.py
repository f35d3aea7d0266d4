"""Screenshots on Wayland through the desktop portal.

Wayland clients cannot read the screen; the sanctioned way is
``org.freedesktop.portal.Screenshot`` (xdg-desktop-portal, see
https://flatpak.github.io/xdg-desktop-portal/docs/doc-org.freedesktop.portal.Screenshot.html).
A call returns a request object; its ``Response`` signal carries a code (0
success, 1 cancelled, 2 refused or failed) and the ``uri`` of a PNG of the
whole desktop, which the portal writes into the worker's pictures folder.
The source reads that file, deletes it at once, and cuts it into monitors by
the layout (:func:`~capture.screenshot.monitors.split_desktop`).

The D-Bus conversation is behind :class:`PortalClient`; tests fake it, the
real one speaks jeepney's blocking API.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, Protocol
from urllib.parse import unquote, urlsplit

from PIL import Image

from capture.base import CaptureHealth, HealthState
from capture.screenshot.common import (
    SOURCE,
    Frame,
    GrabError,
    Monitor,
    ScreenshotSource,
)
from capture.screenshot.monitors import split_desktop

log = logging.getLogger(__name__)

PORTAL = "org.freedesktop.portal.Desktop"
PORTAL_PATH = "/org/freedesktop/portal/desktop"
SCREENSHOT_IFACE = "org.freedesktop.portal.Screenshot"
REQUEST_IFACE = "org.freedesktop.portal.Request"
TIMEOUT = 10.0

REFUSED_FIX = (
    "allow Punchclock to take screenshots when the desktop asks (GNOME: "
    "Settings → Apps → Punchclock → Screenshots), or log in to an X11 session"
)

Results = dict[str, Any]


class PortalClient(Protocol):
    """One Screenshot request and its Response: ``(code, results)``."""

    def screenshot(self, timeout: float) -> tuple[int, Results]: ...

    def close(self) -> None: ...


LayoutProvider = Callable[[], Sequence[Monitor]]


class PortalScreenshotSource(ScreenshotSource):
    """Asks the portal for the desktop, non-interactively, and splits it.

    ``layout`` gives the monitors in the compositor's layout (asked on each
    grab: see :mod:`~capture.screenshot.wayland_layout`); without it, or
    when it fails, the whole desktop is one frame and the health, still
    working, says so in its reason (``no_layout``: why there is none).
    """

    backend = "wayland-portal"

    def __init__(
        self,
        client_factory: Callable[[], PortalClient] | None = None,
        layout: LayoutProvider | None = None,
        timeout: float = TIMEOUT,
        no_layout: str = "",
    ) -> None:
        self._factory = client_factory or JeepneyPortalClient
        self._client: PortalClient | None = None
        self._layout = layout
        self._timeout = timeout
        self._no_layout = no_layout or "no monitor layout was given"
        self._health = self._working("" if layout else self._no_layout)

    def grab(self) -> list[Frame]:
        code, results = self._request()
        if code != 0:
            self._fail(_refusal(code), REFUSED_FIX)
        path = _file_of(results.get("uri"))
        if path is None:
            self._fail("the desktop portal sent no image", REFUSED_FIX)
        image = _read_and_delete(path)
        monitors, missing = self._monitors()
        self._health = self._working(missing)
        if not monitors:
            return [Frame(Monitor(0, 0, 0, image.width, image.height), image)]
        return split_desktop(image, monitors)

    def health(self) -> CaptureHealth:
        return self._health

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _request(self) -> tuple[int, Results]:
        try:
            if self._client is None:
                self._client = self._factory()
            return self._client.screenshot(self._timeout)
        except (OSError, TimeoutError, ValueError, ImportError) as error:
            self.close()
            self._fail(f"the desktop portal did not answer ({error})", _NO_PORTAL_FIX)

    def _monitors(self) -> tuple[Sequence[Monitor], str]:
        """The layout, or none and why (the grab goes on as one frame)."""
        if self._layout is None:
            return (), self._no_layout
        try:
            monitors = self._layout()
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.warning("monitor layout unknown this time: %s", error)
            return (), f"the compositor's monitor layout could not be read ({error})"
        if not monitors:
            return (), "the compositor reported no active monitor"
        return monitors, ""

    def _working(self, missing: str) -> CaptureHealth:
        """Working; with why each screenshot is one frame, where it is."""
        if not missing:
            return CaptureHealth.working(SOURCE, self.backend)
        reason = f"one frame of the whole desktop: {missing}"
        return CaptureHealth(SOURCE, self.backend, HealthState.WORKING, reason)

    def _fail(self, reason: str, fix: str) -> NoReturn:
        reason = f"Wayland: {reason}"
        self._health = CaptureHealth.unavailable(SOURCE, self.backend, reason, fix)
        raise GrabError(reason)


_NO_PORTAL_FIX = "install xdg-desktop-portal and your desktop's portal back end"


def _refusal(code: int) -> str:
    if code == 1:
        return "the screenshot was cancelled at the desktop's prompt"
    return f"the desktop refused the screenshot (portal response {code})"


def _file_of(uri: object) -> Path | None:
    if isinstance(uri, tuple):  # a D-Bus variant: (signature, value)
        uri = uri[1]
    if not isinstance(uri, str):
        return None
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None
    return Path(unquote(parts.path))


def _read_and_delete(path: Path) -> Image.Image:
    """The portal's PNG, loaded, and removed from the worker's pictures."""
    try:
        with Image.open(path) as opened:
            image = opened.convert("RGB")
    except OSError as error:
        raise GrabError(f"the portal's image is unreadable: {error}") from error
    finally:
        path.unlink(missing_ok=True)
    return image


class JeepneyPortalClient:
    """The portal over the session bus, with jeepney's blocking connection."""

    def __init__(self) -> None:
        from jeepney.io.blocking import (  # type: ignore[import-untyped,unused-ignore]
            open_dbus_connection,
        )

        self._conn: Any = open_dbus_connection(bus="SESSION")

    def screenshot(self, timeout: float) -> tuple[int, Results]:
        from jeepney import (  # type: ignore[import-untyped,unused-ignore]
            DBusAddress,
            MatchRule,
            MessageType,
            new_method_call,
        )
        from jeepney.bus_messages import (  # type: ignore[import-untyped,unused-ignore]
            message_bus,
        )

        # Subscribe to the Response before calling, on the request path the
        # portal will use (its documented handle_token scheme), so the
        # signal cannot arrive before we listen.
        token = f"punchclock{secrets.token_hex(6)}"
        sender = self._conn.unique_name.lstrip(":").replace(".", "_")
        rule = MatchRule(
            type="signal",
            interface=REQUEST_IFACE,
            member="Response",
            path=f"{PORTAL_PATH}/request/{sender}/{token}",
        )
        address = DBusAddress(PORTAL_PATH, bus_name=PORTAL, interface=SCREENSHOT_IFACE)
        options = {"handle_token": ("s", token), "interactive": ("b", False)}
        call = new_method_call(address, "Screenshot", "sa{sv}", ("", options))
        with self._conn.filter(rule) as queue:
            self._conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=timeout)
            reply = self._conn.send_and_get_reply(call, timeout=timeout)
            if reply.header.message_type is MessageType.error:
                raise OSError(f"portal error: {reply.body}")
            signal = self._conn.recv_until_filtered(queue, timeout=timeout)
        code, results = signal.body
        return int(code), dict(results)

    def close(self) -> None:
        self._conn.close()
