"""The monitor layout on Wayland, for cutting the portal's desktop image.

The Screenshot portal hands back one image of the whole desktop; to store
one image per monitor the source needs the compositor's layout. A Wayland
client cannot ask for it without a display connection of its own, and the
screenshot worker has none; the compositors that say it over their own IPC
socket are asked there instead, on every grab (a monitor may have been
plugged in since):

- sway (wlroots): ``GET_OUTPUTS`` over ``$SWAYSOCK`` (the i3 IPC protocol,
  what ``swaymsg -t get_outputs`` sends); ``rect`` is in layout units, with
  the output's ``scale``.
- Hyprland: ``j/monitors`` over its request socket (what ``hyprctl -j
  monitors`` sends); ``width``/``height`` are the mode in pixels.

Elsewhere (GNOME, KDE) the layout is unknown: the source keeps one frame of
the whole desktop and its health says so.
"""

from __future__ import annotations

import json
import logging
import socket
import struct
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from capture.screenshot.common import Monitor

log = logging.getLogger(__name__)

LayoutProvider = Callable[[], Sequence[Monitor]]

TIMEOUT = 2.0
UNKNOWN = (
    "this desktop does not say its monitor layout (only sway and Hyprland "
    "do), so each screenshot is one image of the whole desktop"
)

# The i3/sway IPC: magic, payload length, message type (little-endian here).
_I3_MAGIC = b"i3-ipc"
_I3_HEADER = struct.Struct("=6sII")
_GET_OUTPUTS = 3


def layout_for(environ: Mapping[str, str]) -> tuple[LayoutProvider | None, str]:
    """How to ask this session's compositor for its monitors, or why not."""
    sway = environ.get("SWAYSOCK")
    if sway:
        return partial(sway_layout, sway), ""
    signature = environ.get("HYPRLAND_INSTANCE_SIGNATURE")
    if signature:
        path = _hyprland_socket(signature, environ.get("XDG_RUNTIME_DIR"))
        return partial(hyprland_layout, str(path)), ""
    return None, UNKNOWN


def sway_layout(path: str, timeout: float = TIMEOUT) -> list[Monitor]:
    """The active outputs, as sway's IPC socket at ``path`` reports them."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(path)
        conn.sendall(_I3_HEADER.pack(_I3_MAGIC, 0, _GET_OUTPUTS))
        magic, length, _ = _I3_HEADER.unpack(_read(conn, _I3_HEADER.size))
        if magic != _I3_MAGIC:
            raise ValueError("sway's IPC answered in an unknown protocol")
        outputs = json.loads(_read(conn, length))
    return from_sway(outputs)


def from_sway(outputs: Sequence[Mapping[str, Any]]) -> list[Monitor]:
    """sway's ``get_outputs`` answer as monitors, left to right."""
    placed = []
    for output in outputs:
        rect = output.get("rect") or {}
        if not output.get("active", False) or not rect.get("width"):
            continue
        scale = float(output.get("scale") or 1.0)
        placed.append(
            (
                int(rect["x"]),
                int(rect["y"]),
                int(rect["width"]),
                int(rect["height"]),
                scale,
            )
        )
    return _numbered(placed)


def hyprland_layout(path: str, timeout: float = TIMEOUT) -> list[Monitor]:
    """The monitors, as Hyprland's request socket at ``path`` reports them."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(path)
        conn.sendall(b"j/monitors")
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return from_hyprland(json.loads(b"".join(chunks)))


def from_hyprland(monitors: Sequence[Mapping[str, Any]]) -> list[Monitor]:
    """Hyprland's ``monitors`` answer (modes in pixels) in layout units."""
    placed = []
    for monitor in monitors:
        if monitor.get("disabled", False):
            continue
        scale = float(monitor.get("scale") or 1.0)
        width, height = int(monitor["width"]), int(monitor["height"])
        if int(monitor.get("transform", 0)) % 2:  # turned by 90° or 270°
            width, height = height, width
        placed.append(
            (
                int(monitor["x"]),
                int(monitor["y"]),
                round(width / scale),
                round(height / scale),
                scale,
            )
        )
    return _numbered(placed)


def _numbered(placed: list[tuple[int, int, int, int, float]]) -> list[Monitor]:
    """Monitors 0, 1, ... by position: left to right, then top to bottom."""
    ordered = sorted(placed, key=lambda p: (p[0], p[1]))
    return [
        Monitor(index, left, top, width, height, scale)
        for index, (left, top, width, height, scale) in enumerate(ordered)
    ]


def _read(conn: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the compositor closed its IPC socket mid-answer")
        data += chunk
    return bytes(data)


def _hyprland_socket(signature: str, runtime: str | None) -> Path:
    """Hyprland 0.40+ keeps its sockets in the runtime dir, earlier in /tmp."""
    if runtime:
        path = Path(runtime) / "hypr" / signature / ".socket.sock"
        if path.exists():
            return path
    return Path("/tmp/hypr") / signature / ".socket.sock"
