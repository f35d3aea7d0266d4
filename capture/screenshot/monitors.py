"""Monitor arithmetic: layouts with offsets, negative origins, mixed scaling.

Two back ends need it. mss grabs each monitor by its rectangle and may hand
back more pixels than the rectangle has (macOS Retina): the frame's scale is
read from the image. The Wayland portal returns one image of the whole
desktop: each monitor is cut out of it by its place in the layout and
brought to its physical size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PIL import Image

from capture.screenshot.common import Frame, Monitor


@dataclass(frozen=True)
class Bounds:
    """The rectangle around every monitor, in layout coordinates."""

    left: int
    top: int
    right: int
    bottom: int

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


def bounds(monitors: Sequence[Monitor]) -> Bounds:
    if not monitors:
        raise ValueError("a layout needs at least one monitor")
    return Bounds(
        min(m.left for m in monitors),
        min(m.top for m in monitors),
        max(m.left + m.width for m in monitors),
        max(m.top + m.height for m in monitors),
    )


def from_mss(raw: Sequence[Mapping[str, int]]) -> list[Monitor]:
    """mss's monitor list (entry 0 is the whole desktop) as monitors 0, 1, ..."""
    return [
        Monitor(i, m["left"], m["top"], m["width"], m["height"])
        for i, m in enumerate(raw[1:])
    ]


def with_image_scale(monitor: Monitor, size: tuple[int, int]) -> Monitor:
    """``monitor`` with the scale its grabbed image shows (Retina: 2.0)."""
    if monitor.width <= 0:
        return monitor
    scale = size[0] / monitor.width
    if abs(scale - monitor.scale) < 1e-3:
        return monitor
    return Monitor(
        monitor.index, monitor.left, monitor.top, monitor.width, monitor.height, scale
    )


def crop_box(
    monitor: Monitor, layout: Bounds, image_size: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Where ``monitor`` lies in one image of the whole ``layout``.

    The image may be in any uniform resolution of the layout (a compositor
    renders the desktop at its largest scale); the box is clamped to it.
    """
    kx = image_size[0] / layout.width
    ky = image_size[1] / layout.height
    left = round((monitor.left - layout.left) * kx)
    top = round((monitor.top - layout.top) * ky)
    right = round((monitor.left + monitor.width - layout.left) * kx)
    bottom = round((monitor.top + monitor.height - layout.top) * ky)
    return (
        max(0, left),
        max(0, top),
        min(image_size[0], right),
        min(image_size[1], bottom),
    )


def split_desktop(image: Image.Image, monitors: Sequence[Monitor]) -> list[Frame]:
    """One frame per monitor cut from an image of the whole desktop.

    Each crop is resized to the monitor's physical size when the desktop
    image was rendered at another scale (mixed-scale layouts).
    """
    layout = bounds(monitors)
    frames = []
    for monitor in monitors:
        part = image.crop(crop_box(monitor, layout, image.size))
        if part.size != monitor.physical_size:
            part = part.resize(monitor.physical_size, Image.Resampling.BILINEAR)
        frames.append(Frame(monitor, part))
    return frames
