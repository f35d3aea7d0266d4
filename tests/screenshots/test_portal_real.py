"""The Wayland portal source against a real desktop portal: a headless sway,
PipeWire, xdg-desktop-portal with its wlroots back end (which runs grim) and
the GTK back end for the Access interface the Screenshot portal needs, all on
a private session bus. Nothing is faked: the request, its Response signal
and the PNG file are the portal's own."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image

from agent.clock import SystemClock
from agent.projects import Projects
from agent.screenshots import SKIP_WALLPAPER, Conditions, ScreenshotService
from agent.settings import default_settings
from agent.store import Store
from agent.timer import Timer
from capture.screenshot import Frame
from capture.screenshot.portal import JeepneyPortalClient, PortalScreenshotSource
from tests.capture.wayland_peers import Sway, SwayUnavailable
from tests.screenshots.colour_window import LEFT, RIGHT
from tests.screenshots.conftest import wallpaper

# The filled ellipse of conftest.wallpaper(), at 1280x720.
WALLPAPER_BLUE = (40, 90, 160)

COLOUR_WINDOW = Path(__file__).with_name("colour_window.py")
LIBEXEC = Path("/usr/libexec")
PORTAL_PROGRAMS = (
    LIBEXEC / "xdg-desktop-portal",
    LIBEXEC / "xdg-desktop-portal-wlr",
    LIBEXEC / "xdg-desktop-portal-gtk",
)
TOLERANCE = 12


@dataclass
class PortalDesktop:
    sway: Sway
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    windows: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, *command: str) -> None:
        log = (self.sway.runtime / "portal.log").open("ab")
        self.procs.append(
            subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        )
        log.close()

    def open_colours(self, title: str) -> None:
        """The two-colour window, full screen, as a native Wayland client."""
        env = {**self.env, "QT_QPA_PLATFORM": "wayland"}
        proc = subprocess.Popen(
            [sys.executable, str(COLOUR_WINDOW), title],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.windows.append(proc)
        deadline = time.monotonic() + 15
        while title not in self.sway.titles():
            assert proc.poll() is None, "the colour window could not open"
            assert time.monotonic() < deadline, f"window {title!r} never mapped"
            time.sleep(0.05)

    def close_windows(self) -> None:
        for proc in self.windows:
            _end(proc)
        self.windows.clear()

    def set_wallpaper(self, image: Image.Image) -> None:
        """Sway's background (drawn by swaybg, as the compositor's user)."""
        path = self.sway.runtime / "wallpaper.png"
        image.save(path)
        if os.geteuid() == 0:
            os.chown(path, 65534, 65534)
        self.sway.msg(f"output * bg {path} fill")

    def log_tail(self) -> str:
        path = self.sway.runtime / "portal.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def _end(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _missing() -> str | None:
    for program in PORTAL_PROGRAMS:
        if not program.exists():
            return f"{program.name} is not installed"
    for tool in ("pipewire", "grim", "dbus-daemon"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


def _session_bus(env: dict[str, str], directory: Path) -> subprocess.Popen[bytes]:
    bus = subprocess.Popen(
        [
            "dbus-daemon", "--session", "--nofork", "--print-address=1",
            f"--address=unix:path={directory}/bus",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert bus.stdout is not None
    env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().decode().strip()
    return bus


def _wait_until(ready: Callable[[], bool], what: str, desktop: PortalDesktop) -> None:
    deadline = time.monotonic() + 15
    while not ready():
        if time.monotonic() > deadline:
            raise SwayUnavailable(f"{what} did not start: {desktop.log_tail()}")
        time.sleep(0.05)


def _wait_for_name(desktop: PortalDesktop, name: str) -> None:
    """Until ``name`` has an owner on the private session bus."""

    def owned() -> bool:
        done = subprocess.run(
            [
                "dbus-send", "--session", "--print-reply",
                "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner", f"string:{name}",
            ],
            env=desktop.env,
            capture_output=True,
            text=True,
        )  # fmt: skip
        return "boolean true" in done.stdout

    _wait_until(owned, name, desktop)


def _wait_for_portal(desktop: PortalDesktop) -> None:
    """Until org.freedesktop.portal.Desktop answers with its Screenshot version."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        done = subprocess.run(
            [
                "dbus-send", "--session", "--print-reply",
                "--dest=org.freedesktop.portal.Desktop",
                "/org/freedesktop/portal/desktop",
                "org.freedesktop.DBus.Properties.Get",
                "string:org.freedesktop.portal.Screenshot", "string:version",
            ],
            env=desktop.env,
            capture_output=True,
        )  # fmt: skip
        if done.returncode == 0:
            return
        time.sleep(0.1)
    raise SwayUnavailable(f"the portal never offered Screenshot: {desktop.log_tail()}")


@pytest.fixture
def portal_desktop(monkeypatch: pytest.MonkeyPatch) -> Iterator[PortalDesktop]:
    missing = _missing()
    if missing:
        pytest.skip(f"no desktop portal here: {missing} (build_scripts/apt-packages)")
    # Not under pytest's tmp dir: sway runs as nobody when we are root.
    runtime = Path(tempfile.mkdtemp(prefix="punchclock-portal-"))
    bus_dir = Path(tempfile.mkdtemp(prefix="punchclock-bus-"))
    sway = Sway(runtime)
    try:
        sway.start()
    except SwayUnavailable as exc:
        sway.stop()
        pytest.skip(f"no headless sway here: {exc}")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(runtime),
        "XDG_RUNTIME_DIR": str(runtime),
        "WAYLAND_DISPLAY": sway.display,
        "XDG_SESSION_TYPE": "wayland",
        # wlr for Screenshot (sway), gtk for Access (its UseIn is gnome).
        "XDG_CURRENT_DESKTOP": "sway:GNOME",
        "GDK_BACKEND": "wayland",
    }
    bus = _session_bus(env, bus_dir)
    desktop = PortalDesktop(sway, env, [bus])
    try:
        # Each waits for the one before: xdg-desktop-portal-wlr exits when
        # PipeWire does not answer yet, and the portal looks its back ends up
        # once, at its start.
        desktop.start("pipewire")
        _wait_until(lambda: (runtime / "pipewire-0").exists(), "PipeWire", desktop)
        desktop.start(str(LIBEXEC / "xdg-desktop-portal-wlr"))
        _wait_for_name(desktop, "org.freedesktop.impl.portal.desktop.wlr")
        desktop.start(str(LIBEXEC / "xdg-desktop-portal-gtk"), "--replace")
        _wait_for_name(desktop, "org.freedesktop.impl.portal.desktop.gtk")
        desktop.start(str(LIBEXEC / "xdg-desktop-portal"), "--replace")
        _wait_for_portal(desktop)
        for key in ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "WAYLAND_DISPLAY"):
            monkeypatch.setenv(key, env[key])
        yield desktop
    finally:
        desktop.close_windows()
        for proc in reversed(desktop.procs):
            _end(proc)
        sway.stop()
        shutil.rmtree(runtime, ignore_errors=True)
        shutil.rmtree(bus_dir, ignore_errors=True)


def _near(pixel: object, colour: tuple[int, int, int]) -> bool:
    assert isinstance(pixel, tuple)
    return all(
        abs(int(p) - c) <= TOLERANCE for p, c in zip(pixel, colour, strict=False)
    )


def _painted(source: PortalScreenshotSource) -> Image.Image:
    """Grabs through the portal until the colour window shows."""
    for _ in range(100):
        [frame] = source.grab()
        image = frame.image
        left = image.getpixel((image.width // 4, image.height // 2))
        right = image.getpixel((image.width * 3 // 4, image.height // 2))
        if _near(left, LEFT) and _near(right, RIGHT):
            return image
        time.sleep(0.1)
    raise AssertionError("the colour window never showed in the portal's image")


def test_the_real_portal_hands_over_the_screen_and_its_file_goes(
    portal_desktop: PortalDesktop, artifacts_dir: Path
) -> None:
    portal_desktop.open_colours("Colours on Wayland")
    written: list[Path] = []

    class Watching(JeepneyPortalClient):
        def screenshot(self, timeout: float) -> tuple[int, dict[str, object]]:
            code, results = super().screenshot(timeout)
            uri = results.get("uri")
            if isinstance(uri, tuple):
                written.append(Path(str(uri[1]).removeprefix("file://")))
            return code, results

    source = PortalScreenshotSource(Watching)
    try:
        image = _painted(source)
    finally:
        source.close()

    image.save(artifacts_dir / "screenshot-wayland-portal.png")
    assert image.size == (1280, 720)  # the headless output's mode
    assert source.health().ok
    assert written
    assert all(not path.exists() for path in written)


def test_through_the_portal_a_window_is_work_and_the_wallpaper_is_not(
    portal_desktop: PortalDesktop, tmp_path: Path, artifacts_dir: Path
) -> None:
    """Through the screenshot service: a window is work; the desktop with no
    window, showing sway's wallpaper while the focus source reports changes,
    is recognised as wallpaper-only, withdrawn and never stored."""
    store = Store.open(tmp_path / "punchclock.db")
    clock = SystemClock()
    Projects(store, clock).add("Acme", [])
    entry = Timer(store, clock).start("Acme")
    directory = tmp_path / "shots"
    directory.mkdir()
    focus = ["editor"]
    source = PortalScreenshotSource()
    service = ScreenshotService(
        store,
        clock,
        directory,
        default_settings().screenshots,
        10,
        source,
        lambda: Conditions(entry.id, focus=focus[0]),
        random.Random(1),
    )
    try:
        portal_desktop.set_wallpaper(wallpaper((1280, 720)))
        portal_desktop.open_colours("Colours through the service")
        _painted(source)
        window = service.take_now().result(timeout=30)

        portal_desktop.close_windows()
        _wallpaper_shown(source, artifacts_dir / "screenshot-wayland-wallpaper.png")
        captures = []
        for key in ("browser", "terminal", "terminal"):
            focus[0] = key
            captures.append(service.take_now().result(timeout=30))
        health = service.health()
        rows = _rows(store)
    finally:
        service.close()
        store.close()

    assert window is not None
    assert window.shot_ids
    # The first wallpaper shot had nothing to be compared with; the second
    # proved it, and withdrew it; the third matched the known background.
    assert [c.skipped if c else None for c in captures] == [
        None,
        SKIP_WALLPAPER,
        SKIP_WALLPAPER,
    ]
    assert [reason for _, reason in rows] == [None] + [SKIP_WALLPAPER] * 3
    assert "wallpaper" in health.reason
    kept = sorted(p.name for p in directory.rglob("*.jpg"))
    assert kept == sorted([rows[0][0].rsplit("/", 1)[-1], _thumb(rows[0][0])])


def _wallpaper_shown(source: PortalScreenshotSource, keep: Path) -> None:
    """Grabs until the window is gone and the wallpaper's colours show."""
    for _ in range(100):
        [frame] = source.grab()
        if frame.image.getpixel((600, 450)) == WALLPAPER_BLUE:
            frame.image.save(keep)
            return
        time.sleep(0.1)
    raise AssertionError("the wallpaper never showed in the portal's image")


def _rows(store: Store) -> list[tuple[str, str | None]]:
    from sqlalchemy import select

    from agent.store.models import Screenshot

    with store.read() as session:
        query = select(Screenshot.path, Screenshot.skipped_reason).order_by(
            Screenshot.taken_at, Screenshot.id
        )
        return [(path, reason) for path, reason in session.execute(query)]


def _thumb(relative: str) -> str:
    name = relative.rsplit("/", 1)[-1]
    return name.replace(".jpg", ".thumb.jpg")


def test_the_real_portal_image_is_cut_by_sways_layout(
    portal_desktop: PortalDesktop, artifacts_dir: Path
) -> None:
    """Two outputs side by side (a second headless output made at run time):
    the source, given the layout sway's IPC reports (as the factory does from
    SWAYSOCK), stores each monitor as its own frame, the window on its own."""
    from capture.screenshot.wayland_layout import layout_for

    sway = portal_desktop.sway
    sway.msg("create_output")
    sway.msg("output HEADLESS-1 position 0 0")
    sway.msg("output HEADLESS-2 resolution 1280x720 position 1280 0")
    layout, missing = layout_for({"SWAYSOCK": sway.ipc})
    assert layout is not None
    assert missing == ""
    portal_desktop.open_colours("Colours on one of two outputs")
    source = PortalScreenshotSource(layout=layout)
    try:
        frames, shown = _painted_on_one(source)
    finally:
        source.close()

    for frame in frames:
        name = f"screenshot-wayland-monitor-{frame.monitor.index}.png"
        frame.image.save(artifacts_dir / name)
    assert [(f.monitor.left, f.size) for f in frames] == [
        (0, (1280, 720)),
        (1280, (1280, 720)),
    ]
    # The other output shows sway's background, not a half of the window.
    other = frames[1 - shown].image
    colours = other.getcolors()
    assert colours is not None
    assert len(colours) == 1
    assert source.health().ok
    assert source.health().reason == ""


def _painted_on_one(source: PortalScreenshotSource) -> tuple[list[Frame], int]:
    """Grabs until the colour window shows, whole, on one of the monitors."""
    for _ in range(100):
        frames = source.grab()
        for index, frame in enumerate(frames):
            image = frame.image
            left = image.getpixel((image.width // 4, image.height // 2))
            right = image.getpixel((image.width * 3 // 4, image.height // 2))
            if _near(left, LEFT) and _near(right, RIGHT):
                return frames, index
        time.sleep(0.1)
    raise AssertionError("the colour window never showed on a monitor")
