"""The "What is collected now" window: every capture source and its state.

It reads a :class:`CollectedNow` snapshot (built off the UI thread from the
agent's capture health, the policy and the consent) and renders it; it
never asks a source or the store itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
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
from capture.base import CaptureHealth, HealthState

REFRESH_MS = 2000

SOURCE_LABELS = {
    "focus": "Focused app and window title",
    "browser": "Browser address (from the extension)",
    "input": "Keyboard and mouse activity",
    "idle": "Idle time",
    "screenshot": "Screenshots",
}

# Kinds of the policy that no source of this version captures yet.
# Sources the agent reports only while they run; a missing one is named.
REPORTED_WHEN_RUNNING = {
    "activity": "input",
    "screenshots": "screenshot",
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

    def rows(self) -> list[SourceRow]:
        if self.consent is not ConsentState.GIVEN:
            return self._withheld_rows()
        rows = [_health_row(item) for item in self.health]
        reported = {item.source for item in self.health}
        for kind, source in REPORTED_WHEN_RUNNING.items():
            if source in reported:
                continue
            if self.collection.collects(kind):
                rows.append(
                    SourceRow(
                        SOURCE_LABELS[source],
                        "not running",
                        "not started by the agent; `punchclock doctor` says why",
                    )
                )
            else:
                rows.append(SourceRow(SOURCE_LABELS[source], "off", "off by policy"))
        if not self.health and self.collection.collects("apps"):
            rows.insert(
                0,
                SourceRow(SOURCE_LABELS["focus"], "starting", "the agent starts it"),
            )
        return rows

    def _withheld_rows(self) -> list[SourceRow]:
        words = CONSENT_WORDS[self.consent]
        rows = []
        for source in ("focus", "input", "screenshot"):
            rows.append(SourceRow(SOURCE_LABELS[source], "off", words))
        return rows


def _health_row(item: CaptureHealth) -> SourceRow:
    name = SOURCE_LABELS.get(item.source, item.source)
    if item.state is HealthState.WORKING:
        return SourceRow(name, "on", f"through {item.backend}")
    if item.state is HealthState.OFF:
        return SourceRow(name, "off", item.reason or "off by policy")
    detail = item.reason + (f" — {item.fix}" if item.fix else "")
    return SourceRow(name, "unavailable", detail, fault=True)


class CollectedWindow(QDialog):
    """Shows a :class:`CollectedNow`; asks for a new one every 2 s when shown."""

    refresh_requested = Signal()
    consent_change_requested = Signal(bool)
    """True: the worker wants to give consent; False: to withdraw it."""

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
        self.screenshot.setText(_screenshot_text(now.collection))
        self.upload.setText(
            "Waiting for upload: not connected to a server — everything stays "
            "on this computer."
        )
        self._render_consent(now.consent)

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


def _screenshot_text(collection: Collection) -> str:
    if not collection.collects("screenshots"):
        return "Last screenshot: none — screenshots are off by policy."
    return "Last screenshot: none taken yet."
