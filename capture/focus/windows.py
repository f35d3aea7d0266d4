"""Focus on Windows, through the Win32 event hook (ctypes, no compiler).

``SetWinEventHook`` reports ``EVENT_SYSTEM_FOREGROUND`` when another window
comes to the front and ``EVENT_OBJECT_NAMECHANGE`` when a window's title
changes; both are delivered out of context to the thread that installed the
hook, which must pump messages. The source runs that thread: hooks, a
message loop, a ``WM_TIMER`` for the slow safety poll, and ``WM_QUIT`` from
:meth:`stop`. Each event carries its own tick count, so a sample is stamped
at the moment of the event even when the thread was busy.

Every Win32 call goes through the ``user32``/``kernel32`` objects given to
the source (``ctypes.WinDLL`` by default); tests hand in fakes of exactly
those functions.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from ctypes import wintypes
from datetime import timedelta
from typing import Any

from agent.clock import Clock
from capture.base import BackendUnavailable, CaptureHealth
from capture.browser.urls import BrowserUrls
from capture.focus.common import (
    SOURCE,
    EmittingFocusSource,
    FocusedWindow,
    process_name,
)
from capture.focus.privacy import FocusPrivacy

log = logging.getLogger(__name__)

BACKEND = "windows"

EVENT_SYSTEM_FOREGROUND = 0x0003
EVENT_OBJECT_NAMECHANGE = 0x800C
WINEVENT_OUTOFCONTEXT = 0x0000
WINEVENT_SKIPOWNPROCESS = 0x0002
OBJID_WINDOW = 0
CHILDID_SELF = 0
WM_QUIT = 0x0012
WM_TIMER = 0x0113
MAX_TITLE_CHARS = 4096
TICK_RESOLUTION = 0.032

_FUNCTYPE: Any = getattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE)
WinEventProc = _FUNCTYPE(
    None,
    wintypes.HANDLE,
    wintypes.DWORD,
    wintypes.HWND,
    wintypes.LONG,
    wintypes.LONG,
    wintypes.DWORD,
    wintypes.DWORD,
)


def load_win32() -> tuple[Any, Any]:
    """``user32`` and ``kernel32`` with the signatures this module uses."""
    try:
        user32 = ctypes.WinDLL("user32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    except (AttributeError, OSError) as exc:
        raise BackendUnavailable(f"Win32 API not available: {exc}") from exc

    msg_p = ctypes.POINTER(wintypes.MSG)
    hwnd, dword, uint = wintypes.HWND, wintypes.DWORD, wintypes.UINT
    hook_args = [dword, dword, wintypes.HMODULE, WinEventProc, dword, dword, dword]
    signatures: dict[str, tuple[list[Any], Any]] = {
        "SetWinEventHook": (hook_args, wintypes.HANDLE),
        "UnhookWinEvent": ([wintypes.HANDLE], wintypes.BOOL),
        "GetForegroundWindow": ([], hwnd),
        "GetWindowTextLengthW": ([hwnd], ctypes.c_int),
        "GetWindowTextW": ([hwnd, wintypes.LPWSTR, ctypes.c_int], ctypes.c_int),
        "GetWindowThreadProcessId": ([hwnd, wintypes.LPDWORD], dword),
        "GetMessageW": ([msg_p, hwnd, uint, uint], wintypes.BOOL),
        "TranslateMessage": ([msg_p], wintypes.BOOL),
        "DispatchMessageW": ([msg_p], ctypes.c_ssize_t),
        "PostThreadMessageW": (
            [dword, uint, wintypes.WPARAM, wintypes.LPARAM],
            wintypes.BOOL,
        ),
        "SetTimer": ([hwnd, ctypes.c_size_t, uint, ctypes.c_void_p], ctypes.c_size_t),
        "KillTimer": ([hwnd, ctypes.c_size_t], wintypes.BOOL),
    }
    for name, (argtypes, restype) in signatures.items():
        function = getattr(user32, name)
        function.argtypes, function.restype = argtypes, restype
    kernel32.GetCurrentThreadId.restype = wintypes.DWORD
    kernel32.GetTickCount.restype = wintypes.DWORD
    return user32, kernel32


class WindowsFocusSource(EmittingFocusSource):
    """The focus source of a Windows session; runs one message-loop thread."""

    backend = BACKEND

    def __init__(
        self,
        clock: Clock,
        privacy: FocusPrivacy | None = None,
        urls: BrowserUrls | None = None,
        *,
        user32: Any = None,
        kernel32: Any = None,
        safety_poll: float = 10.0,
    ) -> None:
        super().__init__(clock, privacy, urls)
        if user32 is None or kernel32 is None:
            user32, kernel32 = load_win32()
        self._user32, self._kernel32 = user32, kernel32
        self._safety_poll = safety_poll
        self._thread: threading.Thread | None = None
        self._thread_id = 0
        self._ready = threading.Event()
        self._foreground: int = 0
        # Kept referenced: Windows calls it for as long as the hook lives.
        self._proc = WinEventProc(self._on_event)

    def _start_backend(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="focus-windows", daemon=True
        )
        self._thread.start()
        self._ready.wait(timeout=2)

    def _stop_backend(self) -> None:
        if self._thread_id:
            self._user32.PostThreadMessageW(self._thread_id, WM_QUIT, 0, 0)
        if self._thread is not None:
            self._thread.join(timeout=2)
            if self._thread.is_alive():
                log.warning("Windows focus thread did not stop in time")

    # the thread

    def _run(self) -> None:
        self._thread_id = int(self._kernel32.GetCurrentThreadId())
        hooks = self._hook()
        timer = self._user32.SetTimer(None, 0, int(self._safety_poll * 1000), None)
        self._ready.set()
        try:
            if hooks:
                self._set_health(CaptureHealth.working(SOURCE, BACKEND))
                self._refresh(self._user32.GetForegroundWindow(), None)
                self._pump()
        finally:
            for hook in hooks:
                self._user32.UnhookWinEvent(hook)
            if timer:
                self._user32.KillTimer(None, timer)

    def _hook(self) -> list[int]:
        flags = WINEVENT_OUTOFCONTEXT | WINEVENT_SKIPOWNPROCESS
        hooks: list[int] = []
        for event in (EVENT_SYSTEM_FOREGROUND, EVENT_OBJECT_NAMECHANGE):
            hook = self._user32.SetWinEventHook(
                event, event, None, self._proc, 0, 0, flags
            )
            if not hook:
                self._set_health(
                    CaptureHealth.unavailable(
                        SOURCE,
                        BACKEND,
                        f"SetWinEventHook refused event {event:#x}",
                        "sign in to an interactive desktop session",
                    )
                )
                for installed in hooks:
                    self._user32.UnhookWinEvent(installed)
                return []
            hooks.append(hook)
        return hooks

    def _pump(self) -> None:
        msg = wintypes.MSG()
        msg_p = ctypes.pointer(msg)
        while True:
            result = self._user32.GetMessageW(msg_p, None, 0, 0)
            if result == 0 or result == -1:
                return
            if msg.message == WM_TIMER:
                self._refresh(self._user32.GetForegroundWindow(), None)
            self._user32.TranslateMessage(msg_p)
            self._user32.DispatchMessageW(msg_p)

    def _on_event(
        self,
        hook: int,
        event: int,
        hwnd: int | None,
        id_object: int,
        id_child: int,
        thread: int,
        event_ms: int,
    ) -> None:
        # Called by DispatchMessage on the source's thread; must not raise.
        try:
            if event == EVENT_SYSTEM_FOREGROUND or (
                event == EVENT_OBJECT_NAMECHANGE
                and id_object == OBJID_WINDOW
                and id_child == CHILDID_SELF
                and hwnd
                and hwnd == self._foreground
            ):
                self._refresh(hwnd, event_ms)
        except Exception:
            log.exception("focus event %#x not handled", event)

    def _refresh(self, hwnd: int | None, event_ms: int | None) -> None:
        at, mono = self._clock.now(), self._clock.monotonic()
        if event_ms is not None:
            # The event happened ``age`` before we got to it. GetTickCount
            # moves in steps of about 16 ms: only a longer delay is corrected.
            age = ((int(self._kernel32.GetTickCount()) - event_ms) & 0xFFFFFFFF) / 1000
            if TICK_RESOLUTION < age < 5:
                at, mono = at - timedelta(seconds=age), mono - age

        self._foreground = int(hwnd or 0)
        if not hwnd:
            self._observe(None, at, mono)
            return
        self._observe(self._read(int(hwnd)), at, mono)

    def _read(self, hwnd: int) -> FocusedWindow:
        length = min(int(self._user32.GetWindowTextLengthW(hwnd)), MAX_TITLE_CHARS)
        buffer = ctypes.create_unicode_buffer(length + 1)
        self._user32.GetWindowTextW(hwnd, buffer, length + 1)
        pid = wintypes.DWORD(0)
        self._user32.GetWindowThreadProcessId(hwnd, ctypes.pointer(pid))
        exe = process_name(pid.value)
        return FocusedWindow(
            window_id=hwnd,
            pid=pid.value or None,
            wm_class=exe,
            title=buffer.value,
            app=exe.removesuffix(".exe").removesuffix(".EXE") if exe else None,
        )
