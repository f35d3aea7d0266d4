"""Render the app icon from its SVG for the installers.

Writes into OUT_DIR: ``punchclock-SIZE.png`` for the Linux icon theme sizes,
``punchclock.svg`` (scalable), ``punchclock.ico`` (Windows) and
``punchclock.icns`` (macOS). Qt draws the SVG, as the tray does; Pillow
packs the ICO and ICNS files. Runs headless (Qt's offscreen platform).

    python build_scripts/make_icons.py build/icons
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PIL import Image
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from freeze import APP_ICON_SVG, APP_NAME

PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)


def render(renderer: QSvgRenderer, size: int, path: Path) -> Path:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    if not image.save(str(path)):
        raise OSError(f"could not write {path}")
    return path


def main(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(APP_ICON_SVG))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {APP_ICON_SVG}")

    pngs = {s: render(renderer, s, out_dir / f"{APP_NAME}-{s}.png") for s in PNG_SIZES}
    shutil.copyfile(APP_ICON_SVG, out_dir / f"{APP_NAME}.svg")

    largest = Image.open(pngs[512])
    largest.save(out_dir / f"{APP_NAME}.ico", sizes=[(s, s) for s in ICO_SIZES])
    largest.save(out_dir / f"{APP_NAME}.icns")
    del app
    sys.stdout.write(f"icons written to {out_dir}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "build/icons")))
