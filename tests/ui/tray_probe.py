"""Finding the tray app's icon in the tray host (trayer) of a virtual desktop.

An XEmbed tray host reparents each icon's window into its own; Qt gives the
icon window the app's WM_CLASS (``punchclock``). The icon counts as shown
once such a window is mapped inside the host. Used by the end-to-end test
and by the tray benchmark.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from Xlib import X
from Xlib.display import Display
from Xlib.error import XError
from Xlib.xobject.drawable import Window

APP_CLASS = "punchclock"
HOST_CLASS = "trayer"


@dataclass(frozen=True)
class IconGeometry:
    window_id: int
    x: int
    y: int
    width: int
    height: int

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.width // 2, self.y + self.height // 2


def find_tray_icon(display_name: str) -> IconGeometry | None:
    """The app's icon embedded in the tray host, or None while there is none."""
    display = Display(display_name)
    try:
        root = display.screen().root
        # The window manager may have reparented the host into a frame.
        for host in _descendants(root):
            if not _has_class(host, HOST_CLASS):
                continue
            for window in _descendants(host):
                if _has_class(window, APP_CLASS) and _mapped(window):
                    return _geometry(root, window)
        return None
    finally:
        display.close()


def wait_for_tray_icon(display_name: str, timeout: float = 15.0) -> IconGeometry:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        icon = find_tray_icon(display_name)
        if icon is not None:
            return icon
        time.sleep(0.01)
    raise TimeoutError(f"no {APP_CLASS} icon in the tray after {timeout:.0f} s")


def _children(window: Window) -> list[Window]:
    try:
        return list(window.query_tree().children)
    except XError:
        return []


def _descendants(window: Window) -> list[Window]:
    found: list[Window] = []
    for child in _children(window):
        found.append(child)
        found += _descendants(child)
    return found


def _has_class(window: Window, name: str) -> bool:
    try:
        wm_class = window.get_wm_class() or ()
    except XError:
        return False
    return any(part.lower() == name for part in wm_class)


def _mapped(window: Window) -> bool:
    try:
        return bool(window.get_attributes().map_state == X.IsViewable)
    except XError:
        return False


def _geometry(root: Window, window: Window) -> IconGeometry:
    geometry = window.get_geometry()
    origin = window.translate_coords(root, 0, 0)
    # translate_coords gives root's origin in the window's coordinates.
    return IconGeometry(
        window.id, -origin.x, -origin.y, geometry.width, geometry.height
    )


def find_app_popup(display_name: str, min_height: int = 60) -> IconGeometry | None:
    """A mapped top-level window of the app (the open tray menu), if any."""
    display = Display(display_name)
    try:
        root = display.screen().root
        for window in _children(root):
            if not (_has_class(window, APP_CLASS) and _mapped(window)):
                continue
            geometry = _geometry(root, window)
            if geometry.height >= min_height:
                return geometry
        return None
    finally:
        display.close()
