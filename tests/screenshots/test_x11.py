"""Real screenshots on Xvfb: a window of known colours, stored and read back."""

from __future__ import annotations

import dataclasses
import random
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageFilter, ImageStat

from agent.clock import SystemClock
from agent.projects import Projects
from agent.screenshots import (
    SKIP_PRIVATE_APP,
    SKIP_WALLPAPER,
    Conditions,
    ScreenshotService,
    conditions,
)
from agent.settings import default_settings
from agent.store import Store
from agent.store.models import Screenshot
from agent.timer import Timer
from capture.base import FocusSample
from capture.focus import FocusPrivacy
from capture.screenshot import create_screenshot_source
from capture.screenshot.mss_backend import MssScreenshotSource
from tests.desktop import TestWindow, VirtualDesktop
from tests.screenshots.colour_window import LEFT, RIGHT, WM_CLASS

pytestmark = pytest.mark.x11

COLOUR_WINDOW = Path(__file__).with_name("colour_window.py")
TOLERANCE = 12


@dataclasses.dataclass
class Rig:
    store: Store
    directory: Path
    entry_id: int
    source: MssScreenshotSource

    def service(self, gate: object = None, **changes: object) -> ScreenshotService:
        settings = dataclasses.replace(default_settings().screenshots, **changes)
        entry = self.entry_id
        service = ScreenshotService(
            self.store,
            SystemClock(),
            self.directory,
            settings,
            10,
            self.source,
            gate or (lambda: Conditions(entry)),  # type: ignore[arg-type]
            random.Random(1),
        )
        return service

    def shots(self) -> list[Screenshot]:
        from sqlalchemy import select

        with self.store.read() as session:
            return list(session.scalars(select(Screenshot).order_by(Screenshot.id)))


@pytest.fixture
def rig(tmp_path: Path, desktop: VirtualDesktop) -> Iterator[Rig]:
    store = Store.open(tmp_path / "punchclock.db")
    clock = SystemClock()
    Projects(store, clock).add("Acme", [])
    entry = Timer(store, clock).start("Acme")
    directory = tmp_path / "shots"
    directory.mkdir()
    # As the agent makes it for an X11 session (bands of rows, see mss_backend).
    source = create_screenshot_source(environ={"DISPLAY": desktop.display})
    assert isinstance(source, MssScreenshotSource)
    assert source.band_rows is not None
    yield Rig(store, directory, entry.id, source)
    source.close()
    store.close()


def _open_colours(desktop: VirtualDesktop, title: str) -> TestWindow:
    proc = subprocess.Popen(
        [sys.executable, str(COLOUR_WINDOW), title],
        env={**desktop.env, "QT_QPA_PLATFORM": "xcb"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    window = desktop._adopt(proc, title)
    desktop.activate(window)
    return window


def _wait_painted(source: MssScreenshotSource) -> None:
    """Grabs until the window shows its colours (mapping precedes painting)."""
    for _ in range(200):
        [frame] = source.grab()
        left = frame.image.getpixel((frame.size[0] // 4, frame.size[1] // 2))
        right = frame.image.getpixel((frame.size[0] * 3 // 4, frame.size[1] // 2))
        if _near(left, LEFT) and _near(right, RIGHT):
            return
        threading.Event().wait(0.05)
    raise AssertionError("the colour window was never painted")


def _near(pixel: object, colour: tuple[int, int, int]) -> bool:
    assert isinstance(pixel, tuple)
    return all(
        abs(int(p) - c) <= TOLERANCE for p, c in zip(pixel, colour, strict=False)
    )


def _keep(path: Path, artifacts_dir: Path, name: str) -> None:
    shutil.copyfile(path, artifacts_dir / name)


def test_known_colours_are_stored_at_size_and_pixels(
    rig: Rig, desktop: VirtualDesktop, artifacts_dir: Path
) -> None:
    _open_colours(desktop, "Colours sharp")
    _wait_painted(rig.source)

    capture = rig.service(width=1280).take_now().result(timeout=30)

    assert capture is not None
    [shot] = rig.shots()
    path = rig.directory / shot.path
    _keep(path, artifacts_dir, "screenshot-x11-colours.jpg")
    image = Image.open(path)
    assert image.size == (1280, 720)
    assert (shot.width, shot.height, shot.monitor) == (1280, 720, 0)
    for x in (40, 320, 600):
        assert _near(image.getpixel((x, 360)), LEFT)
    for x in (680, 960, 1240):
        assert _near(image.getpixel((x, 360)), RIGHT)


def test_a_blurred_shot_is_blurred(
    rig: Rig, desktop: VirtualDesktop, artifacts_dir: Path
) -> None:
    _open_colours(desktop, "Colours blurred")
    _wait_painted(rig.source)

    rig.service().take_now().result(timeout=30)
    rig.service(blur=True).take_now().result(timeout=30)

    sharp_row, blurred_row = rig.shots()
    assert blurred_row.blurred
    sharp = Image.open(rig.directory / sharp_row.path)
    blurred = Image.open(rig.directory / blurred_row.path)
    _keep(rig.directory / blurred_row.path, artifacts_dir, "screenshot-x11-blur.jpg")
    # Sharp: pure colours right beside the edge; blurred: a blend there,
    # while far from the edge the colours stay.
    assert _near(sharp.getpixel((636, 360)), LEFT)
    assert _near(sharp.getpixel((644, 360)), RIGHT)
    assert not _near(blurred.getpixel((636, 360)), LEFT)
    assert not _near(blurred.getpixel((644, 360)), RIGHT)
    assert _near(blurred.getpixel((320, 360)), LEFT)
    edges = [
        ImageStat.Stat(i.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0]
        for i in (sharp, blurred)
    ]
    assert edges[1] < edges[0]


def test_a_private_app_in_focus_produces_no_image(
    rig: Rig, desktop: VirtualDesktop
) -> None:
    from capture.focus.x11 import X11FocusSource

    privacy = FocusPrivacy(excluded_apps=(WM_CLASS,))
    focus = X11FocusSource(SystemClock(), privacy, display=desktop.display)
    seen = threading.Event()

    def on_sample(sample: FocusSample) -> None:
        if sample.private:
            seen.set()

    focus.start(on_sample)
    try:
        _open_colours(desktop, "Colours private")
        assert seen.wait(timeout=30)

        def gate() -> Conditions:
            return conditions(
                rig.entry_id, away=False, on_break=False, focus=focus.current()
            )

        capture = rig.service(gate).take_now().result(timeout=30)
    finally:
        focus.stop()

    assert capture is not None
    assert capture.skipped == SKIP_PRIVATE_APP
    [shot] = rig.shots()
    assert (shot.skipped_reason, shot.path, shot.size_bytes) == (
        SKIP_PRIVATE_APP,
        "",
        0,
    )
    assert list(rig.directory.rglob("*.*")) == []


# -- wallpaper-only and blank frames from a real root window -------------------


@pytest.fixture
def root_background(desktop: VirtualDesktop) -> Iterator[Callable[..., None]]:
    """Sets the root window's background with xsetroot; the default after."""
    if shutil.which("xsetroot") is None:
        pytest.skip("xsetroot is not installed (apt-get install x11-xserver-utils)")

    def set_root(*args: str) -> None:
        subprocess.run(["xsetroot", *args], env=desktop.env, check=True, timeout=10)

    yield set_root
    set_root("-def")


def _wait_for_root(source: MssScreenshotSource, painted: Callable[..., bool]) -> None:
    for _ in range(200):
        [frame] = source.grab()
        if painted(frame.image):
            return
        threading.Event().wait(0.05)
    raise AssertionError("the root window never showed its new background")


def _plaid(image: Image.Image) -> bool:
    """xsetroot -mod draws a grid: both colours in the middle of the screen."""
    middle = image.crop((900, 500, 1020, 580))
    colours = middle.getcolors(16) or []
    return {c for _, c in colours} >= {GRID_FG, GRID_BG}


GRID_FG = (58, 110, 165)
GRID_BG = (223, 230, 238)


def test_a_wallpaper_only_desktop_is_recognised_and_not_uploaded(
    rig: Rig,
    desktop: VirtualDesktop,
    root_background: Callable[..., None],
    artifacts_dir: Path,
) -> None:
    """No window mapped: the grab is the root background (and the tray),
    while the focus source (as on Wayland) reports windows changing."""
    root_background("-mod", "12", "12", "-fg", "#3a6ea5", "-bg", "#dfe6ee")
    _wait_for_root(rig.source, _plaid)
    desktop.screenshot(artifacts_dir / "screenshot-x11-wallpaper-only.png")
    focus = ["editor"]
    service = rig.service(
        lambda: Conditions(rig.entry_id, focus=focus[0])  # type: ignore[arg-type]
    )

    first = service.take_now().result(timeout=30)
    focus[0] = "browser"
    second = service.take_now().result(timeout=30)

    assert first is not None
    assert first.shot_ids
    assert second is not None
    assert second.skipped == SKIP_WALLPAPER
    assert [s.skipped_reason for s in rig.shots()] == [SKIP_WALLPAPER] * 2
    assert list(rig.directory.rglob("*.*")) == []
    assert "wallpaper" in service.health().reason

    # A real window in front: work again, and the fault is over.
    window = _open_colours(desktop, "Colours over the wallpaper")
    _wait_painted(rig.source)
    focus[0] = "colours"
    back = service.take_now().result(timeout=30)
    assert back is not None
    assert back.shot_ids
    assert service.health().ok

    # The window unmapped: the known background is caught at once.
    desktop.xdotool("windowunmap", "--sync", str(window.window_id))
    _wait_for_root(rig.source, _plaid)
    again = service.take_now().result(timeout=30)
    assert again is not None
    assert again.skipped == SKIP_WALLPAPER


def test_a_solid_root_is_a_uniform_frame(
    rig: Rig, desktop: VirtualDesktop, root_background: Callable[..., None]
) -> None:
    root_background("-solid", "#3a6ea5")
    _wait_for_root(
        rig.source,
        lambda image: _near(image.getpixel((960, 540)), GRID_FG),
    )
    capture = rig.service().take_now().result(timeout=30)
    # The tray in the corner is a few pixels of 2 million: still uniform.
    assert capture is not None
    assert capture.skipped == "uniform frame"


def test_a_real_desktop_whose_focus_moves_is_not_flagged(
    rig: Rig, desktop: VirtualDesktop, root_background: Callable[..., None]
) -> None:
    """Two xterms over the same background, the focus moved between them and
    read by the real X11 focus source: every capture is work."""
    from capture.focus.x11 import X11FocusSource

    root_background("-mod", "12", "12", "-fg", "#3a6ea5", "-bg", "#dfe6ee")
    first = desktop.open_xterm("Wallpaper test one")
    second = desktop.open_xterm("Wallpaper test two")
    focus = X11FocusSource(SystemClock(), FocusPrivacy(), display=desktop.display)
    focus.start(lambda sample: None)
    try:

        def gate() -> Conditions:
            return conditions(
                rig.entry_id, away=False, on_break=False, focus=focus.current()
            )

        service = rig.service(gate)
        for window in (first, second, first, second):
            desktop.activate(window)
            _wait_focus(focus, window.title)
            capture = service.take_now().result(timeout=30)
            assert capture is not None
            assert capture.skipped is None
    finally:
        focus.stop()
    assert all(s.skipped_reason is None for s in rig.shots())
    assert service.health().ok


def _wait_focus(focus: object, title: str) -> None:
    for _ in range(200):
        sample = focus.current()  # type: ignore[attr-defined]
        if sample is not None and sample.title == title:
            return
        threading.Event().wait(0.02)
    raise AssertionError(f"the focus source never saw {title!r}")
