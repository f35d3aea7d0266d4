"""The part of every focus back end that is not about the operating system.

A back end only reports what the OS says is focused, as a
:class:`FocusedWindow`, with the clock reading taken when it learnt of the
change. :class:`EmittingFocusSource` turns that into a :class:`FocusSample`:
app name, the browser page, privacy, and de-duplication.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime

import psutil

from agent.clock import Clock
from capture.base import (
    CaptureError,
    CaptureHealth,
    FocusSample,
    FocusSource,
    HealthCallback,
    SampleCallback,
    SourceStateError,
)
from capture.browser.apps import browser_family
from capture.browser.receiver import BrowserTab
from capture.browser.urls import BrowserUrls
from capture.focus.privacy import FocusPrivacy

log = logging.getLogger(__name__)

SOURCE = "focus"
# Control characters never belong in a title; a hostile one may carry them.
_CONTROL = dict.fromkeys([*range(0, 32), 127], " ")


@dataclass(frozen=True)
class FocusedWindow:
    """What the OS says is focused, before any interpretation.

    ``wm_class`` is the X11 window class, the macOS bundle identifier or the
    Windows executable name; ``app`` is set where the OS knows the human name
    of the app (macOS), ``os_url`` where the OS told the page (Apple Events).
    """

    window_id: int | None
    pid: int | None
    wm_class: str | None
    title: str
    app: str | None = None
    os_url: str | None = None
    fullscreen: bool = False


class SampleCallbackError(CaptureError):
    """The callback that takes samples raised; the source itself is sound.

    Raised from :meth:`EmittingFocusSource._observe` with the callback's
    error as its cause, so that a back end can tell the consumer's failure
    from its own (a lost X connection, say) and carry on.
    """


def process_name(pid: int | None) -> str | None:
    """The process's name, or None when it is gone or not ours to see."""
    if not pid:
        return None
    try:
        return psutil.Process(pid).name()
    except (psutil.Error, OSError):
        return None


def clean_title(title: str) -> str:
    return title.translate(_CONTROL).strip()


class EmittingFocusSource(FocusSource):
    """Builds, filters and emits samples; subclasses watch the OS.

    Subclasses implement ``_start_backend`` and ``_stop_backend`` and call
    ``_observe`` from their own thread on every change they see.
    """

    backend = "base"

    def __init__(
        self,
        clock: Clock,
        privacy: FocusPrivacy | None = None,
        urls: BrowserUrls | None = None,
    ) -> None:
        self._clock = clock
        self._privacy = privacy or FocusPrivacy()
        self._urls = urls or BrowserUrls()
        self._lock = threading.RLock()
        self._on_sample: SampleCallback | None = None
        self._on_health: HealthCallback | None = None
        self._window: FocusedWindow | None = None
        self._last: FocusSample | None = None
        self._health = CaptureHealth.off(SOURCE, self.backend, "not started")
        self._started = False
        self._stopped = False

    # FocusSource

    def start(
        self, on_sample: SampleCallback, on_health: HealthCallback | None = None
    ) -> None:
        if self._started:
            raise SourceStateError(f"{self.backend} focus source already started")
        self._started = True
        self._on_sample, self._on_health = on_sample, on_health
        if self._urls.receiver is not None:
            self._urls.receiver.subscribe(self._tab_changed)
        log.info("focus source %s starting", self.backend)
        self._start_backend()

    def stop(self) -> None:
        if not self._started or self._stopped:
            return
        self._stopped = True
        if self._urls.receiver is not None:
            self._urls.receiver.unsubscribe(self._tab_changed)
        self._stop_backend()
        with self._lock:
            self._on_sample = self._on_health = None
        log.info("focus source %s stopped", self.backend)

    def health(self) -> CaptureHealth:
        return self._health

    def current(self) -> FocusSample | None:
        return self._last

    # for subclasses

    def _start_backend(self) -> None:
        raise NotImplementedError

    def _stop_backend(self) -> None:
        raise NotImplementedError

    def _observe(
        self, window: FocusedWindow | None, at: datetime, mono: float
    ) -> FocusSample | None:
        """Emits the sample for ``window`` unless it shows nothing new."""
        with self._lock:
            self._window = window
            sample = self._privacy.apply(self._build(window, at, mono))
            if sample.same_content(self._last) or self._on_sample is None:
                return None
            self._last = sample
            log.debug("focus: %s (%s)", sample.app, sample.wm_class)
            try:
                self._on_sample(sample)
            except Exception as exc:
                raise SampleCallbackError(
                    f"the sample callback raised {exc!r}"
                ) from exc
            return sample

    def _set_health(self, health: CaptureHealth) -> None:
        with self._lock:
            if health == self._health:
                return
            self._health = health
            if health.ok:
                log.info("focus source %s working", self.backend)
            else:
                log.warning("focus source %s: %s", self.backend, health.reason)
            if self._on_health is not None:
                self._tell_health(self._on_health, health)

    def _tell_health(self, on_health: HealthCallback, health: CaptureHealth) -> None:
        # The health is kept whatever the callback does: a failing listener
        # must not stop the source from reporting, or from running.
        try:
            on_health(health)
        except Exception:
            log.exception("the focus health callback failed on %s", health.state)

    def _tab_changed(self, tab: BrowserTab) -> None:
        # Runs on the receiver's thread: a new page in the focused browser
        # changes the sample without any window event.
        with self._lock:
            if self._window is None or self._on_sample is None:
                return
            self._observe(self._window, self._clock.now(), self._clock.monotonic())

    def _build(
        self, window: FocusedWindow | None, at: datetime, mono: float
    ) -> FocusSample:
        if window is None:
            return FocusSample(at=at, mono=mono, app=None)

        proc = process_name(window.pid) if window.app is None else None
        app = window.app or window.wm_class or proc or "unknown"
        title = clean_title(window.title)
        family = browser_family(window.wm_class, proc, window.app)
        page = self._urls.resolve(family, title, window.os_url)
        return FocusSample(
            at=at,
            mono=mono,
            app=app,
            title=title,
            url=page.url,
            domain=page.domain,
            pid=window.pid,
            wm_class=window.wm_class,
            window_id=window.window_id,
            incognito=page.incognito,
            fullscreen=window.fullscreen,
        )
