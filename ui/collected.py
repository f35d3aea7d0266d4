"""The "What is collected now" window: every capture source and its state.

It reads a :class:`CollectedNow` snapshot (built off the UI thread from the
agent's capture health, the policy and the consent) and renders it; it
never asks a source or the store itself.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QImage, QPainter, QPixmap, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from agent.consent import Collection, ConsentState
from agent.screenshots import WAITING, LastCapture
from capture.base import CaptureHealth, HealthState
from ui.formatting import source_label
from ui.services import SyncStatus

REFRESH_MS = 2000
# The last screenshot's thumbnails are shown this high, side by side.
THUMBNAIL_HEIGHT = 96

# States, as the "State" column says them.
RECORDING = "Recording"
OFF = "Off"
NOT_WORKING = "Not working"
NOT_STARTED = "Not started"
STARTING = "Starting…"

# How a working source gets what it records, per back end.
BACKEND_WORDS = {
    "x11": "read from your desktop",
    "windows": "read from Windows",
    "macos": "read from macOS",
    "wayland-gnome": "read from GNOME",
    "wayland-kwin": "read from KDE Plasma",
    "wayland-wlroots": "read from your desktop",
    "wayland-dbus": "asked of your desktop",
    "wayland-portal": "through your desktop's screenshot permission",
    "aw-receiver": "sent by your browser's extension to this computer only",
    "mss": "taken on this computer",
}

# What a working source records, in the words of the consent dialog.
SOURCE_RECORDS = {
    "input": "seconds with any key or mouse input; never which keys",
    "idle": "how long the keyboard and mouse were untouched",
    "screenshot": "at random moments while the timer runs",
}

# Sources the agent reports only while they run; a missing one is named.
REPORTED_WHEN_RUNNING = {
    "activity": "input",
    "screenshots": "screenshot",
}

# Reasons the sources give for being off, in plain words.
OFF_WORDS = {
    "not started": "Punchclock has not started it yet",
    "receiver not started": "waiting for the browser extension to connect",
    "receiver stopped": "stopped with capture",
    "focus capture is off by policy": "your organisation's policy turns it off",
    "input capture is off by policy": "your organisation's policy turns it off",
    "screenshots are off": "your organisation's policy takes none",
    "off by policy": "your organisation's policy turns it off",
}

# Said before a source's own reason when it does not work.
UNAVAILABLE_WORDS = {
    "browser-url": "Punchclock cannot receive pages from the browser extension: ",
}

CONSENT_WORDS = {
    ConsentState.NEEDED: "off — waiting for your consent",
    ConsentState.DECLINED: "off — you declined capture",
    ConsentState.STALE: "off — the policy changed; waiting for your consent",
}


@dataclass(frozen=True)
class SourceRow:
    name: str
    state: str
    detail: str
    fault: bool = False


@dataclass(frozen=True)
class CollectedNow:
    collection: Collection
    consent: ConsentState
    health: tuple[CaptureHealth, ...]
    sync: SyncStatus | None = None
    last_capture: LastCapture | None = None
    thumbnails: tuple[QImage, ...] = ()
    """The last capture's thumbnails, decoded off the UI thread."""
    tz: tzinfo = UTC
    now: datetime | None = None
    grace_seconds: int = 0
    """How long after it is taken the worker may delete a screenshot."""

    def deletable(self) -> int | None:
        """The last capture's id while the worker may still delete it."""
        shot = self.last_capture
        if shot is None or shot.deleted_at is not None or shot.pruned:
            return None
        if not self.grace_seconds or not shot.shot_ids or self.now is None:
            return None
        if self.now > shot.taken_at + timedelta(seconds=self.grace_seconds):
            return None
        return shot.shot_ids[0]

    def rows(self) -> list[SourceRow]:
        """One row per source, each detail a sentence the worker reads."""
        rows = self._rows()
        return [dataclasses.replace(r, detail=_first_upper(r.detail)) for r in rows]

    def _rows(self) -> list[SourceRow]:
        if self.consent is not ConsentState.GIVEN:
            return self._withheld_rows()
        rows = [self._health_row(item) for item in self.health]
        reported = {item.source for item in self.health}
        for kind, source in REPORTED_WHEN_RUNNING.items():
            if source in reported:
                continue
            name = source_label(source)
            if self.collection.collects(kind):
                rows.append(
                    SourceRow(
                        name,
                        NOT_STARTED,
                        "Punchclock could not start it; restart Punchclock, "
                        "or run `punchclock doctor` in a terminal to see why",
                    )
                )
            else:
                rows.append(SourceRow(name, OFF, OFF_WORDS["off by policy"]))
        if not self.health and self.collection.collects("apps"):
            rows.insert(
                0,
                SourceRow(source_label("focus"), STARTING, "Punchclock starts it"),
            )
        return rows

    def upload_text(self) -> str:
        status = self.sync
        if status is None or not status.configured:
            return (
                "Waiting for upload: nothing — no server is set up, everything "
                "stays on this computer."
            )
        if not status.waiting:
            return f"Waiting for upload: nothing — all is on {status.server}."
        count = status.waiting
        noun = "item" if count == 1 else "items"
        return f"Waiting for upload to {status.server}: {count} {noun}."

    def screenshot_text(self) -> str:
        """What became of the last screenshot, in one sentence."""
        if not self.collection.collects("screenshots"):
            return "Last screenshot: none — screenshots are off by policy."
        shot = self.last_capture
        if shot is None:
            return "Last screenshot: none taken yet."
        text = f"Last screenshot: {self._when(shot.taken_at)}"
        if len(shot.shot_ids) > 1:
            text += f", {len(shot.shot_ids)} monitors"
        if shot.blurred:
            text += ", blurred"
        return f"{text}. {self._fate(shot)}"

    def _fate(self, shot: LastCapture) -> str:
        if shot.deleted_at is not None:
            who = "by you" if shot.deleted_by == "worker" else "by policy"
            return f"Deleted {who} {self._when(shot.deleted_at)}."
        if shot.pruned:
            return (
                "Uploaded, then removed from this computer to keep within "
                "its disk budget."
            )
        if shot.uploaded:
            return "Uploaded."
        if shot.state == WAITING:
            return "Waiting for upload."
        return "Kept on this computer only."

    def _when(self, moment: datetime) -> str:
        local = moment.astimezone(self.tz)
        today = (self.now or datetime.now(UTC)).astimezone(self.tz).date()
        if local.date() == today:
            return f"today at {local:%H:%M}"
        return f"{local:%a %d %b} at {local:%H:%M}"

    def _withheld_rows(self) -> list[SourceRow]:
        words = CONSENT_WORDS[self.consent]
        rows = []
        for source in ("focus", "input", "screenshot"):
            rows.append(SourceRow(source_label(source), OFF, words))
        return rows

    def _health_row(self, item: CaptureHealth) -> SourceRow:
        name = source_label(item.source)
        if item.state is HealthState.WORKING:
            return SourceRow(name, RECORDING, self._working_detail(item))
        if item.state is HealthState.OFF:
            reason = OFF_WORDS.get(item.reason, item.reason)
            return SourceRow(name, OFF, reason or OFF_WORDS["off by policy"])
        detail = _sentence(UNAVAILABLE_WORDS.get(item.source, "") + item.reason)
        if item.fix:
            detail += f" To fix it: {item.fix.rstrip('.')}."
        return SourceRow(name, NOT_WORKING, detail, fault=True)

    def _working_detail(self, item: CaptureHealth) -> str:
        what = SOURCE_RECORDS.get(item.source, "")
        if item.source == "focus":
            what = self._focus_words()
        elif item.source == "browser-url":
            what = (
                "the address of the tab in front"
                if self.collection.collects("urls")
                else "only the web site of the tab in front"
            )
        how = BACKEND_WORDS.get(item.backend, "")
        return _first_upper("; ".join(part for part in (what, how) if part))

    def _focus_words(self) -> str:
        if self.collection.collects("titles"):
            words = "app names and window titles"
        elif self.collection.collects("domains"):
            words = "app names, and for browsers only the web site"
        else:
            words = "app names only, no window titles"
        private = self.collection.private_apps
        if private:
            words += f" (never in {', '.join(private)})"
        titles = self.collection.private_titles
        if titles:
            words += f" (never windows titled {', '.join(titles)})"
        return words


def _first_upper(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentence(text: str) -> str:
    text = _first_upper(text.strip())
    if not text:
        return ""
    return text if text.endswith((".", "!", "?")) else text + "."


class CollectedWindow(QDialog):
    """Shows a :class:`CollectedNow`; asks for a new one every 2 s when shown."""

    refresh_requested = Signal()
    consent_change_requested = Signal(bool)
    """True: the worker wants to give consent; False: to withdraw it."""
    delete_requested = Signal(object)
    """The id of the last screenshot, which the worker wants deleted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Punchclock — what is collected now")
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["Source", "State", "Details"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setWordWrap(True)

        self.screenshot = QLabel(self)
        self.screenshot.setWordWrap(True)
        self.thumbnail = QLabel(self)
        self.thumbnail.hide()
        self.delete_button = QPushButton("Delete this screenshot", self)
        self.delete_button.setEnabled(False)
        self.delete_button.hide()
        self.delete_button.clicked.connect(self._on_delete)
        self.delete_note = QLabel(self)
        self.delete_note.setWordWrap(True)
        self.delete_note.hide()
        self._deletable: int | None = None
        self.upload = QLabel(self)
        self.consent = QLabel(self)
        self.consent.setWordWrap(True)
        self.consent_button = QPushButton(self)
        self.consent_button.clicked.connect(self._on_consent_button)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)

        row = QHBoxLayout()
        row.addWidget(self.consent, 1)
        row.addWidget(self.consent_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.screenshot)
        layout.addWidget(self.thumbnail)
        shot_row = QHBoxLayout()
        shot_row.addWidget(self.delete_note, 1)
        shot_row.addWidget(self.delete_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addLayout(shot_row)
        layout.addWidget(self.upload)
        layout.addLayout(row)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)
        self.resize(640, 340)
        self._consent_given = False
        self._poll = QTimer(self)
        self._poll.setInterval(REFRESH_MS)
        self._poll.timeout.connect(self.refresh_requested)

    def showEvent(self, event: QShowEvent) -> None:
        self.refresh_requested.emit()
        self._poll.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._poll.stop()
        super().hideEvent(event)

    def show_snapshot(self, now: CollectedNow) -> None:
        rows = now.rows()
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            for column, text in enumerate((row.name, row.state, row.detail)):
                item = QTableWidgetItem(text)
                if row.fault and column == 1:
                    item.setForeground(Qt.GlobalColor.red)
                self.table.setItem(index, column, item)
        self.table.resizeRowsToContents()
        self._fit_rows()
        self.screenshot.setText(now.screenshot_text())
        self._render_thumbnails(now.thumbnails)
        self._render_delete(now)
        self.upload.setText(now.upload_text())
        self._render_consent(now.consent)

    def _fit_rows(self) -> None:
        """Tall enough for every row: five sources need no scrolling."""
        rows = sum(self.table.rowHeight(r) for r in range(self.table.rowCount()))
        frame = 2 * self.table.frameWidth()
        header = self.table.horizontalHeader().height()
        self.table.setMinimumHeight(rows + header + frame)

    def _render_thumbnails(self, images: tuple[QImage, ...]) -> None:
        self.thumbnail.setVisible(bool(images))
        if images:
            self.thumbnail.setPixmap(side_by_side(images, THUMBNAIL_HEIGHT))

    def _render_delete(self, now: CollectedNow) -> None:
        """The button shows with a screenshot; it works within the grace."""
        self._deletable = now.deletable()
        self.delete_button.setVisible(now.last_capture is not None)
        self.delete_button.setEnabled(self._deletable is not None)
        if self._deletable is None:
            self.delete_button.setToolTip(
                "Screenshots can be deleted only within "
                f"{now.grace_seconds} s of being taken."
            )
        else:
            self.delete_button.setToolTip("")

    def _on_delete(self) -> None:
        if self._deletable is not None:
            self.delete_button.setEnabled(False)
            self.delete_note.hide()
            self.delete_requested.emit(self._deletable)

    def show_refusal(self, message: str | None) -> None:
        """Why the screenshot was not deleted (None: it was)."""
        self.delete_note.setText(message or "")
        self.delete_note.setVisible(bool(message))

    def _render_consent(self, state: ConsentState) -> None:
        self._consent_given = state is ConsentState.GIVEN
        if self._consent_given:
            self.consent.setText("You consented to this capture.")
            self.consent_button.setText("Withdraw consent")
        else:
            self.consent.setText(f"Capture is {CONSENT_WORDS[state]}.")
            self.consent_button.setText("Review and consent…")

    def _on_consent_button(self) -> None:
        self.consent_change_requested.emit(not self._consent_given)


def side_by_side(images: tuple[QImage, ...], height: int) -> QPixmap:
    """The images scaled to one height, left to right, 4 px apart."""
    scaled = [
        image.scaledToHeight(height, Qt.TransformationMode.SmoothTransformation)
        for image in images
    ]
    gap = 4
    width = sum(image.width() for image in scaled) + gap * (len(scaled) - 1)
    pixmap = QPixmap(width, height)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    left = 0
    for image in scaled:
        painter.drawImage(left, 0, image)
        left += image.width() + gap
    painter.end()
    return pixmap
