"""Idle time on Windows: ``GetLastInputInfo`` against ``GetTickCount``.

The two calls sit behind :class:`Win32IdleApi`, the thin OS layer tests
replace. Both counters are 32-bit milliseconds that wrap after 49.7 days;
the difference is taken modulo 2**32.

Lock: while the session is locked ``OpenInputDesktop`` cannot open the
input desktop (it is the secure "Winlogon" desktop), which is the
documented way to tell without a service.
"""

from __future__ import annotations

from typing import Any, Protocol

from capture.base import BackendUnavailable
from capture.idle.common import IdleReading, PollingIdleSource

_WRAP = 2**32
_DESKTOP_SWITCHDESKTOP = 0x0100


class Win32IdleApi(Protocol):
    def last_input_tick(self) -> int:
        """``LASTINPUTINFO.dwTime``; raises OSError when the call fails."""
        ...

    def tick_count(self) -> int:
        """``GetTickCount()``."""
        ...

    def input_desktop_open(self) -> bool:
        """Whether ``OpenInputDesktop`` succeeds (False while locked)."""
        ...


class WindowsIdleSource(PollingIdleSource):
    backend = "windows"

    def __init__(self, api: Win32IdleApi | None = None) -> None:
        super().__init__()
        self._api = api or CtypesWin32IdleApi()

    def _query(self) -> IdleReading:
        try:
            last = self._api.last_input_tick()
            now = self._api.tick_count()
            locked = not self._api.input_desktop_open()
        except OSError as exc:
            raise BackendUnavailable(
                f"Windows did not report the last input time ({exc})"
            ) from exc
        return IdleReading(((now - last) % _WRAP) / 1000.0, locked)


class CtypesWin32IdleApi:
    """The real calls, through ctypes; built only on Windows.

    Every function is declared with its C prototype: undeclared, ctypes
    returns a C ``int``, which cuts a 64-bit desktop handle to 32 bits and
    reads ``GetTickCount`` as negative after 24.9 days.
    """

    def __init__(self) -> None:
        import ctypes
        from ctypes import wintypes

        class LastInputInfo(ctypes.Structure):
            _fields_ = (("cbSize", wintypes.UINT), ("dwTime", wintypes.DWORD))

        # Own library objects: declaring on the shared ctypes.windll ones
        # would change them for every other user in the process.
        user32 = ctypes.WinDLL("user32")  # type: ignore[attr-defined,unused-ignore]
        kernel32 = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined,unused-ignore]
        self._ctypes = ctypes
        self._info_type = LastInputInfo
        self._last_input_info = _declare(
            user32.GetLastInputInfo, wintypes.BOOL, ctypes.POINTER(LastInputInfo)
        )
        self._tick_count = _declare(kernel32.GetTickCount, wintypes.DWORD)
        self._open_input_desktop = _declare(
            user32.OpenInputDesktop,
            wintypes.HANDLE,
            wintypes.DWORD,
            wintypes.BOOL,
            wintypes.DWORD,
        )
        self._close_desktop = _declare(
            user32.CloseDesktop, wintypes.BOOL, wintypes.HANDLE
        )

    def last_input_tick(self) -> int:
        info = self._info_type()
        info.cbSize = self._ctypes.sizeof(info)
        if not self._last_input_info(self._ctypes.byref(info)):
            raise OSError("GetLastInputInfo failed")
        return int(info.dwTime)

    def tick_count(self) -> int:
        return int(self._tick_count())

    def input_desktop_open(self) -> bool:
        desktop = self._open_input_desktop(0, False, _DESKTOP_SWITCHDESKTOP)
        if not desktop:
            return False
        self._close_desktop(desktop)
        return True


def _declare(function: Any, restype: Any, *argtypes: Any) -> Any:
    function.restype = restype
    function.argtypes = argtypes
    return function
