"""Turning a grabbed frame into the bytes that are stored: checked, scaled,
blurred where policy asks, encoded, with a thumbnail.

Everything here works on images in memory. Blur is applied before anything
is encoded, so no sharp copy of a blurred screenshot is ever written.

This runs on the screenshot worker thread while the tray's UI thread runs
beside it, so each step is chosen to let go of the GIL (P5: the UI thread
never waits more than 16 ms). Pillow holds the GIL through a whole JPEG or
WebP encode into a ``BytesIO`` (about 8 ms for 1280 pixels) but releases it
while encoding into a file descriptor, so images are encoded into an
anonymous in-memory file (``memfd``; a private temporary file where the OS
has none). A Gaussian blur holds the GIL too: it is applied in bands of
rows, each with enough rows of context around it to give the same pixels.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageChops, ImageFilter, ImageStat

from agent.settings import ScreenshotSettings
from capture.screenshot import Frame

# A frame whose channels vary less than this (standard deviation, 0-255) is
# uniform: nothing on it shows work.
UNIFORM_STDDEV = 2.0
# ... and a uniform frame this dark is black (no permission, screen off).
BLACK_MEAN = 8.0
_PROBE_SIZE = (96, 54)
# Two fingerprints show the same picture when no pixel of them differs by
# more than this (grey levels, 0-255). A grab of an unchanged screen is
# pixel-identical; one typed character or a text cursor moves a pixel of
# the 20x-reduced fingerprint by about 8 to 15 levels.
SAME_MAX_DIFFERENCE = 3
_THUMBNAIL_QUALITY = 70
# Rows per blur band: a 1280-pixel band of 96 rows blurs in about 2 ms.
_BLUR_BAND_ROWS = 96


@dataclass(frozen=True)
class EncodeOptions:
    width: int = 1280
    format: str = "jpeg"
    quality: int = 60
    thumbnail_width: int = 240
    blur: bool = False

    @classmethod
    def from_settings(cls, settings: ScreenshotSettings) -> EncodeOptions:
        return cls(
            width=settings.width,
            format=settings.format,
            quality=settings.quality,
            thumbnail_width=settings.thumbnail_width,
            blur=settings.blur,
        )

    @property
    def extension(self) -> str:
        return "webp" if self.format == "webp" else "jpg"


@dataclass(frozen=True)
class Encoded:
    """One monitor's image as it will be stored."""

    monitor: int
    width: int
    height: int
    data: bytes
    thumbnail: bytes
    sha256: str
    blurred: bool


@dataclass(frozen=True)
class Look:
    """What a small copy of a frame tells: blank or not, and its fingerprint.

    The fingerprint is the copy in grey (96×54): enough to tell the same
    picture from a changed one, too coarse to read anything on it.
    """

    blank: str | None
    fingerprint: Image.Image


def look(image: Image.Image) -> Look:
    """Judged on a small copy: a screen of one colour stays one colour."""
    probe = image.resize(_PROBE_SIZE, Image.Resampling.BOX)
    stat = ImageStat.Stat(probe)
    blank = None
    if max(stat.stddev) < UNIFORM_STDDEV:
        blank = "black frame" if max(stat.mean) < BLACK_MEAN else "uniform frame"
    return Look(blank, probe.convert("L"))


def blank_reason(image: Image.Image) -> str | None:
    """ "black frame" or "uniform frame" when the image shows nothing, else None."""
    return look(image).blank


def same_picture(first: Image.Image, second: Image.Image) -> bool:
    """Whether two fingerprints (:attr:`Look.fingerprint`) show one picture."""
    if first.size != second.size:
        return False
    _, largest = ImageChops.difference(first, second).getextrema()
    return int(largest) <= SAME_MAX_DIFFERENCE  # type: ignore[arg-type]


def blur_radius(width: int) -> float:
    """A Gaussian radius that makes text unreadable at this width.

    About a third of a line of 12-point text at 1280 pixels: windows, colours
    and layout stay recognisable, letters do not.
    """
    return max(4.0, width / 120)


def blurred(image: Image.Image, radius: float) -> Image.Image:
    """``image`` under a Gaussian blur of ``radius``, in bands of rows.

    Each band is blurred with ``3 * radius`` rows of context above and below
    (the reach of Pillow's three box passes), so the seams do not show.
    """
    reach = int(3 * radius) + 2
    out = Image.new(image.mode, image.size)
    for top in range(0, image.height, _BLUR_BAND_ROWS):
        bottom = min(image.height, top + _BLUR_BAND_ROWS)
        above, below = max(0, top - reach), min(image.height, bottom + reach)
        band = image.crop((0, above, image.width, below))
        band = band.filter(ImageFilter.GaussianBlur(radius))
        out.paste(band.crop((0, top - above, image.width, bottom - above)), (0, top))
    return out


def scaled(image: Image.Image, width: int) -> Image.Image:
    """``image`` at most ``width`` wide, its aspect kept."""
    if image.width <= width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=2.0)


def encode(frame: Frame, options: EncodeOptions) -> Encoded:
    """Scale, blur where asked, encode; the thumbnail shows the same pixels."""
    image = frame.image if frame.image.mode == "RGB" else frame.image.convert("RGB")
    image = scaled(image, options.width)
    if options.blur:
        image = blurred(image, blur_radius(image.width))

    data = _encode_image(image, options.format, options.quality)
    thumbnail = scaled(image, options.thumbnail_width)
    return Encoded(
        monitor=frame.monitor.index,
        width=image.width,
        height=image.height,
        data=data,
        thumbnail=_encode_image(thumbnail, "jpeg", _THUMBNAIL_QUALITY),
        sha256=hashlib.sha256(data).hexdigest(),
        blurred=options.blur,
    )


def _encode_image(image: Image.Image, kind: str, quality: int) -> bytes:
    with _scratch_file() as out:
        if kind == "webp":
            # method 2 of 6: most of WebP's saving for a fraction of its CPU.
            image.save(out, "WEBP", quality=quality, method=2)
        else:
            image.save(out, "JPEG", quality=quality)
        out.seek(0)
        return out.read()


def _scratch_file() -> IO[bytes]:
    """An unnamed file with a descriptor: Pillow encodes into it without the GIL.

    Linux: anonymous memory, never on disk. Elsewhere: a 0600 temporary file
    that no other process can open by name (deleted on close; on POSIX at
    once). Only already scaled (and, by policy, blurred) pixels go in.
    """
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None:
        fd = memfd_create("punchclock-screenshot", getattr(os, "MFD_CLOEXEC", 0))
        return os.fdopen(fd, "w+b")
    return tempfile.TemporaryFile()
