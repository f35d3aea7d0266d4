"""Turns the agent's capture on or off when the worker's consent changes.

Consent can change while the tray app runs (the first-run dialog,
"withdraw", ``punchclock consent revoke``). Turning on builds the capture
sources from the settings in force and hands them to
:meth:`~agent.service.Agent.enable_capture` (focus, input, idle and
screenshots start at once, no restart); turning off is
:meth:`~agent.service.Agent.disable_capture`. Both may block for up to a
second (a source's start and stop), so they run on the command runner's
thread, never the UI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from agent.capturing import CaptureSet
from agent.clock import Clock
from agent.service import Agent
from agent.settings import CaptureSettings, Settings

log = logging.getLogger(__name__)

MakeCapture = Callable[[CaptureSettings, Clock], CaptureSet]


class CaptureSwitch:
    def __init__(
        self,
        agent: Agent,
        settings: Settings,
        make: MakeCapture = CaptureSet.from_settings,
    ) -> None:
        self._agent = agent
        self._make = make
        self.settings = settings

    @property
    def on(self) -> bool:
        return self._agent.capture is not None

    def turn_on(self) -> None:
        if self._agent.capture is not None:
            return
        capture = self._make(self.settings.capture, self._agent.clock)
        self._agent.enable_capture(capture)
        log.info("capture turned on: consent given")

    def turn_off(self) -> None:
        if self._agent.capture is None:
            return
        self._agent.disable_capture()
        log.info("capture turned off: consent withdrawn")
