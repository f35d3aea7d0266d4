"""Input through pynput's keyboard and mouse listeners (X11, Windows, macOS).

The callbacks only count (:class:`~capture.input.common.DeviceTally`): no key,
button or position is read, kept or logged. Key releases are not listened
to at all; a press is enough to mark a second.

Injected input: Windows (``LLMHF_INJECTED``) and macOS (the event source)
mark events that no device produced, and pynput passes that mark on. X11
does not: events injected through XTEST (xdotool, most jigglers) arrive
exactly like a person's, so on X11 synthetic input is only recognised from
its patterns and from known jiggler processes (``agent.activity``). The
health says so.

Lifecycle: a pynput listener is a thread that cannot be restarted, so a
listener that died is replaced by new ones (:meth:`drain` checks, at most
every :data:`RESPAWN_SECONDS`). On X11, ``Listener.stop()`` returns only
after the next input event (pynput's record loop blocks until then, see
https://github.com/moses-palmer/pynput/pull/583); :meth:`stop` therefore
nudges the pointer and taps Shift through XTEST until both threads are gone.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from agent.clock import Clock
from capture.base import CaptureHealth, HealthState
from capture.input.common import (
    SOURCE,
    InputMarks,
    InputSource,
    Tally,
    log_health_change,
)

log = logging.getLogger(__name__)

RESPAWN_SECONDS = 30.0
STOP_SECONDS = 2.0

X11_NOTE = (
    "counting works; injected (XTEST) input cannot be told apart from a "
    "person's on X11, so synthetic input is flagged from its patterns and "
    "from known jiggler processes only"
)
MAC_UNTRUSTED = (
    "macOS has not allowed Punchclock to monitor input (Accessibility)",
    "open System Settings › Privacy & Security › Accessibility and Input "
    "Monitoring, allow Punchclock, then restart it",
)


class ListenerInputSource(InputSource):
    """Counts keyboard and mouse events on pynput's listener threads."""

    def __init__(self, clock: Clock, backend: str, display: str | None = None) -> None:
        self._clock = clock
        self._backend = backend
        self._display = display
        self._tally = Tally(clock.monotonic)
        self._listeners: list[Any] = []
        self._counting = False
        self._health = CaptureHealth.working(SOURCE, backend)
        self._spawned_at = -RESPAWN_SECONDS
        self._lock = threading.Lock()

    @property
    def marks_injected(self) -> bool:
        """Whether this platform tells injected input apart."""
        return self._backend != "x11"

    def start(self) -> None:
        with self._lock:
            self._spawn()

    def stop(self) -> None:
        with self._lock:
            self._counting = False
            listeners, self._listeners = self._listeners, []
        if listeners:
            _stop_all(listeners, self._nudge)
        log.info("input listeners stopped")

    def drain(self) -> InputMarks | None:
        with self._lock:
            if self._listeners and not all(t.is_alive() for t in self._listeners):
                self._on_silent()
            if not self._health.ok:
                return None
        return self._tally.drain()

    def health(self) -> CaptureHealth:
        return self._health

    # listener callbacks: the listener threads; count and return

    def _on_key(self, _key: object, injected: bool = False) -> None:
        if self._counting:
            self._tally.keyboard.hit(injected)

    def _on_move(self, _x: int, _y: int, injected: bool = False) -> None:
        if self._counting:
            self._tally.mouse.hit(injected)

    def _on_click(
        self, _x: int, _y: int, _b: object, _p: bool, injected: bool = False
    ) -> None:
        if self._counting:
            self._tally.mouse.hit(injected)

    def _on_scroll(
        self, _x: int, _y: int, _dx: int, _dy: int, injected: bool = False
    ) -> None:
        if self._counting:
            self._tally.mouse.hit(injected)

    # lifecycle

    def _spawn(self) -> None:
        self._spawned_at = time.monotonic()
        try:
            from pynput import keyboard, mouse

            listeners = [
                keyboard.Listener(on_press=self._on_key),
                mouse.Listener(
                    on_move=self._on_move,
                    on_click=self._on_click,
                    on_scroll=self._on_scroll,
                ),
            ]
            for listener in listeners:
                listener.start()
            for listener in listeners:
                listener.wait()
        except Exception as exc:  # pynput raises whatever its back end raises
            self._set_health(
                CaptureHealth.unavailable(
                    SOURCE,
                    self._backend,
                    f"the input listeners could not start ({exc})",
                    "restart Punchclock from your desktop session",
                )
            )
            return

        self._listeners = listeners
        self._counting = True
        self._set_health(self._started_health(listeners))

    def _started_health(self, listeners: list[Any]) -> CaptureHealth:
        if self._backend == "macos" and not all(
            getattr(t, "IS_TRUSTED", True) for t in listeners
        ):
            return CaptureHealth.unavailable(SOURCE, self._backend, *MAC_UNTRUSTED)
        if self._backend == "x11":
            return CaptureHealth(SOURCE, self._backend, HealthState.WORKING, X11_NOTE)
        return CaptureHealth.working(SOURCE, self._backend)

    def _on_silent(self) -> None:
        """A listener thread died: say so, and replace both now and then."""
        self._counting = False
        self._set_health(
            CaptureHealth.unavailable(
                SOURCE,
                self._backend,
                "the input listener stopped; activity is unknown until it is back",
                "Punchclock retries by itself; restart it if this stays",
            )
        )
        if time.monotonic() - self._spawned_at < RESPAWN_SECONDS:
            return
        old, self._listeners = self._listeners, []
        _stop_all(old, self._nudge)
        log.warning("input listener stopped; recreating the listeners")
        self._spawn()

    def _set_health(self, health: CaptureHealth) -> None:
        self._health = log_health_change(self._health, health)

    def _nudge(self) -> None:
        if self._backend == "x11":
            xtest_nudge(self._display)


def _stop_all(listeners: list[Any], nudge: Any) -> None:
    """Stop the listeners; nudge the desktop until their threads are gone."""
    stopper = threading.Thread(
        target=lambda: [t.stop() for t in listeners],
        name="input-listener-stop",
        daemon=True,
    )
    stopper.start()
    deadline = time.monotonic() + STOP_SECONDS
    while stopper.is_alive() or any(t.is_alive() for t in listeners):
        if time.monotonic() > deadline:
            log.warning("input listeners did not stop within %.0f s", STOP_SECONDS)
            return
        nudge()
        stopper.join(0.01)


def xtest_nudge(display_name: str | None) -> None:
    """One pointer step there and back and a Shift tap, injected via XTEST.

    The listeners are no longer counting when this runs.
    """
    from Xlib import XK, X
    from Xlib.display import Display
    from Xlib.error import DisplayError
    from Xlib.ext import xtest

    try:
        display = Display(display_name)
    except (DisplayError, OSError) as exc:
        log.debug("no display to nudge the listeners: %s", exc)
        return
    try:
        xtest.fake_input(display, X.MotionNotify, detail=True, x=1, y=0)
        xtest.fake_input(display, X.MotionNotify, detail=True, x=-1, y=0)
        shift = display.keysym_to_keycode(XK.string_to_keysym("Shift_L"))
        xtest.fake_input(display, X.KeyPress, shift)
        xtest.fake_input(display, X.KeyRelease, shift)
        display.sync()
    finally:
        display.close()
