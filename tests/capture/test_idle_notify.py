"""The Wayland compositor's idle notification, against a fake compositor that
speaks the wire protocol on a Unix socket (encoded here, independently of
``capture.idle.idle_notify``), and against a real headless sway where it runs.

Protocols: https://wayland.app/protocols/ext-idle-notify-v1 and
https://wayland.app/protocols/kde-idle
"""

from __future__ import annotations

import shutil
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.clock import ManualClock
from capture.base import HealthState
from capture.idle import IdleReading, create_idle_source
from capture.idle.idle_notify import TIMEOUT_MS, CompositorIdle
from capture.idle.wayland import NO_IDLE, WaylandIdleSource
from tests.capture.wayland_peers import message, string, u32

# Wayland sockets (AF_UNIX, absent on Windows; paths too long on macOS), sway.
pytestmark = pytest.mark.linux


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


class IdleCompositor:
    """Offers a seat and an idle notifier; the test sends idled/resumed."""

    def __init__(self, path: Path, globals_: list[tuple[str, int]]) -> None:
        self.path = path
        self.globals = globals_
        self.requests: list[tuple[int, int, bytes]] = []
        self.notification: tuple[str, int, int, int] | None = None  # kind, id...
        self._bound: dict[int, str] = {}
        self._sock: socket.socket | None = None
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        self._listener.listen()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def send(self, object_id: int, opcode: int, payload: bytes = b"") -> None:
        assert self._sock is not None
        self._sock.sendall(message(object_id, opcode, payload))

    def idled(self) -> None:
        assert self.notification is not None
        self.send(self.notification[1], 0)

    def resumed(self) -> None:
        assert self.notification is not None
        self.send(self.notification[1], 1)

    def stop(self) -> None:
        if self._sock is not None:
            self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()
        self._listener.close()
        self._thread.join(2)
        self.path.unlink(missing_ok=True)

    def _serve(self) -> None:
        try:
            self._sock, _ = self._listener.accept()
        except OSError:
            return
        buf = b""
        while True:
            try:
                data = self._sock.recv(4096)
            except OSError:
                return
            if not data:
                return
            buf += data
            while len(buf) >= 8:
                object_id, word = struct.unpack_from("=II", buf)
                size = word >> 16
                if len(buf) < size:
                    break
                self._request(object_id, word & 0xFFFF, buf[8:size])
                buf = buf[size:]

    def _request(self, object_id: int, opcode: int, payload: bytes) -> None:
        self.requests.append((object_id, opcode, payload))
        words = lambda n: struct.unpack_from(f"={n}I", payload)  # noqa: E731
        if object_id == 1 and opcode == 1:  # wl_display.get_registry
            (registry,) = words(1)
            for name, (interface, version) in enumerate(self.globals, start=1):
                self.send(registry, 0, u32(name) + string(interface) + u32(version))
        elif object_id == 1 and opcode == 0:  # wl_display.sync
            (callback,) = words(1)
            self.send(callback, 0, u32(0))
        elif opcode == 0 and object_id == 2:  # wl_registry.bind
            (length,) = struct.unpack_from("=I", payload, 4)
            interface = payload[8 : 8 + length - 1].decode()
            offset = 8 + length + (-length % 4)
            _version, new_id = struct.unpack_from("=II", payload, offset)
            self._bound[new_id] = interface
        elif self._bound.get(object_id) == "ext_idle_notifier_v1":
            new_id, timeout, seat = words(3)
            kind = "input" if opcode == 2 else "inhibitable"
            self.notification = (kind, new_id, timeout, seat)
        elif self._bound.get(object_id) == "org_kde_kwin_idle":
            new_id, seat, timeout = words(3)
            self.notification = ("kde", new_id, timeout, seat)

    def seat_id(self) -> int:
        return next(i for i, name in self._bound.items() if name == "wl_seat")


@pytest.fixture
def runtime(tmp_path: Path) -> Path:
    # A short path: Unix socket names are limited to about 100 bytes.
    return tmp_path


def start(runtime: Path, *globals_: tuple[str, int]) -> IdleCompositor:
    return IdleCompositor(runtime / "wayland-idle", list(globals_))


@pytest.fixture
def compositors() -> Iterator[list[IdleCompositor]]:
    running: list[IdleCompositor] = []
    yield running
    for compositor in running:
        compositor.stop()


def test_ext_idle_notify_gives_idle_seconds_from_the_notifications(
    runtime: Path, compositors: list[IdleCompositor]
) -> None:
    fake = start(
        runtime, ("wl_compositor", 5), ("wl_seat", 7), ("ext_idle_notifier_v1", 2)
    )
    compositors.append(fake)
    clock = ManualClock()
    idle = CompositorIdle(fake.path, clock.monotonic)
    try:
        assert idle.seconds() == 0.0
        wait_until(lambda: fake.notification is not None, "a notification asked")
        fake.idled()
        wait_until(lambda: idle.seconds() > 0, "the idled event")
        clock.advance(30)
        away = idle.seconds()
        fake.resumed()
        wait_until(lambda: idle.seconds() == 0.0, "the resumed event")
    finally:
        idle.stop()

    # The input notification of version 2, on the bound seat, with our timeout.
    assert fake.notification == (
        "input",
        fake.notification[1],
        TIMEOUT_MS,
        fake.seat_id(),
    )
    assert away == pytest.approx(30 + TIMEOUT_MS / 1000)


def test_version_1_asks_the_inhibitable_notification(
    runtime: Path, compositors: list[IdleCompositor]
) -> None:
    fake = start(runtime, ("wl_seat", 1), ("ext_idle_notifier_v1", 1))
    compositors.append(fake)
    idle = CompositorIdle(fake.path, ManualClock().monotonic)
    try:
        idle.seconds()
        wait_until(lambda: fake.notification is not None, "a notification asked")
    finally:
        idle.stop()

    assert fake.notification is not None
    assert fake.notification[0] == "inhibitable"


def test_kde_idle_where_ext_idle_notify_is_missing(
    runtime: Path, compositors: list[IdleCompositor]
) -> None:
    fake = start(runtime, ("wl_seat", 5), ("org_kde_kwin_idle", 1))
    compositors.append(fake)
    clock = ManualClock()
    idle = CompositorIdle(fake.path, clock.monotonic)
    try:
        idle.seconds()
        wait_until(lambda: fake.notification is not None, "a notification asked")
        fake.idled()
        wait_until(lambda: idle.seconds() > 0, "the idle event")
    finally:
        idle.stop()

    assert fake.notification == (
        "kde",
        fake.notification[1],
        TIMEOUT_MS,
        fake.seat_id(),
    )


def test_a_compositor_without_notifier_is_unavailable_with_the_reason(
    runtime: Path, compositors: list[IdleCompositor]
) -> None:
    fake = start(runtime, ("wl_seat", 5))
    compositors.append(fake)
    env = {"XDG_SESSION_TYPE": "wayland", "XDG_RUNTIME_DIR": str(runtime)}
    env["WAYLAND_DISPLAY"] = fake.path.name
    env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=/nonexistent"
    source = create_idle_source(environ=env, platform="linux")
    assert isinstance(source, WaylandIdleSource)
    try:
        reading = source.read()
    finally:
        source.close()

    assert reading is None
    health = source.health()
    assert health.state is HealthState.UNAVAILABLE
    assert (health.reason, health.fix) == NO_IDLE


def test_the_wayland_source_falls_back_to_the_compositor_without_mutter(
    runtime: Path, compositors: list[IdleCompositor]
) -> None:
    fake = start(runtime, ("wl_seat", 5), ("ext_idle_notifier_v1", 2))
    compositors.append(fake)
    env = {
        "XDG_SESSION_TYPE": "wayland",
        "XDG_RUNTIME_DIR": str(runtime),
        "WAYLAND_DISPLAY": fake.path.name,
        "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent",
    }
    source = create_idle_source(environ=env, platform="linux")
    try:
        first = source.read()
        wait_until(lambda: fake.notification is not None, "a notification asked")
        fake.idled()
        wait_until(
            lambda: (r := source.read()) is not None and r.seconds > 0, "idle seen"
        )
    finally:
        source.close()

    assert first == IdleReading(0.0, None)
    assert source.health().state is HealthState.WORKING
    assert source.health().backend == "wayland-idle-notify"


def test_a_compositor_that_goes_away_is_health_then_reconnected(
    runtime: Path,
) -> None:
    fake = start(runtime, ("wl_seat", 5), ("ext_idle_notifier_v1", 2))
    idle = CompositorIdle(fake.path, ManualClock().monotonic, retry=0.05)
    try:
        assert idle.seconds() == 0.0
        fake.stop()

        def unavailable() -> bool:
            try:
                idle.seconds()
            except Exception:
                return True
            return False

        wait_until(unavailable, "the loss noticed")
        back = start(runtime, ("wl_seat", 5), ("ext_idle_notifier_v1", 2))
        try:
            wait_until(lambda: not unavailable(), "reconnected")
        finally:
            back.stop()
    finally:
        idle.stop()


# a real compositor


def test_real_headless_sway_reports_idle() -> None:
    from tests.capture.wayland_peers import Sway, SwayUnavailable

    # Under /tmp: sway runs as nobody where the tests run as root, and
    # cannot enter root's 0700 directories.
    runtime = Path(tempfile.mkdtemp(prefix="punchclock-sway-idle-"))
    sway = Sway(runtime)
    try:
        sway.start()
    except SwayUnavailable as exc:
        shutil.rmtree(runtime, ignore_errors=True)
        pytest.skip(str(exc))
    source = create_idle_source(environ=sway.environ(), platform="linux")
    try:
        wait_until(
            lambda: (r := source.read()) is not None and r.seconds >= TIMEOUT_MS / 1000,
            "sway said the seat went idle",
        )
    finally:
        source.close()
        sway.stop()
        shutil.rmtree(runtime, ignore_errors=True)
    assert source.health().state is HealthState.WORKING
