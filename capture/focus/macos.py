"""Focus on macOS, through NSWorkspace, the Accessibility API and Apple Events.

- NSWorkspace posts ``NSWorkspaceDidActivateApplicationNotification`` when
  another app comes to the front. It is posted on the main thread, which
  must run a run loop (the tray's Qt event loop does; the headless agent
  runs it in one-second slices, agent/runner.py); the block only stamps the
  moment and hands it to the source's thread.
- The window title comes from the Accessibility API (``AXFocusedWindow``,
  ``AXTitle``), and an AX observer on the front app reports title and
  window changes to the source's thread, which runs its own CFRunLoop.
  Without the Accessibility permission (``AXIsProcessTrusted``) apps are
  still recorded, without titles, and health says what to grant.
- For Safari and Chromium-family browsers the front tab's URL is asked for
  with an Apple Event (needs the Automation permission; a refusal only
  leaves the URL empty). NSAppleScript is only ever used on the source's
  own thread, one script at a time.

Every pyobjc call goes through the ``objc`` namespace given to the source
(the real frameworks by default); tests hand in fakes of exactly those
functions and objects.
"""

from __future__ import annotations

import logging
import queue
import threading
from types import SimpleNamespace
from typing import Any

from agent.clock import Clock
from capture.base import BackendUnavailable, CaptureHealth
from capture.browser.apps import BrowserFamily, browser_family
from capture.browser.urls import BrowserUrls
from capture.focus.common import SOURCE, EmittingFocusSource, FocusedWindow
from capture.focus.privacy import FocusPrivacy

log = logging.getLogger(__name__)

BACKEND = "macos"
AX_SUCCESS = 0
AX_FOCUSED_WINDOW = "AXFocusedWindow"
AX_TITLE = "AXTitle"
AX_NOTIFICATIONS = ("AXFocusedWindowChanged", "AXTitleChanged")
NO_PERMISSION = (
    "Accessibility permission not granted: window titles cannot be read",
    "System Settings > Privacy & Security > Accessibility: allow Punchclock",
)

_URL_SCRIPTS = {
    BrowserFamily.SAFARI: 'tell application id "{}" to get URL of current tab '
    "of front window",
    BrowserFamily.CHROME: 'tell application id "{}" to get URL of active tab '
    "of front window",
    BrowserFamily.BRAVE: 'tell application id "{}" to get URL of active tab '
    "of front window",
}

_OBJC_NAMES = {
    "AppKit": (
        "NSWorkspace",
        "NSWorkspaceDidActivateApplicationNotification",
        "NSWorkspaceApplicationKey",
    ),
    "ApplicationServices": (
        "AXIsProcessTrusted",
        "AXUIElementCreateApplication",
        "AXUIElementCopyAttributeValue",
        "AXObserverCreate",
        "AXObserverAddNotification",
        "AXObserverGetRunLoopSource",
    ),
    "CoreFoundation": (
        "CFRunLoopGetCurrent",
        "CFRunLoopAddSource",
        "CFRunLoopRemoveSource",
        "CFRunLoopRunInMode",
        "CFRunLoopStop",
        "kCFRunLoopDefaultMode",
    ),
    "Foundation": ("NSAppleScript",),
}


def load_objc() -> SimpleNamespace:
    """The pyobjc functions and objects this module calls, by their own names."""
    import importlib

    names: dict[str, Any] = {}
    for module_name, attributes in _OBJC_NAMES.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise BackendUnavailable(
                f"pyobjc framework {module_name} is missing ({exc})",
                "reinstall Punchclock",
            ) from exc
        names.update({name: getattr(module, name) for name in attributes})
    return SimpleNamespace(**names)


class MacFocusSource(EmittingFocusSource):
    """The focus source of a macOS session; runs one CFRunLoop thread."""

    backend = BACKEND

    def __init__(
        self,
        clock: Clock,
        privacy: FocusPrivacy | None = None,
        urls: BrowserUrls | None = None,
        *,
        objc: Any = None,
        safety_poll: float = 10.0,
    ) -> None:
        super().__init__(clock, privacy, urls)
        self._objc = objc if objc is not None else load_objc()
        self._safety_poll = safety_poll
        self._activations: queue.SimpleQueue[tuple[Any, float, Any]] = (
            queue.SimpleQueue()
        )
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._run_loop: Any = None
        self._token: Any = None
        self._observer: tuple[int, Any] | None = None
        self._trusted = False

    def _start_backend(self) -> None:
        center = self._objc.NSWorkspace.sharedWorkspace().notificationCenter()
        self._token = center.addObserverForName_object_queue_usingBlock_(
            self._objc.NSWorkspaceDidActivateApplicationNotification,
            None,
            None,
            self._activated,
        )
        self._thread = threading.Thread(
            target=self._run, name="focus-macos", daemon=True
        )
        self._thread.start()
        self._ready.wait(timeout=2)

    def _stop_backend(self) -> None:
        self._stop.set()
        center = self._objc.NSWorkspace.sharedWorkspace().notificationCenter()
        center.removeObserver_(self._token)
        if self._run_loop is not None:
            self._objc.CFRunLoopStop(self._run_loop)
        if self._thread is not None:
            self._thread.join(timeout=2)
            if self._thread.is_alive():
                log.warning("macOS focus thread did not stop in time")

    def _activated(self, notification: Any) -> None:
        # On the main thread: stamp the moment, let the source's thread read.
        app = notification.userInfo()[self._objc.NSWorkspaceApplicationKey]
        self._activations.put((self._clock.now(), self._clock.monotonic(), app))
        if self._run_loop is not None:
            self._objc.CFRunLoopStop(self._run_loop)

    # the thread

    def _run(self) -> None:
        objc = self._objc
        self._run_loop = objc.CFRunLoopGetCurrent()
        self._ready.set()
        self._check_permission()
        self._show(objc.NSWorkspace.sharedWorkspace().frontmostApplication(), None)
        next_poll = self._clock.monotonic() + self._safety_poll

        while not self._stop.is_set():
            wait = max(0.0, next_poll - self._clock.monotonic())
            objc.CFRunLoopRunInMode(objc.kCFRunLoopDefaultMode, wait, False)
            self._drain_activations()
            if self._clock.monotonic() >= next_poll:
                self._check_permission()
                self._show(
                    objc.NSWorkspace.sharedWorkspace().frontmostApplication(), None
                )
                next_poll = self._clock.monotonic() + self._safety_poll
        self._drop_observer()

    def _drain_activations(self) -> None:
        while True:
            try:
                at, mono, app = self._activations.get_nowait()
            except queue.Empty:
                return
            self._show(app, (at, mono))

    def _check_permission(self) -> None:
        self._trusted = bool(self._objc.AXIsProcessTrusted())
        if self._trusted:
            self._set_health(CaptureHealth.working(SOURCE, BACKEND))
        else:
            self._set_health(CaptureHealth.unavailable(SOURCE, BACKEND, *NO_PERMISSION))

    def _show(self, app: Any, moment: tuple[Any, float] | None) -> None:
        at, mono = moment or (self._clock.now(), self._clock.monotonic())
        if app is None:
            self._drop_observer()
            self._observe(None, at, mono)
            return

        pid = int(app.processIdentifier())
        if self._observer is None or self._observer[0] != pid:
            self._drop_observer()
            self._observe_app(pid)
        self._observe(self._read(app, pid), at, mono)

    def _read(self, app: Any, pid: int) -> FocusedWindow:
        bundle = _text(app.bundleIdentifier())
        title = self._title(pid) if self._trusted else ""
        return FocusedWindow(
            window_id=None,
            pid=pid,
            wm_class=bundle,
            title=title,
            app=_text(app.localizedName()) or bundle,
            os_url=self._browser_url(bundle),
        )

    def _title(self, pid: int) -> str:
        objc = self._objc
        element = objc.AXUIElementCreateApplication(pid)
        err, window = objc.AXUIElementCopyAttributeValue(
            element, AX_FOCUSED_WINDOW, None
        )
        if err != AX_SUCCESS or window is None:
            return ""
        err, title = objc.AXUIElementCopyAttributeValue(window, AX_TITLE, None)
        if err != AX_SUCCESS:
            return ""
        return _text(title) or ""

    def _browser_url(self, bundle: str | None) -> str | None:
        family = browser_family(bundle)
        script = _URL_SCRIPTS.get(family) if family else None
        if script is None or bundle is None:
            return None
        source = script.format(bundle.replace('"', ""))
        apple_script = self._objc.NSAppleScript.alloc().initWithSource_(source)
        result, error = apple_script.executeAndReturnError_(None)
        if result is None:
            log.debug("no URL from %s: %s", bundle, error)
            return None
        return _text(result.stringValue())

    def _observe_app(self, pid: int) -> None:
        """AX notifications of the front app: its title and window changes."""
        if not self._trusted:
            return
        objc = self._objc
        err, observer = objc.AXObserverCreate(pid, self._ax_changed, None)
        if err != AX_SUCCESS:
            log.debug("no AX observer for pid %d: error %s", pid, err)
            return
        element = objc.AXUIElementCreateApplication(pid)
        for name in AX_NOTIFICATIONS:
            objc.AXObserverAddNotification(observer, element, name, None)
        source = objc.AXObserverGetRunLoopSource(observer)
        objc.CFRunLoopAddSource(self._run_loop, source, objc.kCFRunLoopDefaultMode)
        self._observer = (pid, observer)

    def _drop_observer(self) -> None:
        if self._observer is None:
            return
        _, observer = self._observer
        self._observer = None
        source = self._objc.AXObserverGetRunLoopSource(observer)
        self._objc.CFRunLoopRemoveSource(
            self._run_loop, source, self._objc.kCFRunLoopDefaultMode
        )

    def _ax_changed(
        self, observer: Any, element: Any, notification: Any, refcon: Any
    ) -> None:
        # Called by our CFRunLoop, on the source's thread.
        try:
            self._show(
                self._objc.NSWorkspace.sharedWorkspace().frontmostApplication(), None
            )
        except Exception:
            log.exception("AX notification %s not handled", notification)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)
