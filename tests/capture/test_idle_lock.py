"""Screen lock on X11: the X screen saver's state on the virtual desktop, and
lockers' D-Bus signals from fake services on real, private dbus-daemons (one
as the session bus, one standing in for the system bus with logind).

End to end: a lock while the timer runs is away time from the last input,
and typing at the lock screen does not bring the worker back.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("jeepney", reason="D-Bus tests run on Linux only (jeepney)")

from jeepney import DBusAddress, new_signal

from agent.clock import SystemClock
from agent.idle import IdleMonitor, IdlePolicy
from agent.projects import Projects
from agent.store import Store
from agent.store.models import Entry, IdlePeriod
from agent.timer import Timer
from capture.idle import create_idle_source
from capture.idle.lock import (
    LOGIND,
    LOGIND_MANAGER,
    LOGIND_SESSION,
    PROPERTIES,
    SAVERS,
    LockWatch,
)
from capture.idle.x11 import X11IdleSource
from tests.capture.test_factory_wayland import FakeService
from tests.capture.test_idle_wayland import Bus, private_bus
from tests.desktop import VirtualDesktop

FDO_SAVER = SAVERS[0]
SESSION_PATH = "/org/freedesktop/login1/session/c7"


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


class Saver(FakeService):
    """A desktop's screen saver service: GetActive, and ActiveChanged."""

    def __init__(self, active: bool = False) -> None:
        self.active = active
        super().__init__(FDO_SAVER[0], self._answer)

    def _answer(self, msg: Any) -> tuple[str, tuple[Any, ...]] | None:
        if msg.header.fields.get(3) == "GetActive":
            return "b", (self.active,)
        return None

    def set_active(self, active: bool) -> None:
        self.active = active
        address = DBusAddress(FDO_SAVER[1], interface=FDO_SAVER[2])
        self.conn.send(new_signal(address, "ActiveChanged", "b", (active,)))


class Logind(FakeService):
    """systemd-logind as far as the lock goes: the session and its LockedHint."""

    def __init__(self) -> None:
        self.locked_hint = False
        super().__init__(LOGIND[0], self._answer)

    def _answer(self, msg: Any) -> tuple[str, tuple[Any, ...]] | None:
        fields = msg.header.fields
        interface, member = fields.get(2), fields.get(3)
        if (interface, member, msg.body) == (LOGIND_MANAGER, "GetSession", ("c7",)):
            return "o", (SESSION_PATH,)
        if (fields.get(1), member) == (SESSION_PATH, "Get") and msg.body == (
            LOGIND_SESSION,
            "LockedHint",
        ):
            return "v", (("b", self.locked_hint),)
        return None

    def set_locked_hint(self, locked: bool) -> None:
        self.locked_hint = locked
        address = DBusAddress(SESSION_PATH, interface=PROPERTIES)
        changed = {"LockedHint": ("b", locked)}
        body = (LOGIND_SESSION, changed, [])
        self.conn.send(new_signal(address, "PropertiesChanged", "sa{sv}as", body))


@pytest.fixture
def session_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[Bus]:
    with private_bus() as bus:
        # FakeService connects to the bus the environment names.
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        yield bus


@pytest.fixture
def system_bus() -> Iterator[Bus]:
    with private_bus() as bus:
        yield bus


@pytest.fixture
def saver(session_bus: Bus) -> Iterator[Saver]:
    service = Saver()
    service.start()
    yield service
    service.stop()


def watch_for(session_bus: Bus, system_bus: Bus | None = None) -> LockWatch:
    env = {"DBUS_SESSION_BUS_ADDRESS": session_bus.address, "XDG_SESSION_ID": "c7"}
    env["DBUS_SYSTEM_BUS_ADDRESS"] = system_bus.address if system_bus else ""
    return LockWatch(env)


# the D-Bus lock watch


def test_a_screen_saver_services_signal_is_followed(
    session_bus: Bus, saver: Saver
) -> None:
    watch = watch_for(session_bus)
    watch.start()
    try:
        assert watch.locked is False
        saver.set_active(True)
        wait_until(lambda: watch.locked is True, "locked by ActiveChanged")
        saver.set_active(False)
        wait_until(lambda: watch.locked is False, "unlocked by ActiveChanged")
    finally:
        watch.stop()


def test_the_state_at_start_is_read_not_waited_for(
    session_bus: Bus, saver: Saver
) -> None:
    saver.active = True
    watch = watch_for(session_bus)
    watch.start()
    try:
        assert watch.locked is True
    finally:
        watch.stop()


def test_logind_locked_hint_on_the_system_bus(
    session_bus: Bus, system_bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", system_bus.address)
    logind = Logind()
    logind.start()
    watch = watch_for(session_bus, system_bus)
    watch.start()
    try:
        assert watch.locked is False
        logind.set_locked_hint(True)
        wait_until(lambda: watch.locked is True, "locked by LockedHint")
        logind.set_locked_hint(False)
        wait_until(lambda: watch.locked is False, "unlocked by LockedHint")
    finally:
        watch.stop()
        logind.stop()


def test_without_lockers_or_buses_the_lock_is_unknown(session_bus: Bus) -> None:
    with_bus = watch_for(session_bus)
    without = LockWatch({"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent"})
    with_bus.start()
    without.start()
    try:
        assert with_bus.locked is None
        assert without.locked is None
    finally:
        with_bus.stop()
        without.stop()


def test_stop_ends_the_listening_threads(session_bus: Bus, saver: Saver) -> None:
    watch = watch_for(session_bus)
    watch.start()
    assert any(t.name == "lock-watch-session" for t in threading.enumerate())
    watch.stop()

    assert not any(t.name == "lock-watch-session" for t in threading.enumerate())


# the X screen saver on the virtual desktop


def xset(desktop: VirtualDesktop, *args: str) -> None:
    subprocess.run(["xset", *args], env=desktop.env, check=True, timeout=10)


@pytest.fixture
def blankable(desktop: VirtualDesktop) -> Iterator[VirtualDesktop]:
    yield desktop
    xset(desktop, "s", "reset")


@pytest.mark.x11
def test_the_x_screen_saver_on_is_locked(blankable: VirtualDesktop) -> None:
    source = create_idle_source(environ={"DISPLAY": blankable.display})
    assert isinstance(source, X11IdleSource)
    try:
        before = source.read()
        xset(blankable, "s", "activate")
        during = source.read()
        blankable.xdotool("mousemove", "40", "40")
        after = source.read()
    finally:
        source.close()

    assert before is not None
    assert during is not None
    assert after is not None
    assert (before.locked, during.locked, after.locked) == (False, True, False)
    assert during.seconds >= 0


@pytest.mark.x11
def test_the_saver_is_followed_from_its_events_without_a_query(
    blankable: VirtualDesktop,
) -> None:
    source = X11IdleSource(blankable.display)
    try:
        unlocked = source.reports_lock  # starts following the saver
        xset(blankable, "s", "activate")
        wait_until(lambda: source.reports_lock, "ScreenSaverNotify on")
        blankable.xdotool("mousemove", "30", "30")
        wait_until(lambda: not source.reports_lock, "ScreenSaverNotify off")
    finally:
        source.close()

    assert unlocked is False
    assert not any(t.name == "x-saver-watch" for t in threading.enumerate())


@pytest.mark.x11
def test_the_input_is_overruled_only_while_locked(
    blankable: VirtualDesktop, session_bus: Bus, saver: Saver
) -> None:
    source = X11IdleSource(blankable.display, watch_for(session_bus))
    try:
        unlocked = source.reports_lock
        saver.set_active(True)
        wait_until(lambda: source.reports_lock, "the locker's signal")
        reading = source.read()
    finally:
        source.close()

    assert unlocked is False
    assert reading is not None
    assert reading.locked is True


# end to end: a lock while the timer runs


@pytest.mark.x11
def test_a_lock_is_away_time_from_the_last_input_and_the_lock_screen_is_not_work(
    blankable: VirtualDesktop, session_bus: Bus, saver: Saver, tmp_path: Path
) -> None:
    clock = SystemClock()
    store = Store.open(tmp_path / "punchclock.db")
    Projects(store, clock).add("Acme")
    timer = Timer(store, clock)
    monitor = IdleMonitor(store, clock, IdlePolicy(threshold_seconds=1.5))
    monitor.restore()
    source = X11IdleSource(blankable.display, watch_for(session_bus))

    def tick() -> None:
        monitor.tick(timer.current(), None, source.read())

    def ticked(check: Callable[[], bool]) -> bool:
        tick()
        return check()

    try:
        started = timer.start("Acme").start
        blankable.xdotool("type", "--delay", "20", "report")
        typed = clock.now()
        tick()
        saver.set_active(True)  # the worker locks the screen and leaves
        wait_until(lambda: source.reports_lock, "the lock seen")
        wait_until(lambda: ticked(lambda: monitor.away), "away after the lock")
        blankable.xdotool("type", "--delay", "20", "password")  # at the lock screen
        for _ in range(5):
            tick()
            time.sleep(0.1)
        still_away = monitor.away
        saver.set_active(False)
        wait_until(lambda: not source.reports_lock, "the unlock seen")
        blankable.xdotool("mousemove", "60", "60")
        wait_until(lambda: ticked(lambda: not monitor.away), "back after unlocking")
        with store.read() as session:
            (period,) = session.query(IdlePeriod).all()
            first = session.query(Entry).order_by(Entry.start).first()
            assert first is not None
            cut = first.end
            cause, start, end = period.cause, period.start, period.end
    finally:
        source.close()
        store.close()

    assert cause == "lock"
    assert still_away, "typing at the lock screen brought the worker back"
    # Cut at the last input before the lock, not when the threshold passed.
    assert cut == start
    assert started <= start <= typed
    assert end is not None
    assert end > start
    prompt = monitor.pending()
    assert prompt is not None
    assert "(locked)" in prompt.message()
