"""Idle time from the Wayland compositor's idle notifications (KDE, wlroots).

A compositor that offers ``ext_idle_notifier_v1`` (KWin, sway 1.8+, Hyprland,
labwc: https://wayland.app/protocols/ext-idle-notify-v1) or the older
``org_kde_kwin_idle`` (KWin, sway up to 1.8) tells a client when the seat has
had no input for a timeout it chose (``idled`` / ``idle``) and when input
comes again (``resumed``). With a timeout of :data:`TIMEOUT_MS` that is the
idle time to within that timeout: idle since the notification minus the
timeout, and under the timeout after a resume. Version 2's input
notification is used where offered: it ignores idle inhibitors (a video
player keeping the screen on), which are not input.

The wire protocol is spoken with the helpers of ``capture.focus.wlroots``;
:class:`IdleNotifyClient` is the protocol without sockets (bytes in,
requests out), :class:`CompositorIdle` runs it on a thread that waits in the
socket: nothing runs while nobody touches the seat.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from capture.base import BackendUnavailable, CaptureError
from capture.focus.wlroots import (
    Args,
    CompositorError,
    Message,
    MessageBuffer,
    WireError,
    connect,
    pack_message,
    receive,
    socket_path,
    string_arg,
    uint_arg,
)

log = logging.getLogger(__name__)

EXT_NOTIFIER = "ext_idle_notifier_v1"
KDE_IDLE = "org_kde_kwin_idle"
SEAT = "wl_seat"
TIMEOUT_MS = 1000
NOT_OFFERED = (
    "this Wayland compositor offers no idle notification "
    f"({EXT_NOTIFIER} or {KDE_IDLE})",
    "idle is detected on GNOME through Mutter's idle monitor, on KDE and "
    "wlroots desktops through their idle notification; here it is unknown",
)
RETRY_SECONDS = 5.0

# Opcodes, from wayland.xml and the two protocols' XML.
_DISPLAY_ID = 1
_DISPLAY_SYNC = 0
_DISPLAY_GET_REGISTRY = 1
_DISPLAY_ERROR = 0
_DISPLAY_DELETE_ID = 1
_REGISTRY_BIND = 0
_REGISTRY_GLOBAL = 0
_CALLBACK_DONE = 0
_EXT_GET_IDLE_NOTIFICATION = 1
_EXT_GET_INPUT_IDLE_NOTIFICATION = 2
_KDE_GET_IDLE_TIMEOUT = 0
_IDLED = 0
_RESUMED = 1


class IdleNotifyClient:
    """The idle-notification protocols without sockets: bytes in, requests out.

    ``hello`` starts; ``receive`` takes the compositor's bytes and returns
    the requests to send. After the registry round trip ``ready`` is True
    and ``offered`` says whether a notifier (and a seat) exists. ``idled``
    is the ``monotonic`` time input stopped, or None while there is input.
    """

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._next_id = 2
        self._objects: dict[int, str] = {_DISPLAY_ID: "display"}
        self._buffer = MessageBuffer()
        self._out: list[bytes] = []
        self._globals: dict[str, tuple[int, int]] = {}
        self._sync_id = 0
        self._registry = 0
        self.ready = False
        self.offered = False
        self.idled: float | None = None

    def hello(self) -> bytes:
        self._registry = self._new("registry")
        self._send(_DISPLAY_ID, _DISPLAY_GET_REGISTRY, uint_arg(self._registry))
        self._sync_id = self._new("callback")
        self._send(_DISPLAY_ID, _DISPLAY_SYNC, uint_arg(self._sync_id))
        return self._flush()

    def receive(self, data: bytes) -> bytes:
        for message in self._buffer.feed(data):
            self._dispatch(message)
        return self._flush()

    # plumbing

    def _new(self, kind: str) -> int:
        object_id = self._next_id
        self._next_id += 1
        self._objects[object_id] = kind
        return object_id

    def _send(self, object_id: int, opcode: int, *args: bytes) -> None:
        self._out.append(pack_message(object_id, opcode, *args))

    def _flush(self) -> bytes:
        out, self._out = b"".join(self._out), []
        return out

    def _dispatch(self, message: Message) -> None:
        kind = self._objects.get(message.object_id)
        args = Args(message.payload)
        try:
            if kind == "display":
                self._on_display(message.opcode, args)
            elif kind == "registry" and message.opcode == _REGISTRY_GLOBAL:
                name, interface, version = args.uint(), args.string(), args.uint()
                self._globals.setdefault(interface, (name, version))
            elif kind == "callback" and message.object_id == self._sync_id:
                self._subscribe()
            elif kind == "notification":
                self._on_notification(message.opcode)
        except WireError as exc:
            log.warning("skipped a malformed %s event: %s", kind, exc)

    def _on_display(self, opcode: int, args: Args) -> None:
        if opcode == _DISPLAY_ERROR:
            object_id, code, text = args.uint(), args.uint(), args.string()
            raise CompositorError(
                f"protocol error {code} on object {object_id}: {text}"
            )
        if opcode == _DISPLAY_DELETE_ID:
            self._objects.pop(args.uint(), None)

    # the registry is known: ask for notifications

    def _subscribe(self) -> None:
        self.ready = True
        seat = self._bind(SEAT, 1)
        if seat is None:
            return
        ext = self._bind(EXT_NOTIFIER, 2)
        if ext is not None:
            version = self._globals[EXT_NOTIFIER][1]
            opcode = (
                _EXT_GET_INPUT_IDLE_NOTIFICATION
                if version >= 2
                else _EXT_GET_IDLE_NOTIFICATION
            )
            notification = self._new("notification")
            self._send(
                ext,
                opcode,
                uint_arg(notification),
                uint_arg(TIMEOUT_MS),
                uint_arg(seat),
            )
        else:
            kde = self._bind(KDE_IDLE, 1)
            if kde is None:
                return
            notification = self._new("notification")
            self._send(
                kde,
                _KDE_GET_IDLE_TIMEOUT,
                uint_arg(notification),
                uint_arg(seat),
                uint_arg(TIMEOUT_MS),
            )
        self.offered = True

    def _bind(self, interface: str, newest: int) -> int | None:
        if interface not in self._globals:
            return None
        name, version = self._globals[interface]
        object_id = self._new(interface)
        self._send(
            self._registry,
            _REGISTRY_BIND,
            uint_arg(name),
            string_arg(interface),
            uint_arg(min(version, newest)),
            uint_arg(object_id),
        )
        return object_id

    def _on_notification(self, opcode: int) -> None:
        if opcode == _IDLED:
            self.idled = self._monotonic() - TIMEOUT_MS / 1000.0
        elif opcode == _RESUMED:
            self.idled = None


class CompositorIdle:
    """Runs :class:`IdleNotifyClient` against the compositor on a thread.

    ``seconds`` may be called from any thread and never blocks: the idle
    seconds, or :class:`BackendUnavailable` saying why there are none. The
    thread starts on the first call and reconnects after a lost compositor.
    """

    def __init__(
        self,
        path: Path | None,
        monotonic: Callable[[], float],
        retry: float = RETRY_SECONDS,
    ) -> None:
        self._path = path
        self._monotonic = monotonic
        self._retry = retry
        self._client: IdleNotifyClient | None = None
        self._unavailable: BackendUnavailable | None = None
        self._thread: threading.Thread | None = None
        self._wake_r, self._wake_w = -1, -1
        self._stopping = threading.Event()

    @classmethod
    def for_session(
        cls, environ: Mapping[str, str], monotonic: Callable[[], float]
    ) -> CompositorIdle:
        return cls(socket_path(environ), monotonic)

    def seconds(self) -> float:
        if self._thread is None:
            self._start()
        client = self._client
        if client is None or not client.offered:
            raise self._unavailable or BackendUnavailable(*NOT_OFFERED)
        idled = client.idled
        return 0.0 if idled is None else max(self._monotonic() - idled, 0.0)

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        os.write(self._wake_w, b"x")
        thread.join(2)
        os.close(self._wake_r)
        os.close(self._wake_w)

    def _start(self) -> None:
        self._stopping.clear()
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(
            target=self._run, name="idle-wayland-notify", daemon=True
        )
        self._thread.start()
        # The registry takes one round trip; the first reading waits for it
        # briefly rather than calling a working compositor unavailable.
        deadline = time.monotonic() + 0.5
        while self._unavailable is None and time.monotonic() < deadline:
            client = self._client
            if client is not None and client.ready:
                break
            self._stopping.wait(0.01)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._session()
            except _Stopped:
                return
            except (OSError, CaptureError) as exc:
                self._lost(
                    f"the Wayland compositor cannot be asked for idle time ({exc})"
                )
                log.debug("compositor idle connection: %s", exc)
            except Exception:
                # A bug here must not leave a stale idle time behind.
                log.exception("the compositor idle reader failed")
                self._lost("the compositor idle reader failed; restarting it")
            readable, _, _ = select.select([self._wake_r], [], [], self._retry)
            if readable:
                return

    def _lost(self, reason: str) -> None:
        self._client = None
        self._unavailable = BackendUnavailable(reason, NOT_OFFERED[1])

    def _session(self) -> None:
        if self._path is None:
            raise CompositorError("no Wayland socket (XDG_RUNTIME_DIR is not set)")
        with connect(self._path) as sock:
            client = IdleNotifyClient(self._monotonic)
            sock.sendall(client.hello())
            self._client = client
            while True:
                self._await(sock)
                data = receive(sock)
                if not data:
                    raise ConnectionError("the compositor closed the connection")
                reply = client.receive(data)
                if reply:
                    sock.sendall(reply)
                if client.ready:
                    self._unavailable = None

    def _await(self, sock: socket.socket) -> None:
        readable, _, _ = select.select([sock.fileno(), self._wake_r], [], [])
        if self._wake_r in readable or self._stopping.is_set():
            raise _Stopped


class _Stopped(Exception):
    """The watch was asked to stop."""
