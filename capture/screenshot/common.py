"""The screenshot interface: one image per monitor, at its physical size.

A screenshot source only grabs pixels; downscaling, blur, encoding and
storage are the agent's business (:mod:`agent.screenshots`), so the raw
frames never reach the disk.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

from capture.base import CaptureHealth

if TYPE_CHECKING:
    from PIL import Image

SOURCE = "screenshot"


class GrabError(Exception):
    """A grab failed this time (display gone, portal refused); may work later."""


@dataclass(frozen=True)
class Monitor:
    """One monitor in the desktop's layout.

    ``left``, ``top``, ``width`` and ``height`` are in the layout's own
    coordinates (pixels on X11 and Windows, points on macOS and in Wayland
    layouts); ``left``/``top`` may be negative for a monitor left of or above
    the primary one. ``scale`` is physical pixels per layout unit.
    """

    index: int
    left: int
    top: int
    width: int
    height: int
    scale: float = 1.0

    @property
    def physical_size(self) -> tuple[int, int]:
        return round(self.width * self.scale), round(self.height * self.scale)


@dataclass(frozen=True)
class Frame:
    """The pixels of one monitor, RGB, at the monitor's physical size."""

    monitor: Monitor
    image: Image.Image

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


class ScreenshotSource(ABC):
    """Grabs every monitor.

    Threads: ``grab`` is called by the agent's screenshot worker thread, one
    call at a time, and blocks for the grab (a few ms with mss; up to
    ``timeout`` seconds through the Wayland portal). ``health`` may be called
    from any thread and never blocks. ``close`` is called once, by the
    thread that stops the agent, after the last ``grab`` returned.
    """

    backend = "base"

    @abstractmethod
    def grab(self) -> list[Frame]:
        """One frame per monitor, in monitor order; raises :class:`GrabError`."""

    @abstractmethod
    def health(self) -> CaptureHealth: ...

    def close(self) -> None:
        return None
