"""The notification after each screenshot: its thumbnails, and a button to
delete it while the grace period lasts.

How the tray wires it (``ui/app.py``, where the agent and the command
runner are at hand)::

    notices = ScreenshotNotices(
        delete=lambda shot_id, done: runner.run(
            "delete screenshot", lambda: agent.delete_screenshot(shot_id), done
        ),
    )
    agent.add_screenshot_listener(notices.bridge.on_notice)

``bridge.on_notice`` is called on the agent's screenshot thread: it decodes
the thumbnails there (into ``QImage``, which any thread may make), so the UI
thread only turns ready pixels into a pixmap (P5: the UI thread is never
blocked by a screenshot). Its signal reaches the widget on the UI thread.
Each notice replaces the previous one, sits at the bottom-right of the
primary screen, counts down the grace period once a second and closes itself
when it is over (or after a few seconds when screenshots cannot be deleted).
Delete goes through the command path, so a refusal (the grace period ended
meanwhile) is shown as its message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QImage, QPixmap, QScreen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from agent.screenshots import ShotNotice

log = logging.getLogger(__name__)

DeleteCall = Callable[[int, Callable[[Any], None]], None]
Now = Callable[[], datetime]

# Without a grace period the notice only informs; it goes after this long.
INFO_SECONDS = 6


class NoticeBridge(QObject):
    """The agent's screenshot listener as a Qt signal."""

    shot_taken = Signal(object, object)
    """The :class:`ShotNotice` and its thumbnails as a list of ``QImage``."""

    def on_notice(self, notice: ShotNotice) -> None:
        """Called on the screenshot thread: the thumbnails are decoded here."""
        self.shot_taken.emit(notice, read_images(notice.thumbnails))


def read_images(paths: Iterable[Path]) -> list[QImage]:
    """Thumbnails decoded (on any thread); one that cannot be read is left out."""
    images = []
    for path in paths:
        image = QImage(str(path))
        if image.isNull():
            log.warning("screenshot thumbnail %s could not be read", path.name)
            continue
        images.append(image)
    return images


class ScreenshotNotice(QWidget):
    """One screenshot's notice: thumbnails, what the worker may do, Delete."""

    deleted = Signal(object)
    """The :class:`~agent.screenshots.Deletion` once the delete succeeded."""

    def __init__(
        self,
        notice: ShotNotice,
        delete: DeleteCall,
        now: Now | None = None,
        images: list[QImage] | None = None,
    ) -> None:
        super().__init__(None, Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setWindowTitle("Punchclock screenshot")
        self.notice = notice
        self._delete = delete
        self._now = now or (lambda: datetime.now(UTC))
        self.status = QLabel()
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._on_delete)
        self._build(read_images(notice.thumbnails) if images is None else images)
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self.refresh)
        self._ticker.start()
        self.refresh()

    def _build(self, images: list[QImage]) -> None:
        layout = QVBoxLayout(self)
        pictures = QHBoxLayout()
        for image in images:
            picture = QLabel()
            picture.setPixmap(QPixmap.fromImage(image))
            pictures.addWidget(picture)
        layout.addLayout(pictures)
        layout.addWidget(self.status)
        layout.addWidget(self.delete_button)

    def seconds_left(self) -> int:
        until = self.notice.deletable_until
        if until is None:
            return 0
        return max(0, int((until - self._now()).total_seconds()))

    def refresh(self) -> None:
        """Once a second: the countdown, and closing when it ran out."""
        left = self.seconds_left()
        self.delete_button.setEnabled(left > 0)
        self.delete_button.setVisible(self.notice.deletable_until is not None)
        self.status.setText(self._text(left))
        waited = (self._now() - self.notice.taken_at).total_seconds()
        if left == 0 and waited >= INFO_SECONDS:
            self._ticker.stop()
            self.close()

    def _text(self, left: int) -> str:
        taken = self.notice.taken_at.astimezone().strftime("%H:%M")
        blurred = " (blurred)" if self.notice.blurred else ""
        text = f"Screenshot taken at {taken}{blurred}."
        if left:
            minutes, seconds = divmod(left, 60)
            what = " and this slot's time" if self.notice.removes_time else ""
            text += f" You can delete it{what} for {minutes}:{seconds:02d}."
        return text

    def _on_delete(self) -> None:
        self.delete_button.setEnabled(False)
        self._delete(self.notice.shot_ids[0], self._on_deleted)

    def _on_deleted(self, deletion: object) -> None:
        log.info("screenshot deleted from its notice")
        self.deleted.emit(deletion)
        self._ticker.stop()
        self.close()


class ScreenshotNotices(QObject):
    """Shows one :class:`ScreenshotNotice` per screenshot, newest only."""

    def __init__(self, delete: DeleteCall, now: Now | None = None) -> None:
        super().__init__()
        self.bridge = NoticeBridge()
        # Emitted on the screenshot thread: Qt queues it to this one.
        self.bridge.shot_taken.connect(self.show_notice)
        self._delete = delete
        self._now = now
        self.current: ScreenshotNotice | None = None

    def show_notice(self, notice: ShotNotice, images: list[QImage]) -> None:
        if self.current is not None:
            self.current.close()
        self.current = ScreenshotNotice(notice, self._delete, self._now, images)
        self.current.adjustSize()
        self._place(self.current)
        self.current.show()

    @staticmethod
    def _place(widget: QWidget) -> None:
        # None while no screen is attached, whatever the stubs say.
        screen: QScreen | None = QGuiApplication.primaryScreen()
        if screen is None:
            return
        area = screen.availableGeometry()
        widget.move(
            area.right() - widget.width() - 16, area.bottom() - widget.height() - 16
        )
