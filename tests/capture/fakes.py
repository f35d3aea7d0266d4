"""Fakes of the operating-system layer under the Windows and macOS back ends.

They replace exactly what the back ends call — the ``user32``/``kernel32``
ctypes functions, the pyobjc functions and objects, ``psutil.Process`` —
and behave like the real ones where the back ends depend on it: Win32
events are delivered from inside ``GetMessageW`` on the hooking thread; AX
notifications from inside ``CFRunLoopRunInMode`` on the observing thread;
NSWorkspace notifications on the thread that activates an app (the "main"
thread).
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from capture.focus import windows as win

# Recorder: samples collected from a source's callback, waited on.


class Recorder:
    def __init__(self) -> None:
        self.samples: list[Any] = []
        self.health: list[Any] = []
        self._cond = threading.Condition()
        self.threads: set[str] = set()

    def __call__(self, sample: Any) -> None:
        with self._cond:
            self.threads.add(threading.current_thread().name)
            self.samples.append(sample)
            self._cond.notify_all()

    def on_health(self, health: Any) -> None:
        with self._cond:
            self.health.append(health)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 5.0) -> Any:
        """The first sample (oldest first) satisfying ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for sample in self.samples:
                    if predicate(sample):
                        return sample
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no matching sample in {timeout} s; got {self.samples!r}"
                    )
                self._cond.wait(left)

    def mark(self) -> int:
        with self._cond:
            return len(self.samples)

    def since(self, mark: int) -> list[Any]:
        with self._cond:
            return self.samples[mark:]

    def wait_after(
        self, mark: int, predicate: Callable[[Any], bool], timeout: float = 5.0
    ) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for sample in self.samples[mark:]:
                    if predicate(sample):
                        return sample
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no matching sample in {timeout} s; got "
                        f"{self.samples[mark:]!r}"
                    )
                self._cond.wait(left)


# psutil


class FakeProcesses:
    """Stands in for ``psutil.Process``: names by pid."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}

    def __call__(self, pid: int) -> Any:
        if pid not in self.names:
            raise psutil.NoSuchProcess(pid)
        name = self.names[pid]
        return type("FakeProcess", (), {"name": lambda self: name})()


# Win32


@dataclass
class _Win:
    title: str
    pid: int


class FakeUser32:
    """The user32 functions the Windows back end calls, and a fake desktop."""

    def __init__(self) -> None:
        self.windows: dict[int, _Win] = {}
        self.foreground = 0
        self.hooks: dict[int, tuple[int, int, Any]] = {}
        self.refuse_hooks = False
        self._queue: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._ids = itertools.count(0x10010)
        self.calls_off_thread: list[str] = []
        self.loop_thread: int | None = None

    # what the back end calls

    def SetWinEventHook(self, emin, emax, hmod, proc, pid, tid, flags):
        if self.refuse_hooks:
            return 0
        self.loop_thread = threading.get_ident()
        handle = next(self._ids)
        self.hooks[handle] = (emin, emax, proc)
        return handle

    def UnhookWinEvent(self, handle):
        return 1 if self.hooks.pop(handle, None) else 0

    def GetForegroundWindow(self):
        return self.foreground or None

    def GetWindowTextLengthW(self, hwnd):
        window = self.windows.get(hwnd)
        return len(window.title) if window else 0

    def GetWindowTextW(self, hwnd, buffer, size):
        window = self.windows.get(hwnd)
        text = window.title[: size - 1] if window else ""
        buffer.value = text
        return len(text)

    def GetWindowThreadProcessId(self, hwnd, pid_pointer):
        window = self.windows.get(hwnd)
        pid_pointer.contents.value = window.pid if window else 0
        return 1 if window else 0

    def GetMessageW(self, msg_pointer, hwnd, low, high):
        # Out-of-context win events run inside GetMessage, on this thread.
        while True:
            item = self._queue.get()
            if item[0] == "event":
                self._dispatch(*item[1:])
                continue
            msg_pointer.contents.message = item[1]
            return 0 if item[1] == win.WM_QUIT else 1

    def TranslateMessage(self, msg_pointer):
        return 0

    def DispatchMessageW(self, msg_pointer):
        return 0

    def PostThreadMessageW(self, thread_id, message, wparam, lparam):
        self._queue.put(("msg", message))
        return 1

    def SetTimer(self, hwnd, timer_id, ms, func):
        return 1

    def KillTimer(self, hwnd, timer_id):
        return 1

    # what a test does to the desktop

    def open(self, title: str, pid: int) -> int:
        hwnd = next(self._ids)
        self.windows[hwnd] = _Win(title, pid)
        return hwnd

    def activate(self, hwnd: int) -> None:
        self.foreground = hwnd
        self._event(win.EVENT_SYSTEM_FOREGROUND, hwnd, win.OBJID_WINDOW)

    def retitle(self, hwnd: int, title: str) -> None:
        self.windows[hwnd].title = title
        # A caret or a child control renaming itself must be ignored.
        self._event(win.EVENT_OBJECT_NAMECHANGE, hwnd, -8)
        self._event(win.EVENT_OBJECT_NAMECHANGE, hwnd, win.OBJID_WINDOW)

    def close(self, hwnd: int) -> None:
        del self.windows[hwnd]
        if self.foreground == hwnd:
            self.foreground = next(iter(self.windows), 0)
            self._event(win.EVENT_SYSTEM_FOREGROUND, self.foreground, 0)

    def timer(self) -> None:
        self._queue.put(("msg", win.WM_TIMER))

    def _event(self, event: int, hwnd: int, id_object: int) -> None:
        tick = int(time.monotonic() * 1000) & 0xFFFFFFFF
        self._queue.put(("event", event, hwnd, id_object, tick))

    def _dispatch(self, event: int, hwnd: int, id_object: int, tick: int) -> None:
        for emin, emax, proc in list(self.hooks.values()):
            if emin <= event <= emax:
                proc(0, event, hwnd or None, id_object, 0, 0, tick)


class FakeKernel32:
    def GetCurrentThreadId(self):
        return threading.get_ident() & 0xFFFFFFFF

    def GetTickCount(self):
        return int(time.monotonic() * 1000) & 0xFFFFFFFF


# pyobjc


@dataclass
class FakeRunningApp:
    pid: int
    name: str
    bundle: str
    windows: list[str] = field(default_factory=list)  # titles, front first

    def processIdentifier(self) -> int:
        return self.pid

    def localizedName(self) -> str:
        return self.name

    def bundleIdentifier(self) -> str:
        return self.bundle


class _Notification:
    def __init__(self, app: FakeRunningApp) -> None:
        self._info = {"NSWorkspaceApplicationKey": app}

    def userInfo(self) -> dict[str, Any]:
        return self._info


class _Center:
    def __init__(self) -> None:
        self.blocks: dict[int, tuple[str, Callable[[Any], None]]] = {}
        self._ids = itertools.count(1)

    def addObserverForName_object_queue_usingBlock_(self, name, obj, q, block):
        token = next(self._ids)
        self.blocks[token] = (name, block)
        return token

    def removeObserver_(self, token):
        self.blocks.pop(token, None)


class _Workspace:
    def __init__(self) -> None:
        self.front: FakeRunningApp | None = None
        self.center = _Center()

    def frontmostApplication(self) -> FakeRunningApp | None:
        return self.front

    def notificationCenter(self) -> _Center:
        return self.center


class _RunLoop:
    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.sources: set[int] = set()


@dataclass
class _Observer:
    pid: int
    callback: Callable[..., None]
    notifications: list[str] = field(default_factory=list)
    loop: _RunLoop | None = None


class _AppleScript:
    def __init__(self, objc: FakeObjc) -> None:
        self._objc = objc
        self.source = ""

    def initWithSource_(self, source: str) -> _AppleScript:
        self.source = source
        return self

    def executeAndReturnError_(self, error: Any) -> tuple[Any, Any]:
        self._objc.scripts_run.append(self.source)
        url = self._objc.browser_urls.get(self.source.split('"')[1])
        if url is None:
            return None, {"NSAppleScriptErrorNumber": -1743}
        descriptor = type("Descriptor", (), {"stringValue": lambda self: url})()
        return descriptor, None


class FakeObjc:
    """The pyobjc names the macOS back end calls, by their own names."""

    NSWorkspaceDidActivateApplicationNotification = (
        "NSWorkspaceDidActivateApplicationNotification"
    )
    NSWorkspaceApplicationKey = "NSWorkspaceApplicationKey"
    kCFRunLoopDefaultMode = "kCFRunLoopDefaultMode"

    def __init__(self) -> None:
        self.workspace = _Workspace()
        workspace = self.workspace
        self.NSWorkspace = type(
            "NSWorkspace", (), {"sharedWorkspace": staticmethod(lambda: workspace)}
        )
        objc = self
        self.NSAppleScript = type(
            "NSAppleScript", (), {"alloc": staticmethod(lambda: _AppleScript(objc))}
        )
        self.trusted = True
        self.observers: list[_Observer] = []
        self.browser_urls: dict[str, str] = {}
        self.scripts_run: list[str] = []
        self._loops: dict[int, _RunLoop] = {}
        self._apps: dict[int, FakeRunningApp] = {}
        self._lock = threading.Lock()

    # ApplicationServices

    def AXIsProcessTrusted(self) -> bool:
        return self.trusted

    def AXUIElementCreateApplication(self, pid: int) -> tuple[str, int]:
        return ("app", pid)

    def AXUIElementCopyAttributeValue(self, element, attribute, out):
        if not self.trusted:
            return -25211, None  # kAXErrorAPIDisabled
        kind, pid = element[0], element[1]
        app = self._app(pid)
        if app is None or not app.windows:
            return -25212, None  # kAXErrorNoValue
        if kind == "app" and attribute == "AXFocusedWindow":
            return 0, ("window", pid)
        if kind == "window" and attribute == "AXTitle":
            return 0, app.windows[0]
        return -25205, None  # kAXErrorAttributeUnsupported

    def AXObserverCreate(self, pid, callback, out):
        observer = _Observer(pid, callback)
        with self._lock:
            self.observers.append(observer)
        return 0, observer

    def AXObserverAddNotification(self, observer, element, name, refcon):
        observer.notifications.append(name)
        return 0

    def AXObserverGetRunLoopSource(self, observer):
        return observer

    # CoreFoundation

    def CFRunLoopGetCurrent(self) -> _RunLoop:
        with self._lock:
            return self._loops.setdefault(threading.get_ident(), _RunLoop())

    def CFRunLoopAddSource(self, loop, source, mode):
        source.loop = loop
        loop.sources.add(id(source))

    def CFRunLoopRemoveSource(self, loop, source, mode):
        loop.sources.discard(id(source))
        source.loop = None

    def CFRunLoopStop(self, loop):
        loop.queue.put(("stop",))

    def CFRunLoopRunInMode(self, mode, seconds, return_after):
        # Delivers AX callbacks of this thread's sources until stopped.
        loop = self.CFRunLoopGetCurrent()
        deadline = time.monotonic() + seconds
        while True:
            try:
                item = loop.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return 3  # kCFRunLoopRunTimedOut
            if item[0] == "stop":
                return 2  # kCFRunLoopRunStopped
            _, observer, name = item
            if id(observer) in loop.sources:
                observer.callback(observer, ("app", observer.pid), name, None)

    # what a test does to the desktop

    def _app(self, pid: int) -> FakeRunningApp | None:
        front = self.workspace.front
        if front is not None and front.pid == pid:
            return front
        return self._apps.get(pid)

    def launch(self, app: FakeRunningApp) -> FakeRunningApp:
        self._apps[app.pid] = app
        return app

    def activate(self, app: FakeRunningApp | None) -> None:
        """Brings an app to the front; NSWorkspace notifies on this thread."""
        self.workspace.front = app
        if app is None:
            return
        for name, block in list(self.workspace.center.blocks.values()):
            if name == self.NSWorkspaceDidActivateApplicationNotification:
                block(_Notification(app))

    def retitle(self, app: FakeRunningApp, title: str) -> None:
        app.windows[0] = title
        self._notify(app.pid, "AXTitleChanged")

    def close_front_window(self, app: FakeRunningApp) -> None:
        app.windows.pop(0)
        self._notify(app.pid, "AXFocusedWindowChanged")

    def _notify(self, pid: int, name: str) -> None:
        with self._lock:
            observers = [o for o in self.observers if o.pid == pid]
        for observer in observers:
            if observer.loop is not None and name in observer.notifications:
                observer.loop.queue.put(("ax", observer, name))
