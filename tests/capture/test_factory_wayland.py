"""The factory's choice per desktop, and the Wayland back ends against fake
GNOME Shell / KWin services on a private session bus."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("jeepney", reason="D-Bus tests run on Linux only (jeepney)")

from jeepney import (
    DBusAddress,
    MessageType,
    new_error,
    new_method_call,
    new_method_return,
)
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from agent.clock import ManualClock
from capture.base import HealthState
from capture.focus import create_focus_source, is_wayland
from capture.focus.null import NullFocusSource
from capture.focus.wayland import (
    GNOME_FOCUSED,
    GNOME_SHELL,
    GNOME_WINDOWS,
    KWIN,
    NOT_EXPOSED,
    SERVICE,
    SERVICE_PATH,
    GnomeFocusSource,
    KWinFocusSource,
    create_wayland_source,
)
from tests.capture.fakes import Recorder


@pytest.mark.parametrize(
    ("env", "wayland"),
    [
        ({"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}, True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, True),
        ({"XDG_SESSION_TYPE": "x11", "DISPLAY": ":0"}, False),
        ({"DISPLAY": ":0"}, False),
    ],
)
def test_wayland_is_detected(env: dict[str, str], wayland: bool) -> None:
    assert is_wayland(env) is wayland


def test_no_display_gives_null_with_reason() -> None:
    source = create_focus_source(ManualClock(), environ={}, platform="linux")

    assert isinstance(source, NullFocusSource)
    health = source.health()
    assert health.state is HealthState.UNAVAILABLE
    assert health.reason.startswith("no DISPLAY")
    assert health.fix


def test_off_by_policy() -> None:
    source = create_focus_source(ManualClock(), enabled=False)
    assert source.health().state is HealthState.OFF


def test_x11_session_gets_the_x11_back_end() -> None:
    source = create_focus_source(
        ManualClock(), environ={"DISPLAY": ":99"}, platform="linux"
    )
    assert source.health().backend == "x11"


def test_macos_without_pyobjc_says_so() -> None:
    source = create_focus_source(ManualClock(), environ={}, platform="darwin")
    health = source.health()
    assert health.state is HealthState.UNAVAILABLE
    assert "pyobjc" in health.reason


def test_wayland_without_session_bus_is_null_with_the_reason() -> None:
    env = {
        "XDG_SESSION_TYPE": "wayland",
        "DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent",
    }

    def no_bus() -> Any:
        raise OSError("no bus")

    with pytest.raises(Exception, match=NOT_EXPOSED):
        create_wayland_source(ManualClock(), None, _urls(), env, no_bus)


def _urls() -> Any:
    from capture.browser.urls import BrowserUrls

    return BrowserUrls()


# a private session bus with fake desktop services


@pytest.fixture
def session_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if not shutil.which("dbus-daemon"):
        pytest.skip("dbus-daemon is not installed (apt-get install dbus)")
    proc = subprocess.Popen(
        ["dbus-daemon", "--session", "--nofork", "--print-address=1", "--nopidfile"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    address = proc.stdout.readline().strip()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    yield address
    proc.terminate()
    proc.wait(5)


class FakeService(threading.Thread):
    """Owns a bus name and answers method calls with a handler's reply."""

    def __init__(
        self, name: str, handler: Callable[[Any], tuple[str, tuple[Any, ...]] | None]
    ) -> None:
        super().__init__(daemon=True)
        self.conn: DBusConnection = open_dbus_connection(bus="SESSION")
        self.conn.send_and_get_reply(message_bus.RequestName(name), timeout=2)
        self.handler = handler
        self.calls: list[tuple[str, str, tuple[Any, ...]]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                msg = self.conn.receive(timeout=0.1)
            except TimeoutError:
                continue
            except OSError:
                return
            if msg.header.message_type is not MessageType.method_call:
                continue
            member = msg.header.fields.get(3)  # HeaderFields.member
            path = msg.header.fields.get(1)
            self.calls.append((path, member, msg.body))
            answer = self.handler(msg)
            if answer is None:
                self.conn.send(
                    new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod")
                )
            else:
                signature, body = answer
                self.conn.send(new_method_return(msg, signature, body))

    def stop(self) -> None:
        self._halt.set()
        self.join(2)
        self.conn.close()


@pytest.fixture
def services(session_bus: str) -> Iterator[list[FakeService]]:
    running: list[FakeService] = []
    yield running
    for service in running:
        service.stop()


def _wayland_env(address: str) -> dict[str, str]:
    return {"XDG_SESSION_TYPE": "wayland", "DBUS_SESSION_BUS_ADDRESS": address}


def test_gnome_focused_window_extension(
    session_bus: str, services: list[FakeService]
) -> None:
    window = {
        "title": "Budget.ods - LibreOffice Calc",
        "wm_class": "libreoffice-calc",
        "pid": 4242,
        "id": 77,
    }
    state = {"window": window}

    def shell(msg: Any) -> tuple[str, tuple[Any, ...]] | None:
        if msg.header.fields.get(1) == GNOME_FOCUSED[0]:
            return "s", (json.dumps(state["window"]),)
        return None

    services.append(FakeService(GNOME_SHELL, shell))
    services[-1].start()

    source = create_focus_source(
        ManualClock(), environ=_wayland_env(session_bus), platform="linux"
    )
    assert isinstance(source, GnomeFocusSource)
    recorder = Recorder()
    source.start(recorder)
    try:
        first = recorder.wait_for(lambda s: s.focused)
        state["window"] = {**window, "title": "Other.ods - LibreOffice Calc"}
        second = recorder.wait_for(lambda s: s.title.startswith("Other"))
        state["window"] = {}
        nothing = recorder.wait_for(lambda s: not s.focused)
    finally:
        source.stop()

    assert (first.app, first.title, first.window_id) == (
        "libreoffice-calc",
        window["title"],
        77,
    )
    assert second.app == "libreoffice-calc"
    assert nothing.app is None
    assert source.health().backend == "wayland-gnome"


def test_gnome_window_calls_extension(
    session_bus: str, services: list[FakeService]
) -> None:
    listing = [
        {"title": "back", "wm_class": "firefox", "pid": 1, "id": 1, "focus": False},
        {
            "title": "front",
            "wm_class": "org.gnome.Nautilus",
            "pid": 2,
            "id": 2,
            "focus": True,
        },
    ]

    def shell(msg: Any) -> tuple[str, tuple[Any, ...]] | None:
        if msg.header.fields.get(1) == GNOME_WINDOWS[0]:
            return "s", (json.dumps(listing),)
        return None

    services.append(FakeService(GNOME_SHELL, shell))
    services[-1].start()

    source = create_focus_source(
        ManualClock(), environ=_wayland_env(session_bus), platform="linux"
    )
    recorder = Recorder()
    source.start(recorder)
    try:
        sample = recorder.wait_for(lambda s: s.focused)
    finally:
        source.stop()

    assert (sample.app, sample.title, sample.pid) == ("org.gnome.Nautilus", "front", 2)


def test_kwin_script_reports_through_our_service(
    session_bus: str, services: list[FakeService]
) -> None:
    def kwin(msg: Any) -> tuple[str, tuple[Any, ...]] | None:
        member = msg.header.fields.get(3)
        if member == "loadScript":
            return "i", (3,)
        if member == "start":
            return "", ()
        return None

    services.append(FakeService(KWIN, kwin))
    services[-1].start()

    source = create_focus_source(
        ManualClock(), environ=_wayland_env(session_bus), platform="linux"
    )
    assert isinstance(source, KWinFocusSource)
    recorder = Recorder()
    source.start(recorder)
    try:
        _wait_for_call(services[0], "start")
        script_path = next(c[2][0] for c in services[0].calls if c[1] == "loadScript")
        script = Path(script_path).read_text()
        # What the loaded script's callDBus does on an activation:
        _call_service("Konsole — ~/src", "org.kde.konsole", 555, "{uuid}")
        sample = recorder.wait_for(lambda s: s.focused)
        _call_service("", "", 0, "")
        nothing = recorder.wait_for(lambda s: not s.focused)
    finally:
        source.stop()
        os.unlink(script_path)

    assert "windowActivated" in script
    assert SERVICE in script
    assert (sample.app, sample.title, sample.pid) == (
        "org.kde.konsole",
        "Konsole — ~/src",
        555,
    )
    assert nothing.app is None


def _wait_for_call(service: FakeService, member: str) -> None:
    import time

    deadline = time.monotonic() + 5
    while not any(c[1] == member for c in service.calls):
        assert time.monotonic() < deadline, f"{member} never called: {service.calls}"
        time.sleep(0.02)


def _call_service(caption: str, resource_class: str, pid: int, uuid: str) -> None:
    conn = open_dbus_connection(bus="SESSION")
    try:
        address = DBusAddress(SERVICE_PATH, bus_name=SERVICE, interface=SERVICE)
        reply = conn.send_and_get_reply(
            new_method_call(
                address, "Update", "ssis", (caption, resource_class, pid, uuid)
            ),
            timeout=2,
        )
        assert reply.header.message_type is MessageType.method_return
    finally:
        conn.close()


def test_wayland_without_helpers_is_null_with_the_reason(session_bus: str) -> None:
    source = create_focus_source(
        ManualClock(), environ=_wayland_env(session_bus), platform="linux"
    )

    assert isinstance(source, NullFocusSource)
    assert source.health().reason == NOT_EXPOSED
    assert "GNOME" in source.health().fix
