"""Input on X11 through the RECORD extension, counted straight from the wire.

One RECORD context over the whole server, for key presses, button presses
and pointer motion only (releases add nothing to "which seconds had
input"), read on one thread. Each intercepted event is classified by its
first byte and counted (:class:`~capture.input.common.Tally`); nothing else
of it is read, so no key, button or position is ever decoded.

Why not pynput here: its X back end records presses and releases on two
threads and turns every event into a key object; measured on this workday
(shared TESTING.md recipe, ``tests/bench/bench_workday.py``) that was about
250 µs of CPU per key press, the largest share of the agent's CPU, against
about 80 µs here. pynput remains the back end on Windows and macOS.

Injected input: XTEST events (xdotool, most jigglers) arrive exactly like a
person's, so synthetic input is only recognised from its patterns and from
known jiggler processes (``agent.activity``); the health says so.

Lifecycle: the record thread blocks in python-xlib's ``enable_context``
until the server ends the context; :meth:`stop` disables it from a second
connection, which ends it at once here (1 ms); should the end wait for the
next event, as pynput's does, it nudges the pointer through XTEST until the
thread is gone (see ``listener``). A thread that died is replaced, at most
every
:data:`~capture.input.listener.RESPAWN_SECONDS`.
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
from capture.input.listener import RESPAWN_SECONDS, STOP_SECONDS, X11_NOTE, xtest_nudge

log = logging.getLogger(__name__)

BACKEND = "x11"

# X core event codes (X.h); byte 0 of an event, the high bit marks SendEvent.
KEY_PRESS = 2
BUTTON_PRESS = 4
MOTION_NOTIFY = 6
EVENT_SIZE = 32


class RecordInputSource(InputSource):
    """Counts keyboard and mouse events on one RECORD thread."""

    def __init__(self, clock: Clock, display: str | None = None) -> None:
        self._display_name = display
        self._tally = Tally(clock.monotonic)
        self._health = CaptureHealth(SOURCE, BACKEND, HealthState.WORKING, X11_NOTE)
        self._control: Any = None
        self._context: int | None = None
        self._thread: threading.Thread | None = None
        self._spawned_at = -RESPAWN_SECONDS
        self._lock = threading.Lock()

    @property
    def marks_injected(self) -> bool:
        """X11 does not tell injected input apart."""
        return False

    def start(self) -> None:
        with self._lock:
            self._spawn()

    def stop(self) -> None:
        with self._lock:
            self._end()
        log.info("input recording stopped")

    def drain(self) -> InputMarks | None:
        with self._lock:
            if self._thread is not None and not self._thread.is_alive():
                self._on_silent()
            if not self._health.ok:
                return None
        return self._tally.drain()

    def health(self) -> CaptureHealth:
        return self._health

    # the record thread

    def _on_reply(self, reply: Any) -> None:
        """One RECORD reply: count its events by type, read nothing else."""
        if reply.category != 0:  # FromServer; the rest is bookkeeping
            return
        data = reply.data
        keyboard, mouse = self._tally.keyboard, self._tally.mouse
        for offset in range(0, len(data), EVENT_SIZE):
            kind = data[offset] & 0x7F
            if kind == KEY_PRESS:
                keyboard.hit()
            elif kind in (BUTTON_PRESS, MOTION_NOTIFY):
                mouse.hit()

    def _record(self, data_display: Any, context: int) -> None:
        try:
            data_display.record_enable_context(context, self._on_reply)
        except Exception as exc:  # the server went away, or the context ended
            log.warning("input recording ended: %s", exc)
        finally:
            _close(data_display)

    # lifecycle

    def _spawn(self) -> None:
        self._spawned_at = time.monotonic()
        try:
            control, data_display, context = _open(self._display_name)
        except Exception as exc:  # python-xlib raises what the connection raises
            self._set_health(
                CaptureHealth.unavailable(
                    SOURCE,
                    BACKEND,
                    f"input cannot be recorded on this X server ({exc})",
                    "restart Punchclock from your desktop session",
                )
            )
            return

        self._control, self._context = control, context
        self._thread = threading.Thread(
            target=self._record,
            args=(data_display, context),
            name="input-record",
            daemon=True,
        )
        self._thread.start()
        self._set_health(CaptureHealth(SOURCE, BACKEND, HealthState.WORKING, X11_NOTE))

    def _end(self) -> None:
        control, self._control = self._control, None
        thread, self._thread = self._thread, None
        if control is None:
            return
        try:
            control.record_disable_context(self._context)
            control.sync()
        except Exception as exc:  # the server may be gone already
            log.debug("disabling the record context: %s", exc)
        deadline = time.monotonic() + STOP_SECONDS
        while thread is not None and thread.is_alive():
            if time.monotonic() > deadline:
                log.warning("input recording did not stop within %.0f s", STOP_SECONDS)
                break
            xtest_nudge(self._display_name)
            thread.join(0.01)
        try:
            control.record_free_context(self._context)
        except Exception as exc:
            log.debug("freeing the record context: %s", exc)
        _close(control)

    def _on_silent(self) -> None:
        """The record thread died: say so, and start again now and then."""
        self._set_health(
            CaptureHealth.unavailable(
                SOURCE,
                BACKEND,
                "input recording stopped; activity is unknown until it is back",
                "Punchclock retries by itself; restart it if this stays",
            )
        )
        if time.monotonic() - self._spawned_at < RESPAWN_SECONDS:
            return
        self._end()
        log.warning("input recording stopped; starting it again")
        self._spawn()

    def _set_health(self, health: CaptureHealth) -> None:
        self._health = log_health_change(self._health, health)


def _open(name: str | None) -> tuple[Any, Any, int]:
    """A control and a data connection, and a context for device events."""
    from Xlib import X
    from Xlib.display import Display
    from Xlib.ext import record

    control = Display(name)
    try:
        if not control.has_extension("RECORD"):
            raise RuntimeError("the X server has no RECORD extension")
        ranges = [
            _range(X.KeyPress),
            _range(X.ButtonPress),
            _range(X.MotionNotify),
        ]
        context = control.record_create_context(0, [record.AllClients], ranges)
        # The data connection may only enable a context the server has.
        control.sync()
        data_display = Display(name)
    except BaseException:
        _close(control)
        raise
    return control, data_display, context


def _range(event: int) -> dict[str, Any]:
    return {
        "core_requests": (0, 0),
        "core_replies": (0, 0),
        "ext_requests": (0, 0, 0, 0),
        "ext_replies": (0, 0, 0, 0),
        "delivered_events": (0, 0),
        "device_events": (event, event),
        "errors": (0, 0),
        "client_started": False,
        "client_died": False,
    }


def _close(display: Any) -> None:
    try:
        display.close()
    except Exception as exc:  # the connection may already be gone
        log.debug("closing an X connection: %s", exc)
