"""The tray's icons: one SVG per state, in ``resources/icons``.

Each icon is a coloured disc with a dark rim and a white inner ring, so it
reads on light and dark panels alike, and a white glyph, so the states
differ by shape as well as by colour. They are rendered once per size with
QtSvg: a tray host asks for small pixmaps, and rendering up front keeps the
SVG parser off later paints.
"""

from __future__ import annotations

import enum
import functools
from importlib import resources

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

SIZES = (16, 22, 24, 32, 48, 64)


class TrayState(enum.StrEnum):
    STOPPED = "stopped"
    RUNNING = "running"
    IDLE = "idle"
    BREAK = "break"
    FAULT = "fault"


def icon_bytes(state: TrayState) -> bytes:
    # One child per joinpath: Python 3.11's MultiplexedPath (a namespace
    # package, as in the frozen build) takes exactly one.
    icons = resources.files("resources").joinpath("icons")
    return icons.joinpath(f"{state}.svg").read_bytes()


@functools.cache
def state_icon(state: TrayState) -> QIcon:
    """The icon for ``state``; cached, so call it on the UI thread only."""
    renderer = QSvgRenderer(QByteArray(icon_bytes(state)))
    icon = QIcon()
    for size in SIZES:
        icon.addPixmap(_render(renderer, size))
    return icon


def _render(renderer: QSvgRenderer, size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return pixmap
