"""Screenshots with mss: X11, Windows and macOS, every monitor.

mss lists the monitors with the whole desktop first; each monitor is grabbed
by its own rectangle, so offsets and negative origins come from the OS. A
Retina display hands back more pixels than its rectangle: the frame keeps
them, and its monitor's scale says so.

With ``band_rows`` (X11, where a grab is one cheap shared-memory request)
a monitor is grabbed in bands of rows: mss copies each grab into a new
buffer while holding the GIL, about 3 ms for a 1920×1080 monitor at once,
during which the tray's UI thread cannot run (P5); a band of 270 rows is a
quarter of that. The bands are taken back to back, a few milliseconds apart.
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
        self,
        display: str | None = None,
        factory: GrabberFactory | None = None,
        band_rows: int | None = None,
    ) -> None:
        self._factory = factory or _mss_factory(display)
        self._grabber: Grabber | None = None
        self._band_rows = band_rows
        self._health = CaptureHealth.working(SOURCE, self.backend)

    def grab(self) -> list[Frame]:
        try:
            grabber = self._open()
            raw = list(grabber.monitors)
            if len(raw) < 2:
                raise GrabError("the desktop reports no monitor")
            frames = [
                self._frame(grabber, rect, monitor, self._band_rows)
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

    @property
    def band_rows(self) -> int | None:
        """Rows per grab request, or None for whole monitors."""
        return self._band_rows

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
    def _frame(
        grabber: Grabber,
        rect: dict[str, Any],
        monitor: Monitor,
        band_rows: int | None,
    ) -> Frame:
        height = int(rect["height"])
        step = band_rows or height
        bands = [
            _decode(grabber.grab({**rect, "top": rect["top"] + y, "height": rows}))
            for y in range(0, height, step)
            for rows in (min(step, height - y),)
        ]
        image = bands[0]
        if len(bands) > 1:
            image = Image.new("RGB", (bands[0].width, sum(b.height for b in bands)))
            top = 0
            for band in bands:
                image.paste(band, (0, top))
                top += band.height
        return Frame(with_image_scale(monitor, image.size), image)

    def _reset(self) -> None:
        grabber, self._grabber = self._grabber, None
        if grabber is not None:
            try:
                grabber.close()
            except Exception:  # closing a grabber that already failed
                log.debug("closing the screen grabber failed", exc_info=True)


def _decode(shot: Any) -> Image.Image:
    size = (int(shot.size[0]), int(shot.size[1]))
    # From mss's buffer as it is: a bytes() copy of 8 MB holds the GIL.
    return Image.frombytes("RGB", size, shot.raw, "raw", "BGRX")


_FIX = "check that the graphical session is still running, then restart Punchclock"
