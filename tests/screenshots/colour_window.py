"""A full-screen Qt window in two known colours, shown by a process of its own.

Run as ``python colour_window.py TITLE``: the left half is LEFT, the right
half RIGHT; its window class is "PunchclockColourWindow".
"""

from __future__ import annotations

import sys

from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QApplication, QWidget

LEFT = (200, 30, 30)
RIGHT = (30, 60, 200)
WM_CLASS = "PunchclockColourWindow"


class Halves(QWidget):
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        half = self.width() // 2
        painter.fillRect(0, 0, half, self.height(), QColor(*LEFT))
        painter.fillRect(half, 0, self.width() - half, self.height(), QColor(*RIGHT))
        painter.end()


def main() -> int:
    app = QApplication([WM_CLASS])
    app.setApplicationName(WM_CLASS)
    window = Halves()
    window.setWindowTitle(sys.argv[1] if len(sys.argv) > 1 else "Colours")
    window.showFullScreen()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
