"""The input interface and the counting core every back end shares.

Only counts leave a back end: how many events, in which whole seconds, and
how many of them the platform marked as injected. Which key or button, and
where the pointer was, is never kept.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from capture.base import CaptureHealth

log = logging.getLogger(__name__)

SOURCE = "input"


@dataclass(frozen=True)
class InputMarks:
    """Input since the previous drain.

    ``keyboard`` and ``mouse`` are the whole seconds (of the source's
    monotonic clock) in which that device gave input, oldest first.
    ``injected`` counts events the platform marked as not coming from a
    device (Windows and macOS mark them; X11 does not, see ``listener``).
    ``last_input`` is the monotonic time of the newest event, or None if
    there never was one.
    """

    keyboard: tuple[int, ...] = ()
    mouse: tuple[int, ...] = ()
    keyboard_events: int = 0
    mouse_events: int = 0
    injected: int = 0
    last_input: float | None = None


class InputSource(ABC):
    """Keyboard and mouse activity, as counts and active seconds.

    Threads:

    - ``start`` is called once, by the agent's thread; it starts the
      listeners on their own threads and returns without waiting for input.
    - ``drain`` is called by the agent's tick job (a pool thread), about once
      a second; it never blocks on the desktop.
    - ``health`` may be called from any thread and never blocks.
    - ``stop`` may be called from any thread; it returns within about a
      second, after which the listeners are gone.
    """

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def drain(self) -> InputMarks | None:
        """What happened since the last drain; None while input is unknown."""

    @abstractmethod
    def health(self) -> CaptureHealth: ...


class DeviceTally:
    """Counts one device's events; written by one listener thread only.

    ``hit`` is the listener callback's whole cost: a clock read, an integer
    increment and, once per second, an append under a lock.
    """

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._seconds: list[int] = []
        self._second = -1
        self.events = 0
        self.injected = 0
        self.last: float | None = None

    def hit(self, injected: bool = False) -> None:
        now = self._monotonic()
        self.events += 1
        self.last = now
        if injected:
            self.injected += 1
        second = int(now)
        if second != self._second:
            self._second = second
            with self._lock:
                self._seconds.append(second)

    def take_seconds(self) -> tuple[int, ...]:
        with self._lock:
            seconds, self._seconds = self._seconds, []
        return tuple(seconds)


class Tally:
    """Keyboard and mouse tallies, drained into :class:`InputMarks`.

    Event counts only grow; a drain reports the difference to the previous
    drain, so the listener threads never have a counter reset under them.
    """

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self.keyboard = DeviceTally(monotonic)
        self.mouse = DeviceTally(monotonic)
        self._seen = (0, 0, 0)

    def drain(self) -> InputMarks:
        keyboard, mouse = self.keyboard, self.mouse
        counts = (keyboard.events, mouse.events, keyboard.injected + mouse.injected)
        seen, self._seen = self._seen, counts
        lasts = [t for t in (keyboard.last, mouse.last) if t is not None]
        return InputMarks(
            keyboard=keyboard.take_seconds(),
            mouse=mouse.take_seconds(),
            keyboard_events=counts[0] - seen[0],
            mouse_events=counts[1] - seen[1],
            injected=counts[2] - seen[2],
            last_input=max(lasts) if lasts else None,
        )


def log_health_change(old: CaptureHealth, new: CaptureHealth) -> CaptureHealth:
    """``new``, logged when it differs from ``old`` (warning when it is a fault)."""
    if new != old:
        log.log(
            logging.INFO if new.ok else logging.WARNING,
            "input capture %s %s",
            new.state,
            new.reason,
        )
    return new
