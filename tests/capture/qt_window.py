"""A small Qt window with a fixed title, shown by a process of its own.

Run as ``python qt_window.py TITLE``; tests find it by its title and its
window class "PunchclockTestWindow".
"""

from __future__ import annotations

import sys

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel


def main() -> int:
    title = sys.argv[1] if len(sys.argv) > 1 else "Qt test window"
    app = QApplication(["PunchclockTestWindow"])
    app.setApplicationName("PunchclockTestWindow")
    label = QLabel(title)
    label.setAutoFillBackground(True)
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#2e7d32"))
    palette.setColor(QPalette.ColorRole.WindowText, QColor("white"))
    label.setPalette(palette)
    label.setWindowTitle(title)
    label.resize(400, 200)
    label.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
