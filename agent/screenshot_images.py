"""Turning a grabbed frame into the bytes that are stored: checked, scaled,
blurred where policy asks, encoded, with a thumbnail.

Everything here works on images in memory. Blur is applied before anything
is encoded, so no sharp copy of a blurred screenshot is ever written.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageFilter, ImageStat

from agent.settings import ScreenshotSettings
from capture.screenshot import Frame

# A frame whose channels vary less than this (standard deviation, 0-255) is
# uniform: nothing on it shows work.
UNIFORM_STDDEV = 2.0
# ... and a uniform frame this dark is black (no permission, screen off).
BLACK_MEAN = 8.0
_PROBE_SIZE = (96, 54)
_THUMBNAIL_QUALITY = 70


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


def blank_reason(image: Image.Image) -> str | None:
    """ "black frame" or "uniform frame" when the image shows nothing, else None.

    Judged on a small copy: a screen of one colour stays one colour.
    """
    probe = image.resize(_PROBE_SIZE, Image.Resampling.BOX)
    stat = ImageStat.Stat(probe)
    if max(stat.stddev) >= UNIFORM_STDDEV:
        return None
    return "black frame" if max(stat.mean) < BLACK_MEAN else "uniform frame"


def blur_radius(width: int) -> float:
    """A Gaussian radius that makes text unreadable at this width.

    About a third of a line of 12-point text at 1280 pixels: windows, colours
    and layout stay recognisable, letters do not.
    """
    return max(4.0, width / 120)


def scaled(image: Image.Image, width: int) -> Image.Image:
    """``image`` at most ``width`` wide, its aspect kept."""
    if image.width <= width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=2.0)


def encode(frame: Frame, options: EncodeOptions) -> Encoded:
    """Scale, blur where asked, encode; the thumbnail shows the same pixels."""
    image = scaled(frame.image.convert("RGB"), options.width)
    if options.blur:
        image = image.filter(ImageFilter.GaussianBlur(blur_radius(image.width)))

    data = _encode_image(image, options.format, options.quality)
    thumbnail = image.copy()
    thumbnail.thumbnail((options.thumbnail_width, options.thumbnail_width * 4))
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
    out = io.BytesIO()
    if kind == "webp":
        # method 2 of 6: most of WebP's saving for a fraction of its CPU.
        image.save(out, "WEBP", quality=quality, method=2)
    else:
        image.save(out, "JPEG", quality=quality)
    return out.getvalue()
