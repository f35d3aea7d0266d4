"""The capture sources the agent runs, chosen and configured from settings.

:class:`CaptureSet` builds each source through its capability's factory (the
factories pick the back end for this desktop), starts and stops them
together, and reports every source's :class:`~capture.base.CaptureHealth`
for ``punchclock doctor`` and the tray.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from agent.clock import Clock
from agent.settings import CaptureSettings
from capture.base import CaptureHealth, FocusSource, SampleCallback
from capture.browser.receiver import (
    BrowserReceiver,
    ReceiverConfig,
    ReceiverPortInUse,
)
from capture.focus import FocusPrivacy, TitleLevel, create_focus_source
from capture.idle import IdleSource, create_idle_source
from capture.input import InputSource, create_input_source
from capture.screenshot import ScreenshotSource, create_screenshot_source

log = logging.getLogger(__name__)


@dataclass
class CaptureSet:
    """The focus source and the browser receiver that feeds it URLs; the input
    listeners and the OS idle time, which the agent's tick job drains; the
    screen grabber, which the agent's screenshot service drives."""

    focus: FocusSource
    receiver: BrowserReceiver | None
    input: InputSource | None = None
    idle: IdleSource | None = None
    screenshot: ScreenshotSource | None = None

    @classmethod
    def from_settings(cls, settings: CaptureSettings, clock: Clock) -> CaptureSet:
        receiver = None
        if settings.focus_enabled:
            receiver = BrowserReceiver(receiver_config(settings))
        focus = create_focus_source(
            clock, focus_privacy(settings), receiver, enabled=settings.focus_enabled
        )
        enabled = settings.input_enabled
        return cls(
            focus,
            receiver,
            create_input_source(clock, enabled=enabled),
            create_idle_source(enabled=enabled),
            create_screenshot_source(enabled=settings.screenshots_enabled),
        )

    def start(self, on_sample: SampleCallback) -> None:
        if self.receiver is not None:
            try:
                self.receiver.start()
            except ReceiverPortInUse as error:
                # Titles still give the domain; the health says what to do.
                log.warning("browser receiver not started: %s", error)
        self.focus.start(on_sample)
        if self.input is not None:
            self.input.start()

    def stop(self) -> None:
        self.focus.stop()
        if self.receiver is not None:
            self.receiver.stop()
        if self.input is not None:
            self.input.stop()
        if self.idle is not None:
            self.idle.close()

    def health(self) -> list[CaptureHealth]:
        sources = [self.focus.health()]
        if self.receiver is not None:
            sources.append(self.receiver.health())
        sources += [s.health() for s in (self.input, self.idle) if s is not None]
        return sources


def focus_privacy(settings: CaptureSettings) -> FocusPrivacy:
    """The privacy rules the focus source applies, from ``[capture]``."""
    return FocusPrivacy(
        excluded_apps=settings.private_apps,
        excluded_titles=settings.private_titles,
        title_level=TitleLevel(settings.title_level),
        keep_private_app_name=settings.private_app_name == "keep",
    )


def receiver_config(settings: CaptureSettings) -> ReceiverConfig:
    """Where the browser receiver listens, and the key it admits ("": none)."""
    return ReceiverConfig(
        port=settings.browser_receiver_port,
        api_key=settings.browser_receiver_key or None,
    )
