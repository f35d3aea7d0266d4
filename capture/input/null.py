"""The input source for desktops where input cannot be observed."""

from __future__ import annotations

import logging

from capture.base import CaptureHealth, HealthState
from capture.input.common import SOURCE, InputMarks, InputSource

log = logging.getLogger(__name__)


class NullInputSource(InputSource):
    """Observes nothing and says why; activity is then unknown, not 0 %."""

    def __init__(
        self,
        reason: str,
        fix: str = "",
        backend: str = "null",
        state: HealthState = HealthState.UNAVAILABLE,
    ) -> None:
        self._health = CaptureHealth(SOURCE, backend, state, reason, fix)

    def start(self) -> None:
        log.info("input capture %s: %s", self._health.state, self._health.reason)

    def stop(self) -> None:
        return None

    def drain(self) -> InputMarks | None:
        return None

    def health(self) -> CaptureHealth:
        return self._health
