"""Focus on wlroots compositors (sway, Hyprland, labwc, river, Wayfire).

These compositors list their windows to any client through the
``zwlr_foreign_toplevel_manager_v1`` global (wlr-foreign-toplevel-management-
unstable-v1, https://wayland.app/protocols/wlr-foreign-toplevel-management-
unstable-v1). Each window is a handle whose title, app_id and state (2 =
activated) are double-buffered: they apply on the handle's ``done`` event.

The client here speaks the Wayland wire protocol itself over the compositor's
Unix socket ($XDG_RUNTIME_DIR/$WAYLAND_DISPLAY), so it needs neither
libwayland nor generated bindings, and only the few messages it uses:

- every message is a header — object id (u32), then size << 16 | opcode
  (u32), native byte order — and 4-byte aligned arguments: int/uint/fixed
  and object/new_id as 4 bytes, a string as its length with the NUL and the
  bytes padded to 4, an array as its length and the padded bytes;
- ``wl_display.get_registry`` and ``sync``, ``wl_registry.global`` and
  ``bind``, the manager's ``toplevel`` and ``finished`` events, the handle's
  events and its ``destroy`` request after ``closed``.

:class:`ToplevelClient` is that protocol without sockets or threads (bytes
in, requests out); :class:`WlrootsFocusSource` runs it on its own thread,
which waits in ``select`` on the socket and a wake pipe. Focus is read after
each batch of events, so a switch (old window deactivated, new one
activated, sent together) never shows as a moment of "nothing focused".
A compositor that goes away is reported in the health and reconnected with
a growing back-off; a malformed message is logged and skipped, a stream that
can no longer be framed is dropped and reconnected. The protocol carries no
process id, so samples have none; the app name comes from the app_id.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from agent.clock import Clock
from capture.base import BackendUnavailable, CaptureError, CaptureHealth
from capture.browser.urls import BrowserUrls
from capture.focus.common import SOURCE, EmittingFocusSource, FocusedWindow
from capture.focus.privacy import FocusPrivacy

log = logging.getLogger(__name__)

MANAGER = "zwlr_foreign_toplevel_manager_v1"
MANAGER_VERSION = 3
ACTIVATED = 2

ABSENT = f"Wayland: the compositor does not offer {MANAGER}"
ABSENT_FIX = (
    "use a compositor that offers wlr-foreign-toplevel-management (sway, "
    "Hyprland, labwc, river, Wayfire), or log in to an X11 session"
)
PROBE_TIMEOUT = 1.0
SEND_TIMEOUT = 2.0
# More windows than any desktop holds: a compositor past this is broken.
MAX_TOPLEVELS = 4096

_DISPLAY_ID = 1
_HEADER = struct.Struct("=II")
_U32 = struct.Struct("=I")
_MAX_FDS = 28  # libwayland's limit per message batch

# Opcodes, in the order of each interface's XML.
_GET_REGISTRY, _SYNC = 1, 0
_DISPLAY_ERROR, _DISPLAY_DELETE_ID = 0, 1
_REGISTRY_BIND = 0
_REGISTRY_GLOBAL, _REGISTRY_GLOBAL_REMOVE = 0, 1
_CALLBACK_DONE = 0
_MANAGER_TOPLEVEL, _MANAGER_FINISHED = 0, 1
_HANDLE_TITLE, _HANDLE_APP_ID, _HANDLE_STATE = 0, 1, 4
_HANDLE_DONE, _HANDLE_CLOSED = 5, 6
_HANDLE_DESTROY = 7

# First halves of reverse-DNS app ids ("org.gnome.Nautilus").
_DNS_ROOTS = frozenset(
    ("org", "com", "net", "io", "dev", "app", "de", "eu", "me", "page", "im")
)


class WireError(CaptureError):
    """The compositor sent bytes that cannot be read as Wayland messages."""


class CompositorError(CaptureError):
    """The compositor reported an error or withdrew the toplevel list."""


# the wire format


def pack_message(object_id: int, opcode: int, *args: bytes) -> bytes:
    payload = b"".join(args)
    size = _HEADER.size + len(payload)
    return _HEADER.pack(object_id, size << 16 | opcode) + payload


def uint_arg(value: int) -> bytes:
    return _U32.pack(value)


def string_arg(text: str) -> bytes:
    data = text.encode() + b"\0"
    return _U32.pack(len(data)) + data + _padding(len(data))


def _padding(length: int) -> bytes:
    return b"\0" * (-length % 4)


@dataclass(frozen=True)
class Message:
    object_id: int
    opcode: int
    payload: bytes


class Args:
    """Reads one message's arguments in order; raises WireError when short."""

    def __init__(self, payload: bytes) -> None:
        self._data = payload
        self._at = 0

    def uint(self) -> int:
        end = self._at + 4
        if end > len(self._data):
            raise WireError("message too short for its arguments")
        (value,) = _U32.unpack_from(self._data, self._at)
        self._at = end
        return int(value)

    def blob(self) -> bytes:
        length = self.uint()
        end = self._at + length
        if end > len(self._data):
            raise WireError(f"argument of {length} bytes runs past the message")
        data = self._data[self._at : end]
        self._at = end + (-length % 4)
        return data

    def string(self) -> str:
        # A null string has length 0; otherwise the bytes end with a NUL.
        data = self.blob()
        return data.split(b"\0", 1)[0].decode("utf-8", errors="replace")

    def uints(self) -> list[int]:
        data = self.blob()
        count = len(data) // 4
        return list(struct.unpack(f"={count}I", data[: count * 4]))


class MessageBuffer:
    """Cuts the byte stream into messages, keeping an incomplete tail."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[Message]:
        buf = self._pending + data
        messages: list[Message] = []
        at = 0
        while len(buf) - at >= _HEADER.size:
            object_id, word = _HEADER.unpack_from(buf, at)
            size, opcode = word >> 16, word & 0xFFFF
            if size < _HEADER.size:
                # Nothing after this can be framed: the caller reconnects.
                raise WireError(f"message of {size} bytes is shorter than a header")
            if len(buf) - at < size:
                break
            messages.append(Message(object_id, opcode, buf[at + 8 : at + size]))
            at += size
        self._pending = buf[at:]
        return messages


# the protocol


@dataclass
class Toplevel:
    """One window as the compositor lists it; ``pending`` until ``done``."""

    handle: int
    title: str = ""
    app_id: str = ""
    activated: bool = False
    activated_at: int = 0
    pending: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class FocusedToplevel:
    handle: int
    title: str
    app_id: str


Handler = Callable[[int, int, Args], None]


class ToplevelClient:
    """The foreign-toplevel protocol without sockets: bytes in, requests out.

    ``hello`` starts the conversation; ``receive`` takes what the compositor
    sent and returns the requests to send back. ``ready`` turns true once the
    registry and, if bound, the initial window list have arrived (two
    ``wl_display.sync`` round trips); ``advertised`` says then whether the
    compositor offers the manager. With ``bind=False`` the client only
    looks at the registry (the factory's probe).
    """

    def __init__(self, bind: bool = True) -> None:
        self._bind = bind
        self._next_id = 2
        self._objects: dict[int, str] = {_DISPLAY_ID: "display"}
        self._buffer = MessageBuffer()
        self._out: list[bytes] = []
        self._manager_name: int | None = None
        self._sync_id = 0
        self._awaiting_list = False
        self._toplevels: dict[int, Toplevel] = {}
        self._activations = 0
        self.ready = False
        self.advertised = False

    def hello(self) -> bytes:
        registry = self._new_object("registry")
        self._out.append(pack_message(_DISPLAY_ID, _GET_REGISTRY, uint_arg(registry)))
        self._sync()
        return self._flush()

    def receive(self, data: bytes) -> bytes:
        for message in self._buffer.feed(data):
            self._dispatch(message)
        return self._flush()

    def focused(self) -> FocusedToplevel | None:
        """The most recently activated window that is still activated."""
        active = [t for t in self._toplevels.values() if t.activated]
        if not active:
            return None
        top = max(active, key=lambda t: t.activated_at)
        return FocusedToplevel(top.handle, top.title, top.app_id)

    # plumbing

    def _new_object(self, kind: str) -> int:
        object_id = self._next_id
        self._next_id += 1
        self._objects[object_id] = kind
        return object_id

    def _sync(self) -> None:
        self._sync_id = self._new_object("callback")
        self._out.append(pack_message(_DISPLAY_ID, _SYNC, uint_arg(self._sync_id)))

    def _flush(self) -> bytes:
        out, self._out = b"".join(self._out), []
        return out

    def _dispatch(self, message: Message) -> None:
        kind = self._objects.get(message.object_id)
        handler: Handler | None = getattr(self, f"_on_{kind}", None)
        if handler is None:
            # Events for a handle we destroyed may still be in flight.
            log.debug(
                "event %d for unknown object %d", message.opcode, message.object_id
            )
            return
        try:
            handler(message.object_id, message.opcode, Args(message.payload))
        except WireError as exc:
            log.warning("skipped malformed %s event %d: %s", kind, message.opcode, exc)

    # events, per interface

    def _on_display(self, _id: int, opcode: int, args: Args) -> None:
        if opcode == _DISPLAY_ERROR:
            object_id, code, text = args.uint(), args.uint(), args.string()
            raise CompositorError(
                f"protocol error {code} on object {object_id}: {text}"
            )
        if opcode == _DISPLAY_DELETE_ID:
            object_id = args.uint()
            if object_id != _DISPLAY_ID:
                self._objects.pop(object_id, None)

    def _on_registry(self, registry: int, opcode: int, args: Args) -> None:
        if opcode == _REGISTRY_GLOBAL:
            name, interface, version = args.uint(), args.string(), args.uint()
            if interface == MANAGER and self._manager_name is None:
                self._manager_name = name
                self.advertised = True
                if self._bind:
                    self._bind_manager(registry, name, version)
        elif opcode == _REGISTRY_GLOBAL_REMOVE and args.uint() == self._manager_name:
            raise CompositorError(f"the compositor removed {MANAGER}")

    def _bind_manager(self, registry: int, name: int, version: int) -> None:
        manager = self._new_object("manager")
        bound = min(version, MANAGER_VERSION)
        self._out.append(
            pack_message(
                registry,
                _REGISTRY_BIND,
                uint_arg(name),
                string_arg(MANAGER),
                uint_arg(bound),
                uint_arg(manager),
            )
        )
        log.debug("bound %s version %d as object %d", MANAGER, bound, manager)

    def _on_callback(self, callback: int, opcode: int, _args: Args) -> None:
        if opcode != _CALLBACK_DONE or callback != self._sync_id:
            return
        self._objects.pop(callback, None)
        if self._bind and self.advertised and not self._awaiting_list:
            # The initial window list follows the bind: one more round trip.
            self._awaiting_list = True
            self._sync()
            return
        self.ready = True

    def _on_manager(self, _manager: int, opcode: int, args: Args) -> None:
        if opcode == _MANAGER_TOPLEVEL:
            handle = args.uint()
            if handle in self._objects:
                raise WireError(f"new toplevel reuses object id {handle}")
            if len(self._toplevels) >= MAX_TOPLEVELS:
                raise WireError(f"more than {MAX_TOPLEVELS} toplevels")
            self._objects[handle] = "handle"
            self._toplevels[handle] = Toplevel(handle)
        elif opcode == _MANAGER_FINISHED:
            raise CompositorError("the compositor finished the toplevel list")

    def _on_handle(self, handle: int, opcode: int, args: Args) -> None:
        toplevel = self._toplevels[handle]
        if opcode == _HANDLE_TITLE:
            toplevel.pending["title"] = args.string()
        elif opcode == _HANDLE_APP_ID:
            toplevel.pending["app_id"] = args.string()
        elif opcode == _HANDLE_STATE:
            toplevel.pending["activated"] = ACTIVATED in args.uints()
        elif opcode == _HANDLE_DONE:
            self._apply(toplevel)
        elif opcode == _HANDLE_CLOSED:
            del self._toplevels[handle]
            self._objects.pop(handle, None)
            self._out.append(pack_message(handle, _HANDLE_DESTROY))

    def _apply(self, toplevel: Toplevel) -> None:
        pending, toplevel.pending = toplevel.pending, {}
        toplevel.title = str(pending.get("title", toplevel.title))
        toplevel.app_id = str(pending.get("app_id", toplevel.app_id))
        activated = bool(pending.get("activated", toplevel.activated))
        if activated and not toplevel.activated:
            self._activations += 1
            toplevel.activated_at = self._activations
        toplevel.activated = activated


# the compositor's socket


def socket_path(environ: Mapping[str, str]) -> Path | None:
    """Where the compositor listens, as libwayland finds it; None if unknown."""
    display = environ.get("WAYLAND_DISPLAY") or "wayland-0"
    if os.path.isabs(display):
        return Path(display)
    runtime = environ.get("XDG_RUNTIME_DIR")
    return Path(runtime, display) if runtime else None


def connect(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(SEND_TIMEOUT)
        sock.connect(str(path))
    except OSError:
        sock.close()
        raise
    return sock


def receive(sock: socket.socket) -> bytes:
    """Reads what is there; closes any descriptors the compositor attached."""
    data, ancillary, _flags, _addr = sock.recvmsg(
        65536, socket.CMSG_SPACE(_MAX_FDS * 4)
    )
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            usable = len(payload) - len(payload) % 4
            for fd in struct.unpack(f"={usable // 4}i", payload[:usable]):
                os.close(fd)
    return data


def advertises_foreign_toplevel(
    environ: Mapping[str, str], timeout: float = PROBE_TIMEOUT
) -> bool:
    """Whether the session's compositor offers the manager global.

    Called by the factory on the agent's thread; blocks at most ``timeout``.
    """
    path = socket_path(environ)
    if path is None:
        return False
    client = ToplevelClient(bind=False)
    deadline = time.monotonic() + timeout
    try:
        with connect(path) as sock:
            sock.sendall(client.hello())
            while not client.ready:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("no answer to wl_display.sync")
                sock.settimeout(left)
                data = receive(sock)
                if not data:
                    raise ConnectionError("the compositor closed the connection")
                client.receive(data)
    except (OSError, CaptureError) as exc:
        log.info("no wlroots toplevel list at %s: %s", path, exc)
        return False
    return client.advertised


def app_name(app_id: str) -> str | None:
    """A readable name for an app_id: "org.gnome.Nautilus" -> "Nautilus"."""
    name = app_id.strip().removesuffix(".desktop")
    if not name:
        return None
    parts = name.split(".")
    reverse_dns = len(parts) >= 3 or (len(parts) == 2 and parts[0] in _DNS_ROOTS)
    if reverse_dns and parts[-1]:
        return parts[-1]
    return name


def window_of(toplevel: FocusedToplevel | None) -> FocusedWindow | None:
    if toplevel is None:
        return None
    return FocusedWindow(
        window_id=toplevel.handle,
        pid=None,
        wm_class=toplevel.app_id or None,
        title=toplevel.title,
        app=app_name(toplevel.app_id),
    )


class _Stopped(Exception):
    """The source was asked to stop while connected."""


class WlrootsFocusSource(EmittingFocusSource):
    """Follows the activated window of a wlroots compositor, event-driven.

    ``path`` is the compositor's socket; ``retry`` the first and the
    longest wait before reconnecting, doubled after each failed attempt.
    Samples carry the handle's object id as ``window_id``: it tells windows
    apart within one connection, not across a reconnect.
    """

    backend = "wayland-wlroots"

    def __init__(
        self,
        clock: Clock,
        privacy: FocusPrivacy | None,
        urls: BrowserUrls | None,
        path: Path,
        retry: tuple[float, float] = (0.5, 10.0),
    ) -> None:
        super().__init__(clock, privacy, urls)
        self._path = path
        self._retry = retry
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = -1, -1
        self._thread: threading.Thread | None = None
        self._reached = False

    def _start_backend(self) -> None:
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(
            target=self._run, name="focus-wayland-wlroots", daemon=True
        )
        self._thread.start()

    def _stop_backend(self) -> None:
        self._stopping.set()
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=2)
            if self._thread.is_alive():
                log.warning("wlroots focus thread did not stop in time")
                return
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _run(self) -> None:
        delay = self._retry[0]
        while not self._stopping.is_set():
            self._reached = False
            try:
                self._session()
            except _Stopped:
                return
            except BackendUnavailable as exc:
                self._lost(exc.reason, exc.fix)
            except (OSError, CaptureError) as exc:
                self._lost(f"Wayland compositor connection lost ({exc}); reconnecting")
            except Exception:
                # A bug here must not end focus capture for the session.
                log.exception("wlroots focus source failed")
                self._lost("the wlroots focus reader failed; restarting it")
            if self._reached:
                delay = self._retry[0]
            log.debug("reconnecting to %s in %.1f s", self._path, delay)
            if self._wait(delay):
                return
            delay = min(delay * 2, self._retry[1])

    def _session(self) -> None:
        with connect(self._path) as sock:
            client = ToplevelClient()
            sock.sendall(client.hello())
            while True:
                self._await(sock)
                at, mono = self._clock.now(), self._clock.monotonic()
                data = receive(sock)
                if not data:
                    raise ConnectionError("the compositor closed the connection")
                reply = client.receive(data)
                if reply:
                    sock.sendall(reply)
                if not client.ready:
                    continue
                if not client.advertised:
                    raise BackendUnavailable(ABSENT, ABSENT_FIX)
                self._reached = True
                self._set_health(CaptureHealth.working(SOURCE, self.backend))
                self._observe(window_of(client.focused()), at, mono)

    def _await(self, sock: socket.socket) -> None:
        """Returns when the socket is readable; raises _Stopped on stop."""
        readable, _, _ = select.select([sock.fileno(), self._wake_r], [], [])
        if self._wake_r in readable or self._stopping.is_set():
            raise _Stopped

    def _wait(self, seconds: float) -> bool:
        """Waits before the next attempt; True when stopped meanwhile."""
        readable, _, _ = select.select([self._wake_r], [], [], seconds)
        return bool(readable) or self._stopping.is_set()

    def _lost(self, reason: str, fix: str = "") -> None:
        self._observe(None, self._clock.now(), self._clock.monotonic())
        self._set_health(CaptureHealth.unavailable(SOURCE, self.backend, reason, fix))
