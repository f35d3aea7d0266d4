"""The break reminder: "Time for a micro-break" with take, postpone, skip.

A dialog over a small service (:class:`BreakReminderService`); the agent's
:class:`~agent.service.Agent` is one. It renders the pending
:class:`~agent.reminders.Reminder` and forwards the worker's answer. Postpone
shows how many postpones are left and is disabled at none; Skip appears only
where policy allows it. The dialog closes by itself when the reminder is no
longer pending (a natural break credited it, or it was answered elsewhere).
Taking it starts a break with origin "reminder" while the timer runs; its
countdown (``ui/break_countdown.py``) comes through the break listener.

Wiring it into the tray (on the Qt thread)::

    class ReminderBridge(QObject):
        reminder_changed = Signal()           # queued to the Qt thread

    bridge = ReminderBridge()
    agent.add_reminder_listener(lambda _r: bridge.reminder_changed.emit())
    bridge.reminder_changed.connect(show_reminder)

    def show_reminder() -> None:
        reminder = agent.pending_reminder()   # in memory, never blocks
        if reminder is None or reminder_open():
            return
        dialog = BreakReminderDialog(agent, reminder)
        dialog.show()

The agent holds a reminder back while a presentation or call app
(``[reminders] hold_apps``) or a full-screen window has the focus and
announces it once that ends, so the tray needs no check of its own. Where the
tray can tell a full-screen window is in front, it sets
``agent.fullscreen_probe`` to a function that says so (called on an agent
thread each second; it must not block).
"""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent.breaks import BreakView
from agent.errors import PunchclockError
from agent.reminders import Reminder, ReminderAction, ReminderKind

log = logging.getLogger(__name__)

TITLES = {
    ReminderKind.MICRO: "Time for a micro-break",
    ReminderKind.REST: "Time for a rest break",
}


class BreakReminderService(Protocol):
    def pending_reminder(self) -> Reminder | None: ...

    def answer_reminder(
        self, kind: ReminderKind, action: ReminderAction
    ) -> BreakView | None: ...


class BreakReminderDialog(QDialog):
    """Asks to take the break; emits ``answered`` with the action taken."""

    answered = Signal(str)

    def __init__(
        self,
        service: BreakReminderService,
        reminder: Reminder,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint)
        self.setWindowTitle(f"Punchclock — {TITLES[reminder.kind].lower()}")
        self.setObjectName("breakReminder")
        self._service = service
        self.reminder = reminder
        self._build()
        self._watch = QTimer(self)
        self._watch.timeout.connect(self._close_if_gone)
        self._watch.start(1000)

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        headline = QLabel(TITLES[self.reminder.kind])
        headline.setObjectName("headline")
        headline.setStyleSheet("font-size: 15px; font-weight: 600;")
        layout.addWidget(headline)
        message = QLabel(self.reminder.message())
        message.setObjectName("message")
        message.setWordWrap(True)
        layout.addWidget(message)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b00020;")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        layout.addLayout(self._buttons())

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.skip_button = QPushButton("Skip")
        self.skip_button.setObjectName("skip")
        self.skip_button.setVisible(self.reminder.can_skip)
        self.skip_button.clicked.connect(self.skip)
        self.postpone_button = QPushButton(self._postpone_label())
        self.postpone_button.setObjectName("postpone")
        self.postpone_button.setEnabled(self.reminder.postpones_left > 0)
        self.postpone_button.clicked.connect(self.postpone)
        self.take_button = QPushButton("Take the break")
        self.take_button.setObjectName("take")
        self.take_button.setDefault(True)
        self.take_button.clicked.connect(self.take)
        row.addWidget(self.skip_button)
        row.addStretch(1)
        row.addWidget(self.postpone_button)
        row.addWidget(self.take_button)
        return row

    def _postpone_label(self) -> str:
        left = self.reminder.postpones_left
        if left == 0:
            return "Cannot postpone again"
        return f"Postpone {self.reminder.postpone_minutes} min ({left} left)"

    # answers

    def take(self) -> None:
        self._send(ReminderAction.TAKE)

    def postpone(self) -> None:
        self._send(ReminderAction.POSTPONE)

    def skip(self) -> None:
        self._send(ReminderAction.SKIP)

    def _send(self, action: ReminderAction) -> None:
        try:
            self._service.answer_reminder(self.reminder.kind, action)
        except PunchclockError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.answered.emit(str(action))
        self.accept()

    def _close_if_gone(self) -> None:
        pending = self._service.pending_reminder()
        if pending is None or pending.kind is not self.reminder.kind:
            log.debug(
                "%s reminder no longer pending; dialog closed", self.reminder.kind
            )
            self.accept()
