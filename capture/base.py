"""What every capture source shares: health, errors, and the focus interface.

A capture source observes the desktop and hands samples to a callback; it
knows nothing of the store, the UI or the network. Each source reports its
:class:`CaptureHealth` so that a revoked permission or an unsupported desktop
shows as a fault (in ``punchclock doctor`` and the tray), never as low
activity.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


class HealthState(enum.StrEnum):
    WORKING = "working"
    UNAVAILABLE = "unavailable"
    OFF = "off"


@dataclass(frozen=True)
class CaptureHealth:
    """Whether one capture source works, and if not, why and what to do.

    ``source`` is the capability ("focus", "input", "idle", "screenshot"),
    ``backend`` the implementation behind it ("x11", "windows", ...).
    ``reason`` and ``fix`` are sentences for the worker; empty when working.
    """

    source: str
    backend: str
    state: HealthState
    reason: str = ""
    fix: str = ""

    @classmethod
    def working(cls, source: str, backend: str) -> CaptureHealth:
        return cls(source, backend, HealthState.WORKING)

    @classmethod
    def unavailable(
        cls, source: str, backend: str, reason: str, fix: str = ""
    ) -> CaptureHealth:
        return cls(source, backend, HealthState.UNAVAILABLE, reason, fix)

    @classmethod
    def off(cls, source: str, backend: str, reason: str) -> CaptureHealth:
        return cls(source, backend, HealthState.OFF, reason)

    @property
    def ok(self) -> bool:
        return self.state is HealthState.WORKING


class CaptureError(Exception):
    """Base of the errors raised by capture sources."""


class SourceStateError(CaptureError):
    """A source was started twice, or used after it was stopped."""


class BackendUnavailable(CaptureError):
    """The desktop or operating system does not offer what a back end needs.

    Carries the reason and the fix that end up in :class:`CaptureHealth`.
    """

    def __init__(self, reason: str, fix: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.fix = fix


@dataclass(frozen=True)
class FocusSample:
    """One observation of what has the focus, taken at ``at``/``mono``.

    ``app`` is None when nothing is focused (no window, the desktop, the
    display gone); the sample still closes the previous span at its time.
    ``private`` marks a sample that a privacy rule emptied: ``app`` is then
    the app's name or "private", ``title`` and ``url`` are empty.
    ``title_cut`` says the title was shortened to the length limit;
    ``incognito`` that a private/incognito browser window is in front, whose
    title and URL are never recorded. ``fullscreen`` says the window fills the
    screen (a presentation, a film, a call): break reminders wait for it.
    """

    at: datetime
    mono: float
    app: str | None
    title: str = ""
    url: str | None = None
    domain: str | None = None
    pid: int | None = None
    wm_class: str | None = None
    window_id: int | None = None
    private: bool = False
    title_cut: bool = False
    incognito: bool = False
    fullscreen: bool = False

    @property
    def focused(self) -> bool:
        return self.app is not None

    def same_content(self, other: FocusSample | None) -> bool:
        """True when ``other`` shows the same thing, whatever its time."""
        if other is None:
            return False
        return self._content() == other._content()

    def _content(self) -> tuple[object, ...]:
        return (
            self.app,
            self.title,
            self.url,
            self.domain,
            self.pid,
            self.wm_class,
            self.window_id,
            self.private,
            self.title_cut,
            self.incognito,
            self.fullscreen,
        )


SampleCallback = Callable[[FocusSample], None]
HealthCallback = Callable[[CaptureHealth], None]


class FocusSource(ABC):
    """The focused app, window title and browser URL, as a stream of samples.

    Threads:

    - ``start`` is called once, by the agent's thread. It does not block on
      the desktop: it starts the source's own thread (or OS hook) and
      returns. The first sample follows shortly, on that thread.
    - ``on_sample`` is called on the source's own thread, or on the browser
      receiver's thread when a new tab URL changes the sample. Calls are
      serialised and come in time order. The callback must return quickly
      and must not call ``stop``.
    - ``on_health`` is called on the same threads whenever health changes.
    - ``health`` and ``current`` may be called from any thread, never block.
    - ``stop`` may be called from any thread but the callback's; it returns
      within about a second, after which no callback runs any more.

    A sample is emitted only when its content differs from the previous
    one, so identical consecutive samples never reach the callback.
    """

    @abstractmethod
    def start(
        self, on_sample: SampleCallback, on_health: HealthCallback | None = None
    ) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def health(self) -> CaptureHealth: ...

    @abstractmethod
    def current(self) -> FocusSample | None: ...
