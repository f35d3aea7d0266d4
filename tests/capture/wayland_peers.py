"""What the wlroots focus tests talk to: a fake compositor speaking the
Wayland wire protocol on a Unix socket, a real headless sway, and a small Qt
window on Wayland.

The fake encodes and decodes messages itself (not with the code under
test), so both sides have to agree with the protocol as written:
https://wayland.freedesktop.org/docs/html/ch04.html#sect-Protocol-Wire-Format

Run as ``python wayland_peers.py TITLE`` it is the Qt window: app_id
"org.punchclock.WaylandTestWindow"; each line on stdin becomes its title.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANAGER = "zwlr_foreign_toplevel_manager_v1"
WINDOW_APP_ID = "org.punchclock.WaylandTestWindow"
SERVER_IDS = 0xFF000000
HANDLE_DESTROY = 7


# the wire format, written out independently of capture.focus.wlroots


def message(object_id: int, opcode: int, payload: bytes = b"") -> bytes:
    return struct.pack("=II", object_id, (8 + len(payload)) << 16 | opcode) + payload


def u32(value: int) -> bytes:
    return struct.pack("=I", value)


def string(text: str) -> bytes:
    data = text.encode() + b"\0"
    return u32(len(data)) + data + b"\0" * (-len(data) % 4)


def array(values: list[int]) -> bytes:
    data = b"".join(u32(v) for v in values)
    return u32(len(data)) + data


@dataclass
class Window:
    key: int
    title: str
    app_id: str
    activated: bool = False


@dataclass
class _Client:
    sock: socket.socket
    registry: int | None = None
    manager: int | None = None
    handles: dict[int, int] = field(default_factory=dict)
    ids: Any = field(default_factory=lambda: itertools.count(SERVER_IDS))


class FakeCompositor:
    """Lists its windows through the foreign-toplevel protocol, like wlroots.

    Tests change windows (``open``, ``activate``, ``retitle``, ``close``),
    send raw bytes, and read the requests that clients sent (``requests``).
    """

    def __init__(self, path: Path, offer_manager: bool = True) -> None:
        self.path = path
        self.offer_manager = offer_manager
        self.windows: dict[int, Window] = {}
        self.requests: list[tuple[int, int, bytes]] = []
        self.binds = 0
        self._keys = itertools.count(1)
        self._clients: list[_Client] = []
        self._cond = threading.Condition()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []

    # lifecycle

    def start(self) -> FakeCompositor:
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(self.path))
        self._listener.listen()
        self._spawn(self._accept, self._listener)
        return self

    def stop(self) -> None:
        """Goes away like a crashed compositor: every connection drops."""
        if self._listener is not None:
            self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        self.drop_clients()
        for thread in self._threads:
            thread.join(2)
        self._threads.clear()
        self.path.unlink(missing_ok=True)

    def drop_clients(self) -> None:
        with self._cond:
            clients, self._clients = self._clients, []
        for client in clients:
            client.sock.shutdown(socket.SHUT_RDWR)
            client.sock.close()

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            client = _Client(sock)
            with self._cond:
                self._clients.append(client)
            self._spawn(self._serve, client)

    # windows, as the compositor's user changes them

    def open(self, title: str, app_id: str, activated: bool = False) -> int:
        with self._cond:
            window = Window(next(self._keys), title, app_id)
            self.windows[window.key] = window
            for client in self._bound():
                self._announce(client, window)
        if activated:
            self.activate(window.key)
        return window.key

    def activate(self, key: int) -> None:
        """Deactivates the old window and activates ``key``, in one batch."""
        with self._cond:
            for client in self._bound():
                batch = b""
                for window in self.windows.values():
                    if window.activated and window.key != key:
                        batch += self._state(client, window.key, []) + self._done(
                            client, window.key
                        )
                batch += self._state(client, key, [2]) + self._done(client, key)
                self._send(client, batch)
            for window in self.windows.values():
                window.activated = window.key == key

    def retitle(self, key: int, title: str, done: bool = True) -> None:
        with self._cond:
            self.windows[key].title = title
            for client in self._bound():
                batch = message(client.handles[key], 0, string(title))
                if done:
                    batch += self._done(client, key)
                self._send(client, batch)

    def done(self, key: int) -> None:
        with self._cond:
            for client in self._bound():
                self._send(client, self._done(client, key))

    def close(self, key: int) -> None:
        with self._cond:
            del self.windows[key]
            for client in self._bound():
                self._send(client, message(client.handles[key], 6))

    def handle_of(self, key: int) -> int:
        with self._cond:
            (client,) = self._bound()
            return client.handles[key]

    def send_raw(self, data: bytes) -> None:
        with self._cond:
            for client in self._bound():
                self._send(client, data)

    def barrier(self, timeout: float = 5.0) -> None:
        """Returns once the client has read everything sent before.

        A throwaway window is opened and closed; the client answers the
        ``closed`` with ``destroy``, which it sends only after reading the
        events before it.
        """
        key = self.open("barrier", "barrier")
        handle = self.handle_of(key)
        self.close(key)
        self.wait_for_request(handle, HANDLE_DESTROY, timeout)

    def wait_for_request(self, object_id: int, opcode: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(r[:2] == (object_id, opcode) for r in self.requests):
                left = deadline - time.monotonic()
                assert left > 0, f"no request {opcode} on {object_id}: {self.requests}"
                self._cond.wait(left)

    def wait_for_binds(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.binds < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{self.binds} binds, expected {count}"
                self._cond.wait(left)

    # the protocol, server side

    def _bound(self) -> list[_Client]:
        return [c for c in self._clients if c.manager is not None]

    def _announce(self, client: _Client, window: Window) -> None:
        assert client.manager is not None
        handle = next(client.ids)
        client.handles[window.key] = handle
        self._send(
            client,
            message(client.manager, 0, u32(handle))
            + message(handle, 0, string(window.title))
            + message(handle, 1, string(window.app_id))
            + self._state(client, window.key, [2] if window.activated else [])
            + self._done(client, window.key),
        )

    def _state(self, client: _Client, key: int, states: list[int]) -> bytes:
        return message(client.handles[key], 4, array(states))

    def _done(self, client: _Client, key: int) -> bytes:
        return message(client.handles[key], 5)

    def _send(self, client: _Client, data: bytes) -> None:
        # A client that left is cleaned up by its reader thread.
        with contextlib.suppress(OSError):
            client.sock.sendall(data)

    def _serve(self, client: _Client) -> None:
        pending = b""
        while True:
            try:
                data = client.sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                with self._cond:
                    if client in self._clients:
                        self._clients.remove(client)
                return
            pending += data
            while len(pending) >= 8:
                object_id, word = struct.unpack_from("=II", pending)
                size = word >> 16
                if len(pending) < size:
                    break
                with self._cond:
                    self._request(client, object_id, word & 0xFFFF, pending[8:size])
                    self._cond.notify_all()
                pending = pending[size:]

    def _request(
        self, client: _Client, object_id: int, opcode: int, args: bytes
    ) -> None:
        self.requests.append((object_id, opcode, args))
        if object_id == 1 and opcode == 1:  # wl_display.get_registry
            (client.registry,) = struct.unpack_from("=I", args)
            self._send(client, self._globals(client.registry))
        elif object_id == 1 and opcode == 0:  # wl_display.sync
            (callback,) = struct.unpack_from("=I", args)
            self._send(
                client, message(callback, 0, u32(7)) + message(1, 1, u32(callback))
            )
        elif object_id == client.registry and opcode == 0:  # wl_registry.bind
            self._bind(client, args)

    def _globals(self, registry: int) -> bytes:
        offered = [("wl_compositor", 5), ("wl_seat", 8), ("wl_output", 4)]
        if self.offer_manager:
            offered.insert(2, (MANAGER, 3))
        return b"".join(
            message(registry, 0, u32(name) + string(interface) + u32(version))
            for name, (interface, version) in enumerate(offered, start=1)
        )

    def _bind(self, client: _Client, args: bytes) -> None:
        (length,) = struct.unpack_from("=I", args, 4)
        interface = args[8 : 8 + length - 1].decode()
        _version, new_id = struct.unpack_from("=II", args, 8 + length + (-length % 4))
        if interface != MANAGER:
            return
        client.manager = new_id
        self.binds += 1
        for window in self.windows.values():
            self._announce(client, window)


# a real headless sway


class SwayUnavailable(Exception):
    """Sway cannot run here; the message says why."""


class Sway:
    """A headless sway in a private runtime directory.

    Sway refuses to run as root ("Unable to drop root", sway/main.c
    drop_permissions: it checks that setuid(0) fails), so as root it runs as
    the user ``nobody`` through ``setpriv``; root can still reach its
    sockets.
    """

    def __init__(self, runtime: Path) -> None:
        self.runtime = runtime
        self.proc: subprocess.Popen[bytes] | None = None
        self.display = ""
        self.ipc = ""

    def start(self) -> Sway:
        for tool in ("sway", "swaymsg"):
            if not shutil.which(tool):
                raise SwayUnavailable(f"{tool} is not installed (apt-get install sway)")
        self.runtime.mkdir(mode=0o700, exist_ok=True)
        self.runtime.chmod(0o700)
        config = self.runtime / "config"
        config.write_text("xwayland disable\noutput HEADLESS-1 resolution 1280x720\n")
        command = ["sway", "-c", str(config)]
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                raise SwayUnavailable("sway refuses root and setpriv is missing")
            os.chown(self.runtime, 65534, 65534)
            command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            command += ["sway", "-c", str(config)]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.runtime),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "WLR_BACKENDS": "headless",
            "WLR_LIBINPUT_NO_DEVICES": "1",
            "WLR_RENDERER": "pixman",
        }
        log = (self.runtime / "sway.log").open("ab")
        self.proc = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        log.close()
        self._wait_for_sockets()
        return self

    def _wait_for_sockets(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SwayUnavailable(f"sway exited: {self.log_tail()}")
            displays = [
                p
                for p in self.runtime.glob("wayland-*")
                if not p.name.endswith(".lock")
            ]
            ipc = list(self.runtime.glob("sway-ipc.*.sock"))
            if displays and ipc and self._answers(str(ipc[0])):
                self.display, self.ipc = displays[0].name, str(ipc[0])
                return
            time.sleep(0.05)
        raise SwayUnavailable(f"sway did not open its sockets: {self.log_tail()}")

    def _answers(self, ipc: str) -> bool:
        done = subprocess.run(
            ["swaymsg", "-s", ipc, "-t", "get_version"], capture_output=True
        )
        return done.returncode == 0

    def log_tail(self) -> str:
        path = self.runtime / "sway.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        return " | ".join(lines[-5:])

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None
        for stale in self.runtime.glob("sway-ipc.*.sock"):
            stale.unlink(missing_ok=True)

    def environ(self) -> dict[str, str]:
        return {
            "XDG_SESSION_TYPE": "wayland",
            "XDG_RUNTIME_DIR": str(self.runtime),
            "WAYLAND_DISPLAY": self.display,
            # No session bus: the factory must get past GNOME and KWin.
            "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent",
        }

    def msg(self, command: str) -> None:
        subprocess.run(["swaymsg", "-s", self.ipc, command], check=True)

    def titles(self) -> list[str]:
        done = subprocess.run(
            ["swaymsg", "-s", self.ipc, "-t", "get_tree"],
            capture_output=True,
            check=True,
        )
        found: list[str] = []
        stack = [json.loads(done.stdout)]
        while stack:
            node = stack.pop()
            if node.get("app_id") is not None and node.get("name"):
                found.append(node["name"])
            stack += node.get("nodes", []) + node.get("floating_nodes", [])
        return found


class QtWaylandWindow:
    """A Qt window on the Wayland display, in a process of its own."""

    def __init__(self, sway: Sway, title: str) -> None:
        env = {
            **os.environ,
            "XDG_RUNTIME_DIR": str(sway.runtime),
            "WAYLAND_DISPLAY": sway.display,
            "QT_QPA_PLATFORM": "wayland",
        }
        env.pop("DISPLAY", None)
        self.title = title
        self.proc = subprocess.Popen(
            [sys.executable, __file__, title],
            env=env,
            stdin=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while title not in sway.titles():
            if self.proc.poll() is not None:
                raise SwayUnavailable("the Qt window could not open on Wayland")
            assert time.monotonic() < deadline, f"window {title!r} never mapped"
            time.sleep(0.05)

    def retitle(self, title: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(title.encode() + b"\n")
        self.proc.stdin.flush()
        self.title = title

    def close(self) -> None:
        """Closes the window the way its app would: stdin's end quits Qt."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def _window_main(title: str) -> int:
    from PySide6.QtCore import QSocketNotifier
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication([sys.argv[0]])
    QGuiApplication.setDesktopFileName(WINDOW_APP_ID)
    label = QLabel(title)
    label.setWindowTitle(title)
    label.resize(320, 200)
    label.show()

    def read_title() -> None:
        line = sys.stdin.readline()
        if not line:
            app.quit()
            return
        label.setWindowTitle(line.rstrip("\n"))

    notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(read_title)
    return app.exec()


if __name__ == "__main__":
    sys.exit(_window_main(sys.argv[1]))
