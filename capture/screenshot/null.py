"""The screenshot source where none can work, or screenshots are off."""

from __future__ import annotations

from capture.base import CaptureHealth, HealthState
from capture.screenshot.common import SOURCE, Frame, GrabError, ScreenshotSource


class NullScreenshotSource(ScreenshotSource):
    """Grabs nothing and says why: the reason reaches doctor and the tray."""

    backend = "null"

    def __init__(
        self, reason: str, fix: str = "", state: HealthState = HealthState.UNAVAILABLE
    ) -> None:
        self._health = CaptureHealth(SOURCE, self.backend, state, reason, fix)

    def grab(self) -> list[Frame]:
        raise GrabError(self._health.reason)

    def health(self) -> CaptureHealth:
        return self._health
