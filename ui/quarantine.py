"""The records the server rejected, and the worker's "retry them".

A record the server refuses as invalid is quarantined in the outbox with
the server's reason (:mod:`sync.outbox`); it never blocks the records
behind it. The tray's sync section names how many there are; this dialog
lists each one (kind, when it was set aside, the reason) and puts them all
back in line as ``punchclock sync --retry`` does. The list is read off the
UI thread by the shell; the dialog only shows it.
"""

from __future__ import annotations

from datetime import tzinfo

from PySide6.QtCore import Qt, Signal
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

from sync.outbox import Quarantined

# How each kind of record is named to the worker.
KIND_WORDS = {
    "project": "Project",
    "task": "Task",
    "entry": "Time entry",
    "break": "Break",
    "idle_period": "Time away",
    "slot": "Activity in a time slot",
    "span": "Time in an app",
    "screenshot": "Screenshot",
    "screenshot_deletion": "Screenshot deletion",
}


def _count(count: int) -> str:
    return f"{count} item" if count == 1 else f"{count} items"


def rejected_line(count: int) -> str:
    """The tray menu's line: "3 items rejected by the server"."""
    return f"{_count(count)} rejected by the server"


def kind_label(kind: str) -> str:
    return KIND_WORDS.get(kind, kind.replace("_", " ").capitalize())


class QuarantineDialog(QDialog):
    """Lists the quarantined records; "Retry them" asks for them to go again."""

    retry_requested = Signal()

    def __init__(
        self, items: list[Quarantined], tz: tzinfo, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Punchclock — rejected by the server")
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["What", "When", "The server's reason"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.retry_button = QPushButton("Retry them", self)
        self.retry_button.clicked.connect(self._on_retry)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        self.resize(620, 300)
        self.show_items(items, tz)

    def show_items(self, items: list[Quarantined], tz: tzinfo) -> None:
        self.table.setRowCount(len(items))
        for row, item in enumerate(items):
            when = item.at.astimezone(tz)
            texts = (kind_label(item.kind), f"{when:%a %d %b %H:%M}", item.reason)
            for column, text in enumerate(texts):
                cell = QTableWidgetItem(text)
                cell.setFlags(cell.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(row, column, cell)
        self.table.resizeRowsToContents()
        self.retry_button.setEnabled(bool(items))
        if items:
            self.summary.setText(
                f"The server refused {_count(len(items))} as invalid; they stay "
                "on this computer. Fix the cause the reason names (or update "
                "Punchclock), then retry them."
            )
        else:
            self.summary.setText("Nothing is set aside: the server took everything.")

    def _on_retry(self) -> None:
        self.retry_button.setEnabled(False)
        self.retry_requested.emit()
