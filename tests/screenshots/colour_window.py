"""A full-screen Qt window in two known colours, shown by a process of its own.

Run as ``python colour_window.py TITLE``: the left half is LEFT, the right
half RIGHT; its window class is "PunchclockColourWindow". With an image path
as second argument it shows that image instead (the benchmark's busy desktop).
"""

from __future__ import annotations

import sys

from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QApplication, QWidget

LEFT = (200, 30, 30)
RIGHT = (30, 60, 200)
WM_CLASS = "PunchclockColourWindow"


class Halves(QWidget):
    def __init__(self, image: QImage | None = None) -> None:
        super().__init__()
        self.image = image

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self.image is not None:
            painter.drawImage(0, 0, self.image)
        else:
            half = self.width() // 2
            painter.fillRect(0, 0, half, self.height(), QColor(*LEFT))
            right = self.width() - half
            painter.fillRect(half, 0, right, self.height(), QColor(*RIGHT))
        painter.end()


def main() -> int:
    app = QApplication([WM_CLASS])
    app.setApplicationName(WM_CLASS)
    window = Halves(QImage(sys.argv[2]) if len(sys.argv) > 2 else None)
    window.setWindowTitle(sys.argv[1] if len(sys.argv) > 1 else "Colours")
    window.showFullScreen()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
