"""The monitor layout on Wayland: sway's and Hyprland's answers, read over a
real UNIX socket speaking their protocols (a faked compositor: Xvfb and the
headless sway of test_portal_real.py cannot make mixed layouts), cutting the
faked portal's desktop image into monitors; without a layout, one frame and
a health that says so."""

from __future__ import annotations

import json
import socket
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from capture.base import HealthState
from capture.screenshot import Monitor, create_screenshot_source
from capture.screenshot.portal import PortalScreenshotSource
from capture.screenshot.wayland_layout import (
    UNKNOWN,
    from_hyprland,
    from_sway,
    layout_for,
)
from tests.screenshots.test_backends import MIXED, FakePortal, _colour, _layout_image

# MIXED as sway reports it (rect in layout units), with an output turned off.
SWAY_OUTPUTS = [
    {
        "name": "eDP-1",
        "active": True,
        "scale": 2.0,
        "rect": {"x": 0, "y": 0, "width": 1440, "height": 900},
    },
    {
        "name": "HDMI-A-1",
        "active": True,
        "scale": 1.0,
        "rect": {"x": -1920, "y": 180, "width": 1920, "height": 1080},
    },
    {
        "name": "DP-2",
        "active": True,
        "scale": 1.0,
        "rect": {"x": 1440, "y": -400, "width": 1280, "height": 1024},
    },
    {"name": "DP-3", "active": False, "rect": {"x": 0, "y": 0, "width": 0}},
]
# MIXED, left to right: what the layout numbers 0, 1, 2.
LEFT_TO_RIGHT = [MIXED[1], MIXED[0], MIXED[2]]


def _placed(monitors: list[Monitor]) -> list[tuple[int, int, int, int, float]]:
    return [(m.left, m.top, m.width, m.height, m.scale) for m in monitors]


def test_sway_outputs_are_monitors_left_to_right() -> None:
    monitors = from_sway(SWAY_OUTPUTS)
    assert [m.index for m in monitors] == [0, 1, 2]
    assert _placed(monitors) == _placed(LEFT_TO_RIGHT)


def test_hyprland_modes_are_brought_to_layout_units() -> None:
    answer = [
        # 2880x1800 at 2x is 1440x900 in the layout.
        {"x": 0, "y": 0, "width": 2880, "height": 1800, "scale": 2.0},
        # A portrait monitor: its 1920x1080 mode turned by 90°.
        {"x": -1080, "y": 0, "width": 1920, "height": 1080, "scale": 1.0,
         "transform": 1},
        {"x": 5000, "y": 0, "width": 800, "height": 600, "scale": 1.0,
         "disabled": True},
    ]  # fmt: skip
    monitors = from_hyprland(answer)
    assert _placed(monitors) == [(-1080, 0, 1080, 1920, 1.0), (0, 0, 1440, 900, 2.0)]


class FakeCompositor:
    """A UNIX socket answering one request per connection, as sway's IPC or
    Hyprland's request socket do."""

    def __init__(self, path: Path, answer: Callable[[socket.socket], None]) -> None:
        self.path = path
        self.requests = 0
        self._answer = answer
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            with conn:
                self.requests += 1
                self._answer(conn)

    def close(self) -> None:
        self._server.close()
        self._thread.join(timeout=5)


def _sway_answer(outputs: list[dict[str, Any]]) -> Callable[[socket.socket], None]:
    header = struct.Struct("=6sII")

    def answer(conn: socket.socket) -> None:
        magic, length, kind = header.unpack(conn.recv(header.size))
        assert (magic, length, kind) == (b"i3-ipc", 0, 3)  # GET_OUTPUTS
        payload = json.dumps(outputs).encode()
        conn.sendall(header.pack(b"i3-ipc", len(payload), 3) + payload)

    return answer


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    # A short path: a UNIX socket's name is limited to about 100 bytes.
    with tempfile.TemporaryDirectory(prefix="pc-sock-") as directory:
        yield Path(directory)


def test_the_portal_source_cuts_the_desktop_by_sways_layout(
    tmp_path: Path, sock_dir: Path
) -> None:
    sway = FakeCompositor(sock_dir / "sway-ipc.sock", _sway_answer(SWAY_OUTPUTS))
    layout, missing = layout_for({"SWAYSOCK": str(sway.path)})
    assert layout is not None
    assert missing == ""
    portal = FakePortal(tmp_path, _layout_image(MIXED, 2))
    source = PortalScreenshotSource(lambda: portal, layout=layout)
    try:
        frames = source.grab()
        again = source.grab()  # asked again: a monitor may have come or gone
    finally:
        sway.close()

    assert [f.size for f in frames] == [(1920, 1080), (2880, 1800), (1280, 1024)]
    assert [f.image.getpixel((10, 10)) for f in frames] == [
        _colour(1),
        _colour(0),
        _colour(2),
    ]
    assert len(again) == 3
    assert sway.requests == 2
    assert source.health().ok
    assert source.health().reason == ""


def test_hyprlands_socket_gives_the_layout(tmp_path: Path, sock_dir: Path) -> None:
    answer = [
        {"x": -1920, "y": 180, "width": 1920, "height": 1080, "scale": 1.0},
        {"x": 0, "y": 0, "width": 2880, "height": 1800, "scale": 2.0},
        {"x": 1440, "y": -400, "width": 1280, "height": 1024, "scale": 1.0},
    ]

    def reply(conn: socket.socket) -> None:
        assert conn.recv(64) == b"j/monitors"
        conn.sendall(json.dumps(answer).encode())

    directory = sock_dir / "hypr" / "abc123"
    directory.mkdir(parents=True)
    hypr = FakeCompositor(directory / ".socket.sock", reply)
    env = {"HYPRLAND_INSTANCE_SIGNATURE": "abc123", "XDG_RUNTIME_DIR": str(sock_dir)}
    layout, _ = layout_for(env)
    assert layout is not None
    try:
        monitors = layout()
    finally:
        hypr.close()
    assert _placed(list(monitors)) == _placed(LEFT_TO_RIGHT)


def test_without_a_layout_one_frame_and_the_health_says_why(tmp_path: Path) -> None:
    layout, missing = layout_for({"XDG_CURRENT_DESKTOP": "GNOME"})
    assert layout is None
    assert missing == UNKNOWN
    portal = FakePortal(tmp_path, _layout_image(MIXED, 1))
    source = PortalScreenshotSource(lambda: portal, layout=layout, no_layout=missing)

    [frame] = source.grab()

    assert frame.size == (4640, 1660)
    health = source.health()
    assert health.state is HealthState.WORKING
    assert health.reason == f"one frame of the whole desktop: {UNKNOWN}"


def test_a_layout_that_cannot_be_read_leaves_one_frame(
    tmp_path: Path, sock_dir: Path
) -> None:
    layout, _ = layout_for({"SWAYSOCK": str(sock_dir / "gone.sock")})
    assert layout is not None
    portal = FakePortal(tmp_path, _layout_image(MIXED, 1))
    source = PortalScreenshotSource(lambda: portal, layout=layout)

    [frame] = source.grab()

    assert frame.size == (4640, 1660)
    assert source.health().ok
    assert "could not be read" in source.health().reason


@pytest.mark.parametrize(
    ("extra", "reason"),
    [({}, UNKNOWN), ({"SWAYSOCK": "/run/user/1000/sway-ipc.sock"}, "")],
)
def test_the_factory_hands_the_portal_the_sessions_layout(
    extra: dict[str, str], reason: str
) -> None:
    environ = {"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-1", **extra}
    source = create_screenshot_source(environ=environ, platform="linux")
    assert source.backend == "wayland-portal"
    assert source.health().ok
    assert source.health().reason.endswith(reason)
    assert bool(source.health().reason) == bool(reason)
