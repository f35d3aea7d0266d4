"""Screenshots with mss: X11, Windows and macOS, every monitor.

mss lists the monitors with the whole desktop first; each monitor is grabbed
by its own rectangle, so offsets and negative origins come from the OS. A
Retina display hands back more pixels than its rectangle: the frame keeps
them, and its monitor's scale says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from PIL import Image

from capture.base import CaptureHealth
from capture.screenshot.common import (
    SOURCE,
    Frame,
    GrabError,
    Monitor,
    ScreenshotSource,
)
from capture.screenshot.monitors import from_mss, with_image_scale

log = logging.getLogger(__name__)


class Grabber(Protocol):
    """The part of ``mss.MSS`` this back end uses (tests pass a fake)."""

    @property
    def monitors(self) -> Sequence[dict[str, Any]]: ...

    def grab(self, monitor: dict[str, Any], /) -> Any: ...

    def close(self) -> None: ...


GrabberFactory = Callable[[], Grabber]


def _mss_factory(display: str | None) -> GrabberFactory:
    def make() -> Grabber:
        import mss

        if display:
            return mss.MSS(display=display)
        return mss.MSS()

    return make


class MssScreenshotSource(ScreenshotSource):
    """Grabs with one mss instance, made on the grabbing thread when first used."""

    backend = "mss"

    def __init__(
        self, display: str | None = None, factory: GrabberFactory | None = None
    ) -> None:
        self._factory = factory or _mss_factory(display)
        self._grabber: Grabber | None = None
        self._health = CaptureHealth.working(SOURCE, self.backend)

    def grab(self) -> list[Frame]:
        try:
            grabber = self._open()
            raw = list(grabber.monitors)
            if len(raw) < 2:
                raise GrabError("the desktop reports no monitor")
            frames = [
                self._frame(grabber, rect, monitor)
                for rect, monitor in zip(raw[1:], from_mss(raw), strict=True)
            ]
        except GrabError:
            raise
        except Exception as error:
            # mss raises its own ScreenShotError, ctypes and OS errors alike;
            # a fresh instance is made on the next grab.
            self._reset()
            self._health = CaptureHealth.unavailable(
                SOURCE, self.backend, f"screen grab failed: {error}", _FIX
            )
            raise GrabError(f"screen grab failed: {error}") from error

        self._health = CaptureHealth.working(SOURCE, self.backend)
        return frames

    def health(self) -> CaptureHealth:
        return self._health

    def close(self) -> None:
        self._reset()

    def _open(self) -> Grabber:
        if self._grabber is None:
            self._grabber = self._factory()
            log.info("screen grabber opened")
        return self._grabber

    @staticmethod
    def _frame(grabber: Grabber, rect: dict[str, Any], monitor: Monitor) -> Frame:
        shot = grabber.grab(rect)
        size = (int(shot.size[0]), int(shot.size[1]))
        # From mss's buffer as it is: a bytes() copy of 8 MB holds the GIL.
        image = Image.frombytes("RGB", size, shot.raw, "raw", "BGRX")
        return Frame(with_image_scale(monitor, size), image)

    def _reset(self) -> None:
        grabber, self._grabber = self._grabber, None
        if grabber is not None:
            try:
                grabber.close()
            except Exception:  # closing a grabber that already failed
                log.debug("closing the screen grabber failed", exc_info=True)


_FIX = "check that the graphical session is still running, then restart Punchclock"
