"""Turns the agent's capture on or off when the worker's consent changes.

The agent takes its :class:`~agent.capturing.CaptureSet` at construction
and runs it until it stops. Consent can change while the tray app runs
(the first-run dialog, "withdraw", ``punchclock consent revoke``), so this
attaches a new set to the running agent, or detaches and stops the one it
has. Both may block for up to a second (a source's start and stop), so
they run on the command runner's thread, never the UI thread.
"""

from __future__ import annotations

import logging

from agent.capturing import CaptureSet
from agent.service import Agent
from agent.settings import Settings
from capture.base import FocusSample

log = logging.getLogger(__name__)


class CaptureSwitch:
    def __init__(self, agent: Agent, settings: Settings) -> None:
        self._agent = agent
        self.settings = settings

    @property
    def on(self) -> bool:
        return self._agent.capture is not None

    def turn_on(self) -> None:
        if self._agent.capture is not None:
            return
        capture = CaptureSet.from_settings(self.settings.capture, self._agent.clock)
        capture.start(self._agent.spans.on_sample)
        self._agent.capture = capture
        log.info("capture started after consent was given")

    def turn_off(self) -> None:
        capture, self._agent.capture = self._agent.capture, None
        if capture is None:
            return
        capture.stop()
        # Close the open span now: time after withdrawal has no app.
        clock = self._agent.clock
        nothing = FocusSample(at=clock.now(), mono=clock.monotonic(), app=None)
        self._agent.spans.on_sample(nothing)
        self._agent.spans.flush()
        log.info("capture stopped: consent withdrawn")
