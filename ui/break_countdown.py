"""The break countdown: a small window that stays on top while on a break.

It shows the break policy, whether the break is paid, which entry is paused,
the time left of the allotted length and an "End break" button. When the
allotted time runs out it turns into a warning ("Over by 3:05") and emits
``overran`` once; the break goes on until the worker ends it. The tray
says so too, with a notification (:class:`~ui.agent_dialogs.AgentDialogs`
follows the agent's overruns), so a worker who closed this window hears of
it. An ergonomic
reminder's break is ended by the agent when its time is up, and the window
closes by itself then, as it does when the break is ended anywhere else
(``punchclock break stop``, a suspend, the timer started again).

It renders a :class:`~agent.breaks.BreakView` from a small service
(:class:`BreakCountdownService`); the agent's :class:`~agent.service.Agent`
is one. Wiring it into the tray (on the Qt thread)::

    class BreakBridge(QObject):
        break_changed = Signal(object)        # queued to the Qt thread

    bridge = BreakBridge()
    agent.add_break_listener(bridge.break_changed.emit)
    bridge.break_changed.connect(show_countdown)

    def show_countdown(view: BreakView | None) -> None:
        if view is None or countdown_open():
            return
        countdown = BreakCountdown(agent, view)
        countdown.show()

    # "Take a break" menu, rebuilt when shown: one action per policy,
    # disabled with the reason as its tooltip when not allowed now.
    for choice in agent.break_choices():
        action = menu.addAction(f"{choice.policy.name} ({choice.policy.describe()})")
        action.setEnabled(choice.allowed)
        action.setToolTip(choice.reason or "")
        action.triggered.connect(partial(agent.start_break, choice.policy.name))

``agent.start_break`` raises :class:`~agent.breaks.BreakRefusedError` (a
``UserError``) with the reason, for the tray's one command path to show. The
listener runs on an agent thread, hence the signal; ``current_break`` reads
memory only, ``stop_break`` writes one short transaction on the Qt thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from agent.breaks import BreakView, Origin
from agent.errors import PunchclockError
from ui.formatting import hms

log = logging.getLogger(__name__)

WARNING_STYLE = "color: #b00020; font-weight: 600;"


class BreakCountdownService(Protocol):
    def current_break(self) -> BreakView | None: ...

    def stop_break(self) -> BreakView | None: ...


def used_up(view: BreakView, *, sentence: bool = False) -> str:
    """What an overrun means, for the countdown's warning and (a sentence of
    its own) the tray's notification."""
    minutes = (view.allotted_seconds or 0) // 60
    the = "The" if sentence else "the"
    return (
        f"{the} {minutes} min allotted to {view.policy} are used up. "
        "End the break to resume work."
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BreakCountdown(QWidget):
    """Time left of the break; ``ended`` when it is over, wherever it ended."""

    ended = Signal()
    overran = Signal()

    def __init__(
        self,
        service: BreakCountdownService,
        view: BreakView,
        now: Callable[[], datetime] = _utc_now,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Tool)
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint)
        self.setWindowTitle(f"Punchclock — on a break ({view.policy})")
        self.setObjectName("breakCountdown")
        self._service = service
        self._now = now
        self.view = view
        self._overran = False
        self._build()
        self._ticker = QTimer(self)
        self._ticker.timeout.connect(self.refresh)
        self._ticker.start(1000)
        self.refresh()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.headline = QLabel(self._headline())
        self.headline.setObjectName("headline")
        self.headline.setStyleSheet("font-size: 15px; font-weight: 600;")
        layout.addWidget(self.headline)
        self.paused = QLabel(self._paused())
        layout.addWidget(self.paused)
        self.left = QLabel()
        self.left.setObjectName("timeLeft")
        self.left.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.left)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        layout.addWidget(self.progress)
        self.warning = QLabel()
        self.warning.setObjectName("overrun")
        self.warning.setStyleSheet(WARNING_STYLE)
        self.warning.setWordWrap(True)
        self.warning.hide()
        layout.addWidget(self.warning)
        layout.addLayout(self._buttons())

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addStretch(1)
        self.end_button = QPushButton("End break and resume")
        self.end_button.setObjectName("endBreak")
        self.end_button.setDefault(True)
        self.end_button.clicked.connect(self.end_break)
        row.addWidget(self.end_button)
        return row

    def _headline(self) -> str:
        paid = "paid" if self.view.paid else "unpaid"
        if self.view.origin == Origin.REMINDER:
            return f"{self.view.policy.capitalize()}: rest your eyes and hands"
        return f"{self.view.policy.capitalize()} — {paid} break"

    def _paused(self) -> str:
        if self.view.project is None:
            return "No entry is paused."
        task = f" / {self.view.task}" if self.view.task else ""
        return (
            f"{self.view.project}{task} is paused; it resumes when you end the break."
        )

    # updating

    def refresh(self) -> None:
        """Show the time left now; close when the break ended elsewhere."""
        current = self._service.current_break()
        if current is None or current.id != self.view.id:
            self._finish()
            return
        now = self._now()
        left = current.remaining(now)
        if left is None:
            self.left.setText(f"{hms(current.elapsed(now))} on break")
            self.progress.hide()
            return
        self._show_left(current, left)

    def _show_left(self, current: BreakView, left: float) -> None:
        allotted = current.allotted_seconds or 1
        self.progress.setRange(0, allotted)
        self.progress.setValue(min(int(allotted - left), allotted))
        if left >= 0:
            self.left.setText(f"{hms(left)} left")
            self.left.setStyleSheet("font-size: 28px;")
            return
        self.left.setText(f"+{hms(-left)}")
        self.left.setStyleSheet("font-size: 28px; " + WARNING_STYLE)
        self.warning.setText(f"Over by {hms(-left)}: {used_up(current)}")
        self.warning.show()
        if not self._overran:
            self._overran = True
            log.info("break countdown: %r overran", current.policy)
            self.overran.emit()

    def end_break(self) -> None:
        try:
            self._service.stop_break()
        except PunchclockError as exc:
            self.warning.setText(str(exc))
            self.warning.show()
            return
        self._finish()

    def _finish(self) -> None:
        self._ticker.stop()
        self.close()
        self.ended.emit()
