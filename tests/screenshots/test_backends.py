"""Back ends and monitor arithmetic, with faked monitor lists and a faked
portal: Xvfb cannot make multi-monitor layouts (shared/TESTING.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from capture.base import HealthState
from capture.screenshot import GrabError, Monitor, create_screenshot_source
from capture.screenshot.monitors import bounds, crop_box, split_desktop
from capture.screenshot.mss_backend import MssScreenshotSource
from capture.screenshot.portal import PortalScreenshotSource

# A laptop at 2x in the middle, a monitor left of it at a negative origin and
# one above-right, in layout units (points).
MIXED = [
    Monitor(0, 0, 0, 1440, 900, 2.0),
    Monitor(1, -1920, 180, 1920, 1080, 1.0),
    Monitor(2, 1440, -400, 1280, 1024, 1.0),
]


def test_bounds_cover_negative_origins() -> None:
    box = bounds(MIXED)
    assert (box.left, box.top, box.right, box.bottom) == (-1920, -400, 2720, 1260)


def test_crop_boxes_follow_the_layout_at_any_image_scale() -> None:
    box = bounds(MIXED)
    assert crop_box(MIXED[1], box, (4640, 1660)) == (0, 580, 1920, 1660)
    # The compositor rendered the whole desktop at 2x.
    assert crop_box(MIXED[0], box, (9280, 3320)) == (3840, 800, 6720, 2600)


def _layout_image(monitors: list[Monitor], k: int) -> Image.Image:
    """A desktop image at scale ``k`` where each monitor has its own colour."""
    box = bounds(monitors)
    image = Image.new("RGB", (box.width * k, box.height * k), (0, 0, 0))
    for monitor in monitors:
        colour = _colour(monitor.index)
        image.paste(colour, crop_box(monitor, box, image.size))
    return image


def _colour(index: int) -> tuple[int, int, int]:
    return [(220, 30, 30), (30, 200, 40), (40, 60, 230)][index]


@pytest.mark.parametrize("k", [1, 2])
def test_split_desktop_gives_each_monitor_its_pixels_at_physical_size(
    k: int,
) -> None:
    frames = split_desktop(_layout_image(MIXED, k), MIXED)

    assert [f.monitor.index for f in frames] == [0, 1, 2]
    assert [f.size for f in frames] == [(2880, 1800), (1920, 1080), (1280, 1024)]
    for frame in frames:
        colours = frame.image.getcolors()
        assert colours is not None
        assert [c for _, c in colours] == [_colour(frame.monitor.index)]


class FakeShot:
    def __init__(self, width: int, height: int, bgrx: tuple[int, ...]) -> None:
        self.size = (width, height)
        self.raw = bytearray(bytes(bgrx) * (width * height))


class FakeMss:
    """mss's monitor list with the desktop first; grabs a colour per monitor."""

    def __init__(self, monitors: list[dict[str, int]], scale: int = 1) -> None:
        left = min(m["left"] for m in monitors)
        top = min(m["top"] for m in monitors)
        right = max(m["left"] + m["width"] for m in monitors)
        bottom = max(m["top"] + m["height"] for m in monitors)
        whole = {
            "left": left,
            "top": top,
            "width": right - left,
            "height": bottom - top,
        }
        self.monitors = [whole, *monitors]
        self.scale = scale
        self.grabbed: list[dict[str, Any]] = []
        self.closed = False

    def grab(self, monitor: dict[str, Any], /) -> FakeShot:
        self.grabbed.append(monitor)
        index = self.monitors.index(monitor) - 1
        red, green, blue = _colour(index)
        size = (monitor["width"] * self.scale, monitor["height"] * self.scale)
        return FakeShot(*size, (blue, green, red, 255))

    def close(self) -> None:
        self.closed = True


NEGATIVE = [
    {"left": 0, "top": 0, "width": 1920, "height": 1080},
    {"left": -1280, "top": -200, "width": 1280, "height": 1024},
    {"left": 1920, "top": 300, "width": 1024, "height": 768},
]


def test_mss_grabs_each_monitor_by_its_own_rectangle() -> None:
    fake = FakeMss(NEGATIVE)
    source = MssScreenshotSource(factory=lambda: fake)

    frames = source.grab()

    assert fake.grabbed == NEGATIVE
    assert [f.monitor.index for f in frames] == [0, 1, 2]
    assert [(f.monitor.left, f.monitor.top) for f in frames] == [
        (0, 0),
        (-1280, -200),
        (1920, 300),
    ]
    assert [f.size for f in frames] == [(1920, 1080), (1280, 1024), (1024, 768)]
    for frame in frames:
        assert frame.image.getpixel((5, 5)) == _colour(frame.monitor.index)
    assert source.health().ok


def test_mss_retina_frames_keep_their_physical_pixels() -> None:
    source = MssScreenshotSource(factory=lambda: FakeMss(NEGATIVE[:1], scale=2))
    [frame] = source.grab()
    assert frame.size == (3840, 2160)
    assert frame.monitor.scale == 2.0
    assert frame.monitor.physical_size == frame.size


def test_mss_failure_is_a_grab_error_and_a_fresh_grabber_next_time() -> None:
    made: list[FakeMss] = []

    class Broken(FakeMss):
        def grab(self, monitor: dict[str, Any], /) -> FakeShot:
            raise OSError("XGetImage failed")

    def factory() -> FakeMss:
        made.append(Broken(NEGATIVE) if not made else FakeMss(NEGATIVE))
        return made[-1]

    source = MssScreenshotSource(factory=factory)
    with pytest.raises(GrabError, match="XGetImage"):
        source.grab()
    assert source.health().state is HealthState.UNAVAILABLE
    assert made[0].closed

    assert len(source.grab()) == 3
    assert source.health().ok


class FakePortal:
    """The portal's Screenshot request: writes a PNG, answers with its uri."""

    def __init__(self, directory: Path, image: Image.Image, code: int = 0) -> None:
        self.directory = directory
        self.image = image
        self.code = code
        self.written: list[Path] = []

    def screenshot(self, timeout: float) -> tuple[int, dict[str, Any]]:
        if self.code != 0:
            return self.code, {}
        path = self.directory / f"Screenshot {len(self.written)}.png"
        self.image.save(path)
        self.written.append(path)
        return 0, {"uri": ("s", path.as_uri())}

    def close(self) -> None:
        return None


def test_portal_splits_the_desktop_and_deletes_its_file(tmp_path: Path) -> None:
    portal = FakePortal(tmp_path, _layout_image(MIXED, 2))
    source = PortalScreenshotSource(lambda: portal, layout=lambda: MIXED)

    frames = source.grab()

    assert [f.size for f in frames] == [(2880, 1800), (1920, 1080), (1280, 1024)]
    assert frames[1].image.getpixel((10, 10)) == _colour(1)
    assert portal.written
    assert not portal.written[0].exists()
    assert source.health().ok


def test_portal_without_layout_is_one_frame(tmp_path: Path) -> None:
    portal = FakePortal(tmp_path, Image.new("RGB", (1600, 900), (9, 99, 199)))
    [frame] = PortalScreenshotSource(lambda: portal).grab()
    assert frame.size == (1600, 900)


@pytest.mark.parametrize(("code", "words"), [(1, "cancelled"), (2, "refused")])
def test_portal_refusal_is_a_fault_with_the_fix(
    tmp_path: Path, code: int, words: str
) -> None:
    portal = FakePortal(tmp_path, Image.new("RGB", (10, 10)), code=code)
    source = PortalScreenshotSource(lambda: portal)
    with pytest.raises(GrabError, match=words):
        source.grab()
    health = source.health()
    assert health.state is HealthState.UNAVAILABLE
    assert health.reason.startswith("Wayland:")
    assert "X11 session" in health.fix


def test_portal_missing_is_a_fault(tmp_path: Path) -> None:
    def no_bus() -> FakePortal:
        raise OSError("no session bus")

    source = PortalScreenshotSource(no_bus)
    with pytest.raises(GrabError, match="did not answer"):
        source.grab()
    assert "xdg-desktop-portal" in source.health().fix


@pytest.mark.parametrize(
    ("environ", "platform", "backend"),
    [
        ({"DISPLAY": ":5"}, "linux", "mss"),
        ({"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}, "linux", "wayland-portal"),
        ({}, "linux", "null"),
        ({}, "win32", "mss"),
        ({}, "darwin", "mss"),
    ],
)
def test_factory_picks_the_back_end(
    environ: dict[str, str], platform: str, backend: str
) -> None:
    source = create_screenshot_source(environ=environ, platform=platform)
    assert source.backend == backend


def test_factory_off_says_so() -> None:
    source = create_screenshot_source(enabled=False)
    assert source.health().state is HealthState.OFF
    with pytest.raises(GrabError):
        source.grab()


class RowsFake(FakeMss):
    """Paints every row of the desktop by its absolute y, to check bands."""

    def grab(self, monitor: dict[str, Any], /) -> FakeShot:
        self.grabbed.append(monitor)
        width, height = monitor["width"], monitor["height"]
        shot = FakeShot(width * self.scale, height * self.scale, (0, 0, 0, 255))
        row = bytearray()
        for y in range(height * self.scale):
            level = (monitor["top"] + y // self.scale) % 256
            row = bytearray((level, 0, 255 - level, 255)) * (width * self.scale)
            start = y * width * self.scale * 4
            shot.raw[start : start + len(row)] = row
        return shot


@pytest.mark.parametrize("scale", [1, 2])
def test_mss_grabs_in_bands_and_puts_them_together(scale: int) -> None:
    layout = [
        {"left": 0, "top": 0, "width": 64, "height": 100},
        {"left": -64, "top": -37, "width": 32, "height": 75},
    ]
    fake = RowsFake(layout, scale=scale)
    source = MssScreenshotSource(factory=lambda: fake, band_rows=30)

    frames = source.grab()

    # Each monitor in bands of 30 rows from its own top, the last one short.
    assert [(r["top"], r["height"]) for r in fake.grabbed] == [
        (0, 30), (30, 30), (60, 30), (90, 10),
        (-37, 30), (-7, 30), (23, 15),
    ]  # fmt: skip
    assert {r["left"] for r in fake.grabbed[:4]} == {0}
    assert [f.size for f in frames] == [
        (64 * scale, 100 * scale),
        (32 * scale, 75 * scale),
    ]
    assert [f.monitor.scale for f in frames] == [scale, scale]
    for frame, monitor in zip(frames, layout, strict=True):
        for y in range(0, frame.size[1], 7):
            level = (monitor["top"] + y // scale) % 256
            assert frame.image.getpixel((3, y)) == (255 - level, 0, level)


def test_the_x11_source_grabs_in_bands() -> None:
    from capture.screenshot import X11_BAND_ROWS

    source = create_screenshot_source(environ={"DISPLAY": ":5"}, platform="linux")
    assert isinstance(source, MssScreenshotSource)
    assert source.band_rows == X11_BAND_ROWS
    for platform in ("win32", "darwin"):
        other = create_screenshot_source(environ={}, platform=platform)
        assert isinstance(other, MssScreenshotSource)
        assert other.band_rows is None
