"""The Wayland idle back end against fake desktop services on a real, private
D-Bus session bus (dbus-daemon): GNOME's Mutter IdleMonitor for the idle
time, the GNOME and freedesktop screen savers for the lock."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("jeepney", reason="D-Bus tests run on Linux only (jeepney)")

from capture.base import HealthState
from capture.idle import IdleReading, create_idle_source
from capture.idle.wayland import (
    FDO_SAVER,
    GNOME_SAVER,
    MUTTER,
    NO_IDLE,
    WaylandIdleSource,
)
from tests.capture.test_factory_wayland import FakeService

Handler = Callable[[Any], tuple[str, tuple[Any, ...]] | None]


def answering(
    path: str, member: str, signature: str, value: Callable[[], Any]
) -> Handler:
    def handle(msg: Any) -> tuple[str, tuple[Any, ...]] | None:
        fields = msg.header.fields
        if (fields.get(1), fields.get(3)) == (path, member):
            return signature, (value(),)
        return None

    return handle


@dataclass
class Bus:
    """A dbus-daemon of the test's own: its process and its address."""

    proc: subprocess.Popen[str]
    address: str


@contextlib.contextmanager
def private_bus() -> Iterator[Bus]:
    """A bus to talk over; the test may end it by its handle."""
    if not shutil.which("dbus-daemon"):
        pytest.skip("dbus-daemon is not installed (apt-get install dbus)")
    proc = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1", "--nopidfile"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield Bus(proc, proc.stdout.readline().strip())
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(5)


@pytest.fixture
def bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[Bus]:
    """A private session bus, named in the environment as the session's."""
    with private_bus() as started:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", started.address)
        yield started


@pytest.fixture
def session_bus(bus: Bus) -> str:
    return bus.address


@pytest.fixture
def desktop_services(session_bus: str) -> Iterator[dict[str, FakeService]]:
    running: dict[str, FakeService] = {}
    yield running
    for service in running.values():
        service.stop()


def serve(running: dict[str, FakeService], name: str, handler: Handler) -> FakeService:
    service = FakeService(name, handler)
    service.start()
    running[name] = service
    return service


@pytest.fixture
def source(session_bus: str) -> Iterator[WaylandIdleSource]:
    env = {"XDG_SESSION_TYPE": "wayland", "DBUS_SESSION_BUS_ADDRESS": session_bus}
    created = create_idle_source(environ=env, platform="linux")
    assert isinstance(created, WaylandIdleSource)
    yield created
    created.close()


def test_gnome_idle_time_and_lock(
    source: WaylandIdleSource, desktop_services: dict[str, FakeService]
) -> None:
    state = {"idle_ms": 12_345, "locked": False}
    serve(
        desktop_services,
        MUTTER[0],
        answering(MUTTER[1], "GetIdletime", "t", lambda: state["idle_ms"]),
    )
    saver = serve(
        desktop_services,
        GNOME_SAVER[0],
        answering(GNOME_SAVER[1], "GetActive", "b", lambda: state["locked"]),
    )

    first = source.read()
    state.update(idle_ms=250, locked=True)
    second = source.read()

    assert first == IdleReading(12.345, False)
    assert second == IdleReading(0.25, True)
    assert source.health().state is HealthState.WORKING
    assert source.health().backend == "wayland-dbus"
    assert [call[1] for call in saver.calls] == ["GetActive", "GetActive"]


def test_the_freedesktop_saver_gives_the_lock_and_is_asked_first_after(
    source: WaylandIdleSource, desktop_services: dict[str, FakeService]
) -> None:
    serve(
        desktop_services, MUTTER[0], answering(MUTTER[1], "GetIdletime", "t", lambda: 0)
    )
    saver = serve(
        desktop_services,
        FDO_SAVER[0],
        answering(FDO_SAVER[1], "GetActive", "b", lambda: True),
    )

    readings = [source.read() for _ in range(3)]

    assert readings == [IdleReading(0.0, True)] * 3
    # GNOME's saver is not there: asked once, then the one that answers.
    assert len(saver.calls) == 3


def test_without_mutter_idle_is_unavailable_and_says_why(
    source: WaylandIdleSource, desktop_services: dict[str, FakeService]
) -> None:
    serve(
        desktop_services,
        FDO_SAVER[0],
        answering(FDO_SAVER[1], "GetActive", "b", lambda: False),
    )

    assert source.read() is None
    health = source.health()
    assert health.state is HealthState.UNAVAILABLE
    assert (health.reason, health.fix) == NO_IDLE


def test_a_desktop_service_that_restarts_is_read_again(
    source: WaylandIdleSource, desktop_services: dict[str, FakeService]
) -> None:
    mutter = answering(MUTTER[1], "GetIdletime", "t", lambda: 1_000)
    serve(desktop_services, MUTTER[0], mutter).stop()
    del desktop_services[MUTTER[0]]
    gone = source.read()
    serve(desktop_services, MUTTER[0], mutter)
    back = source.read()

    assert gone is None
    assert back == IdleReading(1.0, None)
    assert source.health().state is HealthState.WORKING


def test_a_nonsense_reply_is_health_not_a_crash(
    source: WaylandIdleSource, desktop_services: dict[str, FakeService]
) -> None:
    serve(
        desktop_services,
        MUTTER[0],
        answering(MUTTER[1], "GetIdletime", "s", lambda: "soon"),
    )

    assert source.read() is None
    assert source.health().state is HealthState.UNAVAILABLE


def test_the_session_bus_going_away_is_health_not_a_crash(
    source: WaylandIdleSource, bus: Bus
) -> None:
    services: dict[str, FakeService] = {}
    serve(services, MUTTER[0], answering(MUTTER[1], "GetIdletime", "t", lambda: 5))
    assert source.read() == IdleReading(0.005, None)
    services[MUTTER[0]].stop()
    bus.proc.terminate()
    bus.proc.wait(5)

    assert source.read() is None
    assert source.health().state is HealthState.UNAVAILABLE
