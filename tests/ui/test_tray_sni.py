"""The real tray app on a StatusNotifierItem tray (KDE, GNOME with the
AppIndicator extension, most Wayland panels), on the virtual desktop.

A private ``dbus-daemon`` session bus and a StatusNotifierWatcher
(tests/ui/sni_watcher.py, the specification's watcher with a host) stand
in for the panel. The test launches the real ``punchclock`` process with
that bus and checks that it registers its item, that the item's tooltip
and menu (com.canonical.dbusmenu) are what a panel would show, and that
clicking the menu's first item through dbusmenu starts the timer.
"""

from __future__ import annotations

import json
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from tests.desktop import VirtualDesktop

pytestmark = [pytest.mark.x11, pytest.mark.slow]

PUNCHCLOCK = str(Path(sys.executable).with_name("punchclock"))
WATCHER = Path(__file__).with_name("sni_watcher.py")
ITEM = "org.kde.StatusNotifierItem"
MENU = "com.canonical.dbusmenu"


@pytest.fixture
def session_bus(tmp_path: Path) -> Iterator[str]:
    if not shutil.which("dbus-daemon"):
        pytest.skip("dbus-daemon is not installed (apt-get install dbus)")
    daemon = subprocess.Popen(
        [
            "dbus-daemon",
            "--session",
            "--nofork",
            "--print-address=1",
            f"--address=unix:path={tmp_path / 'bus'}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert daemon.stdout is not None
    address = daemon.stdout.readline().strip()
    yield address
    daemon.terminate()
    daemon.wait(timeout=10)


@pytest.fixture
def watcher(session_bus: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, str(WATCHER), session_bus],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    yield proc
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def app_env(
    desktop: VirtualDesktop, punchclock_home: Path, session_bus: str
) -> dict[str, str]:
    env = desktop.env
    env["PUNCHCLOCK_HOME"] = str(punchclock_home)
    env["QT_QPA_PLATFORM"] = "xcb"
    env["DBUS_SESSION_BUS_ADDRESS"] = session_bus
    return env


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PUNCHCLOCK, *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _registered(watcher: subprocess.Popen[str], timeout: float) -> tuple[str, str]:
    """(service, path) of the first item the watcher saw registered."""
    assert watcher.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(watcher.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            line = watcher.stdout.readline().split()
            if line and line[0] == "item":
                return line[1], line[2]
    raise AssertionError("no StatusNotifierItem was registered")


def _registered_again(watcher: subprocess.Popen[str]) -> str | None:
    """A later registration line the watcher printed, if any (no wait)."""
    assert watcher.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(watcher.stdout, selectors.EVENT_READ)
    if selector.select(timeout=0.1):
        return watcher.stdout.readline().strip() or None
    return None


def _props(address: DBusAddress, name: str) -> Any:
    properties = DBusAddress(
        address.object_path,
        bus_name=address.bus_name,
        interface="org.freedesktop.DBus.Properties",
    )
    return new_method_call(properties, "Get", "ss", (address.interface, name))


def _labels(layout: Any) -> list[tuple[int, str, bool]]:
    """(id, label, enabled) of every item of a dbusmenu layout, in order."""
    item_id, props, children = layout
    found = []
    if "label" in props:
        enabled = props.get("enabled", ("b", True))[1]
        found.append((item_id, props["label"][1], enabled))
    for child in children:
        found += _labels(child[1])
    return found


def _menu(bus: DBusConnection, service: str, path: str) -> list[tuple[int, str, bool]]:
    menu = DBusAddress(path, bus_name=service, interface=MENU)
    bus.send_and_get_reply(new_method_call(menu, "AboutToShow", "i", (0,)))
    reply = bus.send_and_get_reply(
        new_method_call(menu, "GetLayout", "iias", (0, -1, []))
    )
    return _labels(reply.body[1])


def test_the_real_app_registers_its_item_and_menu_with_the_watcher(
    desktop: VirtualDesktop,
    app_env: dict[str, str],
    session_bus: str,
    watcher: subprocess.Popen[str],
    tmp_path: Path,
) -> None:
    _cli(app_env, "start", "Acme", "--create")
    _cli(app_env, "stop")
    _cli(app_env, "consent", "accept")
    stderr = tmp_path / "tray-stderr.txt"
    with stderr.open("wb") as sink:
        app = subprocess.Popen(
            [PUNCHCLOCK], env=app_env, stdout=subprocess.DEVNULL, stderr=sink
        )
    bus = open_dbus_connection(session_bus)
    try:
        service, path = _registered(watcher, timeout=30)
        item = DBusAddress(path, bus_name=service, interface=ITEM)

        tooltip = bus.send_and_get_reply(_props(item, "ToolTip")).body[0][1]
        assert "Punchclock" in tooltip[2]
        menu_path = bus.send_and_get_reply(_props(item, "Menu")).body[0][1]
        labels = _deadline_menu(bus, service, menu_path, "Start Acme")
        texts = [label for _, label, _ in labels]
        assert "Quit Punchclock" in texts
        assert any(text.startswith("Stopped") for text in texts)

        # A panel's click on "Start Acme" is a dbusmenu Event.
        start = next(i for i, label, _ in labels if label == "Start Acme")
        menu = DBusAddress(menu_path, bus_name=service, interface=MENU)
        bus.send_and_get_reply(
            new_method_call(menu, "Event", "isvu", (start, "clicked", ("i", 0), 0))
        )
        _wait_running(app_env)
        assert app.poll() is None
        # The item stays as registered: no second offer as for XEmbed.
        time.sleep(3.5)
        assert _registered_again(watcher) is None
    finally:
        bus.close()
        app.send_signal(signal.SIGTERM)
        app.wait(timeout=15)
        print(stderr.read_text(errors="replace")[-3000:])


def _deadline_menu(
    bus: DBusConnection, service: str, path: str, wanted: str
) -> list[tuple[int, str, bool]]:
    """The menu once the app's first snapshot has filled it in."""
    deadline = time.monotonic() + 15
    while True:
        labels = _menu(bus, service, path)
        if any(label == wanted for _, label, _ in labels):
            return labels
        if time.monotonic() > deadline:
            raise AssertionError(f"{wanted!r} never showed in {labels}")
        time.sleep(0.2)


def _wait_running(env: dict[str, str]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if json.loads(_cli(env, "status", "--json"))["state"] == "running":
            return
        time.sleep(0.2)
    raise AssertionError("the timer did not start from the dbusmenu click")
