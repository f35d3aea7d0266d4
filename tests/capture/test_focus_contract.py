"""One contract for every focus back end: X11 on a real virtual desktop,
Windows and macOS through fakes of their OS layer.

Each driver opens windows with known titles, switches between them, renames
and closes them, the way a worker's desktop does; the source under test
must report each change once, with the right app and title, stamped between
the moment the switch was asked for and the moment it completed.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC
from typing import Any, Protocol

import pytest

from agent.clock import SystemClock
from capture.base import FocusSource, HealthState
from capture.focus import common
from capture.focus.macos import NO_PERMISSION, MacFocusSource
from capture.focus.privacy import FocusPrivacy
from capture.focus.windows import WindowsFocusSource
from tests.capture.fakes import (
    FakeKernel32,
    FakeObjc,
    FakeProcesses,
    FakeRunningApp,
    FakeUser32,
    Recorder,
)
from tests.desktop import VirtualDesktop

# How late after the OS finished a switch a sample may be stamped. Generous:
# this checks ordering and attribution, not speed (the benchmark measures).
LATE = 2.0


class Driver(Protocol):
    app: str

    def source(self, privacy: FocusPrivacy | None = None) -> FocusSource: ...
    def open(self, title: str) -> Any: ...
    def activate(self, window: Any) -> tuple[float, float]: ...
    def retitle(self, window: Any, title: str) -> tuple[float, float]: ...
    def close(self, window: Any) -> None: ...
    def title_of(self, window: Any) -> str: ...


class X11Driver:
    app = "XTerm"

    def __init__(self, desktop: VirtualDesktop) -> None:
        self.desktop = desktop

    def source(self, privacy: FocusPrivacy | None = None) -> FocusSource:
        from capture.focus.x11 import X11FocusSource  # python-xlib: Linux only

        return X11FocusSource(SystemClock(), privacy, display=self.desktop.display)

    def open(self, title: str) -> Any:
        return self.desktop.open_xterm(title)

    def activate(self, window: Any) -> tuple[float, float]:
        return self.desktop.activate(window)

    def retitle(self, window: Any, title: str) -> tuple[float, float]:
        return self.desktop.set_title(window, title)

    def close(self, window: Any) -> None:
        self.desktop.close(window)

    def title_of(self, window: Any) -> str:
        return str(window.title)


class WindowsDriver:
    app = "notepad"

    def __init__(self, processes: FakeProcesses) -> None:
        self.user32 = FakeUser32()
        self.processes = processes
        self._pids = itertools.count(4100)

    def source(self, privacy: FocusPrivacy | None = None) -> FocusSource:
        return WindowsFocusSource(
            SystemClock(), privacy, user32=self.user32, kernel32=FakeKernel32()
        )

    def open(self, title: str) -> Any:
        pid = next(self._pids)
        self.processes.names[pid] = "notepad.exe"
        return self.user32.open(title, pid)

    def activate(self, window: Any) -> tuple[float, float]:
        before = time.monotonic()
        self.user32.activate(window)
        return before, time.monotonic()

    def retitle(self, window: Any, title: str) -> tuple[float, float]:
        before = time.monotonic()
        self.user32.retitle(window, title)
        return before, time.monotonic()

    def close(self, window: Any) -> None:
        self.user32.close(window)

    def title_of(self, window: Any) -> str:
        return self.user32.windows[window].title


class MacDriver:
    app = "TextEdit"

    def __init__(self) -> None:
        self.objc = FakeObjc()
        self._pids = itertools.count(700)

    def source(self, privacy: FocusPrivacy | None = None) -> FocusSource:
        return MacFocusSource(SystemClock(), privacy, objc=self.objc)

    def open(self, title: str) -> Any:
        # One app per window keeps the contract the same as on the others.
        app = FakeRunningApp(next(self._pids), "TextEdit", "com.apple.TextEdit")
        app.windows.append(title)
        return self.objc.launch(app)

    def activate(self, window: Any) -> tuple[float, float]:
        before = time.monotonic()
        self.objc.activate(window)
        return before, time.monotonic()

    def retitle(self, window: Any, title: str) -> tuple[float, float]:
        before = time.monotonic()
        self.objc.retitle(window, title)
        return before, time.monotonic()

    def close(self, window: Any) -> None:
        self.objc.close_front_window(window)

    def title_of(self, window: Any) -> str:
        return str(window.windows[0])


@pytest.fixture
def fake_processes(monkeypatch: pytest.MonkeyPatch) -> FakeProcesses:
    processes = FakeProcesses()
    monkeypatch.setattr(common.psutil, "Process", processes)
    return processes


@pytest.fixture(
    params=[
        pytest.param("x11", marks=pytest.mark.x11),
        "windows-faked",
        "macos-faked",
    ]
)
def driver(request: pytest.FixtureRequest) -> Driver:
    if request.param == "x11":
        return X11Driver(request.getfixturevalue("desktop"))
    if request.param == "windows-faked":
        return WindowsDriver(request.getfixturevalue("fake_processes"))
    return MacDriver()


@pytest.fixture
def running(driver: Driver) -> Iterator[tuple[FocusSource, Recorder]]:
    recorder = Recorder()
    source = driver.source()
    source.start(recorder, recorder.on_health)
    yield source, recorder
    source.stop()


def _title(title: str) -> Any:
    return lambda s: s.focused and s.title == title


def _unique(name: str) -> str:
    return f"{name} {os.getpid()}-{time.monotonic_ns() % 10**9}"


def test_switches_are_reported_with_app_title_and_time(
    driver: Driver, running: tuple[FocusSource, Recorder]
) -> None:
    source, recorder = running
    first, second = driver.open(_unique("first")), driver.open(_unique("second"))

    for window in (first, second, first):
        mark = recorder.mark()
        before, after = driver.activate(window)
        sample = recorder.wait_after(mark, _title(driver.title_of(window)))

        assert sample.app == driver.app
        assert before <= sample.mono <= after + LATE
        assert sample.at.tzinfo is not None
        assert sample.at.utcoffset() == UTC.utcoffset(None)
        assert source.current() == recorder.since(mark)[-1]
    assert source.health().state is HealthState.WORKING


def test_title_change_of_the_focused_window_is_a_new_sample(
    driver: Driver, running: tuple[FocusSource, Recorder]
) -> None:
    _, recorder = running
    window = driver.open(_unique("before"))
    driver.activate(window)
    # A program may set its pid after its window shows: wait until it has.
    old = recorder.wait_for(lambda s: s.title.startswith("before") and s.pid)

    renamed = _unique("after")
    before, after = driver.retitle(window, renamed)
    sample = recorder.wait_for(_title(renamed))

    assert sample.app == old.app
    assert sample.pid == old.pid
    assert before <= sample.mono <= after + LATE


def test_consecutive_samples_always_differ(
    driver: Driver, running: tuple[FocusSource, Recorder]
) -> None:
    _, recorder = running
    window = driver.open(_unique("steady"))
    driver.activate(window)
    recorder.wait_for(lambda s: s.title.startswith("steady"))
    driver.activate(window)
    driver.retitle(window, driver.title_of(window))
    time.sleep(0.3)  # give a duplicate the chance to appear

    samples = recorder.since(0)
    for earlier, later in itertools.pairwise(samples):
        assert not later.same_content(earlier)


def test_closing_the_focused_window_moves_on(
    driver: Driver, running: tuple[FocusSource, Recorder]
) -> None:
    _, recorder = running
    keep, doomed = driver.open(_unique("keep")), driver.open(_unique("doomed"))
    driver.activate(keep)
    mark = recorder.mark()
    driver.activate(doomed)
    recorder.wait_after(mark, lambda s: s.title.startswith("doomed"))

    mark = recorder.mark()
    driver.close(doomed)
    sample = recorder.wait_after(mark, lambda s: not s.title.startswith("doomed"))

    assert sample.title.startswith("keep") or not sample.title


def test_privacy_applies_before_the_callback(driver: Driver) -> None:
    recorder = Recorder()
    source = driver.source(FocusPrivacy(excluded_titles=("*secret*",)))
    source.start(recorder)
    try:
        window = driver.open(_unique("top secret plan"))
        driver.activate(window)
        sample = recorder.wait_for(lambda s: s.private)
    finally:
        source.stop()

    assert sample.title == ""
    assert sample.app == driver.app
    assert all("secret" not in s.title for s in recorder.samples)


def test_stop_is_quick_and_final(driver: Driver) -> None:
    recorder = Recorder()
    source = driver.source()
    source.start(recorder)
    window = driver.open(_unique("last"))
    driver.activate(window)
    recorder.wait_for(lambda s: s.title.startswith("last"))

    started = time.monotonic()
    source.stop()
    stopped_in = time.monotonic() - started
    count = recorder.mark()
    driver.activate(driver.open(_unique("after stop")))
    time.sleep(0.3)

    assert stopped_in < 1.5
    assert recorder.mark() == count
    assert not [t for t in threading.enumerate() if t.name.startswith("focus-")]


def test_samples_come_from_the_source_thread(
    driver: Driver, running: tuple[FocusSource, Recorder]
) -> None:
    _, recorder = running
    driver.activate(driver.open(_unique("thread")))
    recorder.wait_for(lambda s: s.title.startswith("thread"))

    assert recorder.threads
    assert all(
        name.startswith("focus-") or name == "MainThread" for name in recorder.threads
    )


def test_macos_without_accessibility_records_apps_and_says_why() -> None:
    driver = MacDriver()
    driver.objc.trusted = False
    recorder = Recorder()
    source = driver.source()
    source.start(recorder, recorder.on_health)
    try:
        driver.activate(driver.open("invisible title"))
        sample = recorder.wait_for(lambda s: s.app == "TextEdit")
    finally:
        source.stop()

    assert sample.title == ""
    health = source.health()
    assert health.state is HealthState.UNAVAILABLE
    assert (health.reason, health.fix) == NO_PERMISSION


def test_macos_browser_url_through_apple_events() -> None:
    driver = MacDriver()
    driver.objc.browser_urls["com.google.Chrome"] = "https://example.org/page"
    chrome = driver.objc.launch(
        FakeRunningApp(900, "Google Chrome", "com.google.Chrome", ["Example"])
    )
    recorder = Recorder()
    source = driver.source()
    source.start(recorder)
    try:
        driver.objc.activate(chrome)
        sample = recorder.wait_for(lambda s: s.app == "Google Chrome")
    finally:
        source.stop()

    assert sample.url == "https://example.org/page"
    assert sample.domain == "example.org"
    assert "active tab of front window" in driver.objc.scripts_run[-1]


def test_windows_hook_refused_is_reported(fake_processes: FakeProcesses) -> None:
    driver = WindowsDriver(fake_processes)
    driver.user32.refuse_hooks = True
    source = driver.source()
    source.start(Recorder())
    try:
        health = source.health()
    finally:
        source.stop()

    assert health.state is HealthState.UNAVAILABLE
    assert "SetWinEventHook" in health.reason
    assert not driver.user32.hooks


def test_windows_events_are_handled_on_the_hooking_thread(
    fake_processes: FakeProcesses,
) -> None:
    driver = WindowsDriver(fake_processes)
    recorder = Recorder()
    source = driver.source()
    source.start(recorder)
    try:
        driver.activate(driver.open("hooked"))
        recorder.wait_for(_title("hooked"))
    finally:
        source.stop()

    assert recorder.threads == {"focus-windows"}
    assert driver.user32.loop_thread is not None
    assert not driver.user32.hooks  # unhooked on stop
