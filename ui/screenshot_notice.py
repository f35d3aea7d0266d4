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
One notice window sits at the bottom-right of the primary screen. Each
capture is a card in it (thumbnails, its own countdown, its own Delete): a
new capture joins the window beside the earlier ones still deletable, so
with several shots per slot none loses its Delete before its grace period
is over. A card goes when its grace is over (or after a few seconds when
screenshots cannot be deleted) or once deleted; the window closes with the
last one.
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


class ShotCard(QWidget):
    """One capture in the notice: thumbnails, its countdown, its Delete."""

    deleted = Signal(object)
    """The :class:`~agent.screenshots.Deletion` once the delete succeeded."""

    def __init__(
        self, notice: ShotNotice, delete: DeleteCall, now: Now, images: list[QImage]
    ) -> None:
        super().__init__()
        self.notice = notice
        self._delete = delete
        self._now = now
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(self._on_delete)
        layout = QVBoxLayout(self)
        pictures = QHBoxLayout()
        for image in images:
            picture = QLabel()
            picture.setPixmap(QPixmap.fromImage(image))
            pictures.addWidget(picture)
        layout.addLayout(pictures)
        layout.addWidget(self.status)
        layout.addWidget(self.delete_button)
        self.refresh()

    def seconds_left(self) -> int:
        until = self.notice.deletable_until
        if until is None:
            return 0
        return max(0, int((until - self._now()).total_seconds()))

    def deletable(self) -> bool:
        return self.seconds_left() > 0

    def over(self) -> bool:
        """Nothing left to show: the grace ran out (or there was none) and
        the notice has been up for :data:`INFO_SECONDS` at least."""
        waited = (self._now() - self.notice.taken_at).total_seconds()
        return self.seconds_left() == 0 and waited >= INFO_SECONDS

    def refresh(self) -> None:
        left = self.seconds_left()
        self.delete_button.setEnabled(left > 0)
        self.delete_button.setVisible(self.notice.deletable_until is not None)
        self.status.setText(self._text(left))

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


class ScreenshotNotice(QWidget):
    """The notice window: the newest capture, and beside it every earlier
    one still deletable, each with its own countdown and Delete.

    A card goes when its grace period is over (an informing one after
    :data:`INFO_SECONDS`) or its capture is deleted; the window closes with
    the last card. ``status``, ``delete_button`` and ``notice`` are the
    newest card's.
    """

    deleted = Signal(object)
    """A :class:`~agent.screenshots.Deletion`, from whichever card."""

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
        self._delete = delete
        self._now = now or (lambda: datetime.now(UTC))
        self.cards: list[ShotCard] = []
        self._row = QHBoxLayout(self)
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self.refresh)
        self._ticker.start()
        self.add(notice, images)

    @property
    def newest(self) -> ShotCard:
        return self.cards[-1]

    @property
    def notice(self) -> ShotNotice:
        return self.newest.notice

    @property
    def status(self) -> QLabel:
        return self.newest.status

    @property
    def delete_button(self) -> QPushButton:
        return self.newest.delete_button

    def add(self, notice: ShotNotice, images: list[QImage] | None = None) -> None:
        """A new capture: its card goes first (left); earlier cards that can
        no longer be deleted make way."""
        stale = [c for c in self.cards if not c.deletable()]
        pictures = read_images(notice.thumbnails) if images is None else images
        card = ShotCard(notice, self._delete, self._now, pictures)
        card.deleted.connect(lambda deletion, c=card: self._on_deleted(c, deletion))
        self.cards.append(card)
        self._row.insertWidget(0, card)
        if self.isVisible():
            card.show()  # a child added to a shown window stays hidden
        for old in stale:
            self._remove(old)
        self.adjustSize()

    def seconds_left(self) -> int:
        return self.newest.seconds_left()

    def refresh(self) -> None:
        """Once a second: the countdowns; cards that are over go."""
        for card in list(self.cards):
            card.refresh()
            if card.over():
                self._remove(card)

    def _on_deleted(self, card: ShotCard, deletion: object) -> None:
        self.deleted.emit(deletion)
        self._remove(card)

    def _remove(self, card: ShotCard) -> None:
        """The card goes; the last one stays in the window, which closes."""
        if self.cards == [card]:
            self._ticker.stop()
            self.close()
            return
        self.cards.remove(card)
        self._row.removeWidget(card)
        card.hide()
        card.deleteLater()
        self.adjustSize()


class ScreenshotNotices(QObject):
    """Shows the notice; a new capture joins the window while one is up."""

    def __init__(self, delete: DeleteCall, now: Now | None = None) -> None:
        super().__init__()
        self.bridge = NoticeBridge()
        # Emitted on the screenshot thread: Qt queues it to this one.
        self.bridge.shot_taken.connect(self.show_notice)
        self._delete = delete
        self._now = now
        self.current: ScreenshotNotice | None = None

    def show_notice(self, notice: ShotNotice, images: list[QImage]) -> None:
        current = self.current
        if current is not None and current.isVisible():
            current.add(notice, images)
        else:
            if current is not None:
                current.close()
            current = ScreenshotNotice(notice, self._delete, self._now, images)
            self.current = current
        current.adjustSize()
        self._place(current)
        current.show()

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
