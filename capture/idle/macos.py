"""Idle time on macOS from the HID system's event source (Quartz).

``CGEventSourceSecondsSinceLastEventType(kCGEventSourceStateHIDSystemState,
kCGAnyInputEventType)`` is the HID idle time; it needs no permission. The
call sits behind :class:`QuartzIdleApi`, the thin OS layer tests replace.
The lock state comes from ``CGSessionCopyCurrentDictionary``'s
``CGSSessionScreenIsLocked`` where pyobjc's Quartz is installed.
"""

from __future__ import annotations

from typing import Any, Protocol

from capture.base import BackendUnavailable
from capture.idle.common import IdleReading, PollingIdleSource

_HID_SYSTEM_STATE = 1
_ANY_INPUT_EVENT = 0xFFFFFFFF


class QuartzIdleApi(Protocol):
    def seconds_since_input(self) -> float: ...

    def screen_locked(self) -> bool | None: ...


class MacIdleSource(PollingIdleSource):
    backend = "macos"

    def __init__(self, api: QuartzIdleApi | None = None) -> None:
        super().__init__()
        self._api = api or CtypesQuartzIdleApi()

    def _query(self) -> IdleReading:
        try:
            seconds = self._api.seconds_since_input()
        except OSError as exc:
            raise BackendUnavailable(f"macOS did not report idle time ({exc})") from exc
        if seconds < 0:
            raise BackendUnavailable("macOS reported a negative idle time")
        return IdleReading(seconds, self._api.screen_locked())


class CtypesQuartzIdleApi:
    """The real call, through ctypes into ApplicationServices."""

    def __init__(self) -> None:
        import ctypes
        import ctypes.util

        path = ctypes.util.find_library("ApplicationServices")
        if path is None:
            raise BackendUnavailable("the ApplicationServices framework is missing")
        library: Any = ctypes.cdll.LoadLibrary(path)
        function = library.CGEventSourceSecondsSinceLastEventType
        function.restype = ctypes.c_double
        function.argtypes = (ctypes.c_int32, ctypes.c_uint32)
        self._seconds = function

    def seconds_since_input(self) -> float:
        return float(self._seconds(_HID_SYSTEM_STATE, _ANY_INPUT_EVENT))

    def screen_locked(self) -> bool | None:
        try:
            import Quartz  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            return None
        session = Quartz.CGSessionCopyCurrentDictionary()
        if session is None:
            # No window-server session (ssh, a launch daemon): unknown.
            return None
        return bool(session.get("CGSSessionScreenIsLocked", False))
