"""Render the app icon from its SVG for the installers.

Writes into OUT_DIR: ``punchclock-SIZE.png`` for the Linux icon theme sizes,
``punchclock.svg`` (scalable), ``punchclock.ico`` (Windows) and
``punchclock.icns`` (macOS). Qt draws the SVG, as the tray does; Pillow
packs the ICO and ICNS files. Runs headless (Qt's offscreen platform).

    python build_scripts/make_icons.py build/icons
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from freeze import APP_ICON_SVG, APP_NAME

PNG_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# What Pillow's ICNS writer stores (ic07 to ic14: 32 to 512@2x).
ICNS_SIZES = (32, 64, 128, 256, 512, 1024)


def render(renderer: QSvgRenderer, size: int) -> Image.Image:
    """The SVG drawn by Qt at ``size`` pixels, as the tray draws it."""
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"Qt could not encode the {size} px icon")
    buffer.close()
    return Image.open(io.BytesIO(bytes(data.data()))).convert("RGBA")


def main(out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(APP_ICON_SVG))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {APP_ICON_SVG}")

    # Each size drawn from the SVG: a bitmap scaled down from 512 px blurs
    # the thin strokes at 16 and 24 px, and one scaled up to 1024 is soft.
    sizes = sorted({*PNG_SIZES, *ICO_SIZES, *ICNS_SIZES})
    images = {size: render(renderer, size) for size in sizes}
    for size in PNG_SIZES:
        images[size].save(out_dir / f"{APP_NAME}-{size}.png")
    shutil.copyfile(APP_ICON_SVG, out_dir / f"{APP_NAME}.svg")

    # Pillow writes both formats on every OS (no iconutil needed on macOS);
    # it takes a size from append_images when one of that size is given.
    largest = images[max(sizes)]
    largest.save(
        out_dir / f"{APP_NAME}.ico",
        sizes=[(s, s) for s in ICO_SIZES],
        append_images=[images[s] for s in ICO_SIZES],
    )
    largest.save(
        out_dir / f"{APP_NAME}.icns",
        append_images=[images[s] for s in ICNS_SIZES],
    )
    del app
    sys.stdout.write(f"icons written to {out_dir}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "build/icons")))
