"""The Windows and macOS idle back ends, faked at the ctypes call.

Neither OS runs here, so the system libraries are replaced where the code
meets them: ``ctypes.WinDLL`` for user32/kernel32, ``ctypes.cdll`` and
``ctypes.util.find_library`` for ApplicationServices, and the pyobjc
``Quartz`` module. The fake functions behave as ctypes' foreign functions
do: a result is converted through the declared ``restype`` (``c_int`` when
none is declared, as ctypes does), so a missing prototype shows up here as
it would on the real OS.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from capture.base import HealthState
from capture.idle import IdleReading, create_idle_source
from capture.idle.macos import MacIdleSource
from capture.idle.windows import WindowsIdleSource

WRAP = 2**32
FRAMEWORK = (
    "/System/Library/Frameworks/ApplicationServices.framework/ApplicationServices"
)


class ForeignFunction:
    """A C function as ctypes presents it: declared types, C conversions."""

    def __init__(self, body: Callable[..., Any]) -> None:
        self.body = body
        self.restype: Any = ctypes.c_int
        self.argtypes: tuple[Any, ...] | None = None
        self.calls: list[tuple[Any, ...]] = []

    def __call__(self, *args: Any) -> Any:
        if self.argtypes is not None:
            assert len(args) == len(self.argtypes), "called against its prototype"
        self.calls.append(args)
        value = self.body(*args)
        if self.restype is None:
            return None
        # c_int truncates as the C return register would; c_void_p gives
        # None for NULL, as ctypes does.
        return self.restype(value).value


class FakeLibrary:
    def __init__(self, **functions: Callable[..., Any]) -> None:
        self._functions = {
            name: ForeignFunction(body) for name, body in functions.items()
        }

    def __getattr__(self, name: str) -> ForeignFunction:
        try:
            return self._functions[name]
        except KeyError:
            raise AttributeError(f"function {name!r} not found") from None


# Windows


class FakeWindows:
    """user32 and kernel32 as the idle back end uses them."""

    # A desktop handle above 4 GiB, as 64-bit Windows hands out.
    DESKTOP = 0x7FF6_0000_1234

    def __init__(self) -> None:
        self.tick = 5_000_000
        self.last_input = self.tick
        self.locked = False
        self.input_info_fails = False
        self.closed: list[int] = []
        self.user32 = FakeLibrary(
            GetLastInputInfo=self._get_last_input_info,
            OpenInputDesktop=self._open_input_desktop,
            CloseDesktop=self._close_desktop,
        )
        self.kernel32 = FakeLibrary(GetTickCount=lambda: self.tick % WRAP)

    def dll(self, name: str, *args: Any, **kwargs: Any) -> FakeLibrary:
        libraries = {"user32": self.user32, "kernel32": self.kernel32}
        return libraries[name.lower().removesuffix(".dll")]

    def _get_last_input_info(self, pointer: Any) -> int:
        info = pointer._obj  # what ctypes.byref wraps
        if self.input_info_fails or info.cbSize != ctypes.sizeof(info):
            return 0
        info.dwTime = self.last_input % WRAP
        return 1

    def _open_input_desktop(self, flags: int, inherit: bool, access: int) -> Any:
        return None if self.locked else self.DESKTOP

    def _close_desktop(self, handle: int) -> int:
        self.closed.append(handle)
        return 1


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> FakeWindows:
    fake = FakeWindows()
    monkeypatch.setattr(ctypes, "WinDLL", fake.dll, raising=False)
    return fake


def test_windows_idle_is_the_tick_count_since_the_last_input(
    windows: FakeWindows,
) -> None:
    source = create_idle_source(environ={}, platform="win32")
    assert isinstance(source, WindowsIdleSource)

    windows.tick += 12_345
    assert source.read() == IdleReading(12.345, False)
    windows.last_input = windows.tick
    assert source.read() == IdleReading(0.0, False)
    assert source.health().state is HealthState.WORKING
    assert source.health().backend == "windows"


def test_windows_tick_counter_wrapping_after_49_7_days(windows: FakeWindows) -> None:
    source = WindowsIdleSource()
    windows.last_input = WRAP - 1_500  # input just before the counter wraps
    windows.tick = WRAP + 700  # and now, just after: GetTickCount says 700

    reading = source.read()

    assert reading is not None
    assert reading.seconds == pytest.approx(2.2)


def test_windows_tick_counter_past_24_9_days_is_not_negative(
    windows: FakeWindows,
) -> None:
    source = WindowsIdleSource()
    windows.tick = 2**31 + 9_000  # the top bit set: negative as a C int
    windows.last_input = 2**31 + 1_000

    reading = source.read()

    assert reading is not None
    assert reading.seconds == pytest.approx(8.0)
    assert windows.kernel32.GetTickCount.restype is not ctypes.c_int


def test_windows_lock_is_the_input_desktop_refusing_to_open(
    windows: FakeWindows,
) -> None:
    source = WindowsIdleSource()
    windows.locked = True
    locked = source.read()
    windows.locked = False
    unlocked = source.read()

    assert (locked, unlocked) == (IdleReading(0.0, True), IdleReading(0.0, False))
    # The 64-bit handle is closed whole, not cut to a C int.
    assert windows.closed == [FakeWindows.DESKTOP]


def test_windows_failing_call_is_health_not_a_crash(windows: FakeWindows) -> None:
    source = WindowsIdleSource()
    windows.input_info_fails = True

    assert source.read() is None
    health = source.health()
    assert health.state is HealthState.UNAVAILABLE
    assert "GetLastInputInfo" in health.reason

    windows.input_info_fails = False
    assert source.read() is not None
    assert source.health().state is HealthState.WORKING


# macOS

HID_SYSTEM_STATE = 1
COMBINED_SESSION_STATE = 0
ANY_INPUT = 0xFFFFFFFF


class FakeQuartz:
    """ApplicationServices' event-source call and pyobjc's session dictionary."""

    def __init__(self) -> None:
        self.hid_idle = 42.5
        self.session: dict[str, Any] | None = {"kCGSSessionOnConsoleKey": True}
        self.library = FakeLibrary(
            CGEventSourceSecondsSinceLastEventType=self._seconds_since
        )
        self.module = SimpleNamespace(
            CGSessionCopyCurrentDictionary=lambda: self.session
        )

    def _seconds_since(self, state: int, event_type: int) -> float:
        if event_type != ANY_INPUT:
            return 1e9  # that kind of event never happened
        if state == HID_SYSTEM_STATE:
            return self.hid_idle
        # The session's own sources count synthetic events too.
        return 0.0

    def load(self, path: str) -> FakeLibrary:
        assert path == FRAMEWORK
        return self.library


@pytest.fixture
def quartz(monkeypatch: pytest.MonkeyPatch) -> FakeQuartz:
    fake = FakeQuartz()
    monkeypatch.setattr(
        ctypes.util,
        "find_library",
        lambda name: FRAMEWORK if name == "ApplicationServices" else None,
    )
    monkeypatch.setattr(ctypes.cdll, "LoadLibrary", fake.load)
    monkeypatch.setitem(sys.modules, "Quartz", fake.module)
    return fake


def test_macos_idle_is_the_hid_systems_time_since_any_input(
    quartz: FakeQuartz,
) -> None:
    source = create_idle_source(environ={}, platform="darwin")
    assert isinstance(source, MacIdleSource)

    assert source.read() == IdleReading(42.5, False)
    function = quartz.library.CGEventSourceSecondsSinceLastEventType
    assert function.restype is ctypes.c_double
    assert function.calls == [(HID_SYSTEM_STATE, ANY_INPUT)]
    assert source.health().backend == "macos"


def test_macos_lock_from_the_session_dictionary(quartz: FakeQuartz) -> None:
    source = MacIdleSource()
    quartz.session = {"CGSSessionScreenIsLocked": True}
    locked = source.read()
    quartz.session = None  # no window-server session: cannot tell
    unknown = source.read()

    assert (locked, unknown) == (IdleReading(42.5, True), IdleReading(42.5, None))


def test_macos_without_pyobjc_reads_idle_without_the_lock(
    quartz: FakeQuartz, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "Quartz", None)  # import fails

    assert MacIdleSource().read() == IdleReading(42.5, None)


def test_macos_negative_idle_is_reported_not_used(quartz: FakeQuartz) -> None:
    source = MacIdleSource()
    quartz.hid_idle = -1.0

    assert source.read() is None
    assert "negative" in source.health().reason


def test_macos_without_the_framework_is_null_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)

    source = create_idle_source(environ={}, platform="darwin")

    assert source.read() is None
    health = source.health()
    assert health.state is HealthState.UNAVAILABLE
    assert "ApplicationServices" in health.reason
