"""The focus source for desktops where the focused window cannot be read."""

from __future__ import annotations

import logging

from capture.base import (
    CaptureHealth,
    FocusSample,
    FocusSource,
    HealthCallback,
    HealthState,
    SampleCallback,
)
from capture.focus.common import SOURCE

log = logging.getLogger(__name__)


class NullFocusSource(FocusSource):
    """Emits nothing and says why: the reason reaches doctor and the tray."""

    def __init__(
        self,
        reason: str,
        fix: str = "",
        backend: str = "null",
        state: HealthState = HealthState.UNAVAILABLE,
    ) -> None:
        self._health = CaptureHealth(SOURCE, backend, state, reason, fix)

    def start(
        self, on_sample: SampleCallback, on_health: HealthCallback | None = None
    ) -> None:
        log.warning("focus capture unavailable: %s", self._health.reason)
        if on_health is not None:
            on_health(self._health)

    def stop(self) -> None:
        return None

    def health(self) -> CaptureHealth:
        return self._health

    def current(self) -> FocusSample | None:
        return None
