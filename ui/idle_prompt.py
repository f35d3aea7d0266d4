"""The idle prompt: "You were away from 10:02 to 10:17 (15 min)" and the
worker's answer.

A standalone dialog over a small service (:class:`IdlePromptService`); the
agent's :class:`~agent.service.Agent` is one. It renders the pending
:class:`~agent.idle.IdlePrompt` and forwards the chosen
:class:`~agent.idle.IdleAnswer`; the service applies it exactly once.

Wiring it into the tray (on the Qt thread)::

    class IdleBridge(QObject):
        prompt_changed = Signal()            # queued to the Qt thread

    bridge = IdleBridge()
    agent.add_idle_listener(lambda _prompt: bridge.prompt_changed.emit())
    bridge.prompt_changed.connect(show_idle_prompt)

    def show_idle_prompt() -> None:
        prompt = agent.pending_idle()        # in memory, never blocks
        if prompt is None or dialog_open():
            return
        dialog = IdlePromptDialog(agent, prompt)
        dialog.finished.connect(show_idle_prompt)   # the next one, if any
        dialog.show()

    show_idle_prompt()                       # once at start: a prompt left
                                             # unanswered before a restart

The listener runs on an agent thread, hence the signal. The dialog closes
by itself when its period is answered elsewhere (the no-answer rule, the
CLI, another dialog). ``resolve_idle`` writes one short transaction on the
calling (Qt) thread.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from PySide6.QtCore import QDateTime, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from agent.errors import PunchclockError
from agent.idle import (
    AlreadyResolvedError,
    AnswerPart,
    IdleAnswer,
    IdlePrompt,
    Resolution,
)
from agent.projects import ProjectView

CHOICES = (
    (Resolution.KEEP, "Keep as work"),
    (Resolution.DISCARD, "Discard (not worked)"),
    (Resolution.REASSIGN, "Assign to another project"),
    (Resolution.BREAK, "Count as a break"),
    (Resolution.SPLIT, "Split the time"),
)
PART_CHOICES = (
    (Resolution.KEEP, "keep as work"),
    (Resolution.DISCARD, "discard"),
    (Resolution.REASSIGN, "assign to"),
    (Resolution.BREAK, "break"),
)


class IdlePromptService(Protocol):
    def pending_idle(self) -> IdlePrompt | None: ...

    def resolve_idle(self, period_id: int, answer: IdleAnswer) -> None: ...

    def project_choices(self) -> list[ProjectView]: ...


class ProjectPicker(QWidget):
    """A project and, optionally, one of its tasks."""

    def __init__(self, projects: list[ProjectView], parent: QWidget | None = None):
        super().__init__(parent)
        self._projects = {p.name: p for p in projects if not p.archived}
        self.project = QComboBox()
        self.project.addItems(list(self._projects))
        self.task = QComboBox()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.project, 2)
        layout.addWidget(self.task, 1)
        self.project.currentTextChanged.connect(self._fill_tasks)
        self._fill_tasks(self.project.currentText())

    def chosen(self) -> tuple[str | None, str | None]:
        return (self.project.currentText() or None, self.task.currentText() or None)

    def _fill_tasks(self, name: str) -> None:
        self.task.clear()
        self.task.addItem("")
        project = self._projects.get(name)
        if project is not None:
            self.task.addItems([t.name for t in project.tasks if not t.archived])


class SplitPart(QWidget):
    """One piece of a split: until when, and what to do with it."""

    def __init__(self, prompt: IdlePrompt, projects: list[ProjectView]) -> None:
        super().__init__()
        self.until = QDateTimeEdit()
        self.until.setDisplayFormat("HH:mm")
        self.until.setDateTimeRange(_qt(prompt.start), _qt(prompt.end))
        self.until.setDateTime(_qt(prompt.start + (prompt.end - prompt.start) / 2))
        self.action = QComboBox()
        for value, label in PART_CHOICES:
            self.action.addItem(label, str(value))
        self.picker = ProjectPicker(projects)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("until"))
        layout.addWidget(self.until)
        layout.addWidget(self.action)
        layout.addWidget(self.picker, 1)
        self.action.currentIndexChanged.connect(self._show_picker)
        self._show_picker()

    def part(self, last: bool) -> AnswerPart:
        action = Resolution(self.action.currentData())
        project, task = self.picker.chosen()
        until = None if last else _py(self.until.dateTime())
        if action is not Resolution.REASSIGN:
            project = task = None
        return AnswerPart(action, until, project, task)

    def _show_picker(self) -> None:
        chosen = self.action.currentData() == str(Resolution.REASSIGN)
        self.picker.setVisible(chosen)


class IdlePromptDialog(QDialog):
    """Asks what the away time was; emits ``answered`` with the resolution."""

    answered = Signal(str)

    def __init__(
        self,
        service: IdlePromptService,
        prompt: IdlePrompt,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Punchclock — you were away")
        self.setObjectName("idlePrompt")
        self._service = service
        self.prompt = prompt
        self._projects = service.project_choices()
        self._build()
        self._watch = QTimer(self)
        self._watch.timeout.connect(self._close_if_answered)
        self._watch.start(1000)

    # building

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        headline = QLabel(self.prompt.message())
        headline.setObjectName("headline")
        headline.setStyleSheet("font-size: 15px; font-weight: 600;")
        layout.addWidget(headline)
        layout.addWidget(QLabel(self._context()))
        layout.addLayout(self._choices())
        layout.addWidget(self._split_box())
        self.reason = QLineEdit()
        self.reason.setPlaceholderText(
            "Reason (required to keep this time)"
            if self.prompt.keep_needs_reason
            else "Reason (optional)"
        )
        layout.addWidget(self.reason)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b00020;")
        self.error.setWordWrap(True)
        self.error.hide()
        layout.addWidget(self.error)
        layout.addLayout(self._buttons())
        self._on_choice()

    def _context(self) -> str:
        lines = []
        if self.prompt.project:
            task = f" / {self.prompt.task}" if self.prompt.task else ""
            lines.append(f"The timer was running on {self.prompt.project}{task}.")
        if self.prompt.answer_by is not None:
            when = self.prompt.answer_by.astimezone().strftime("%H:%M")
            verb = "kept" if self.prompt.no_answer == "keep" else "discarded"
            lines.append(f"Without an answer by {when} the time is {verb}.")
        if self.prompt.waiting:
            lines.append(f"{self.prompt.waiting} more away time(s) to account for.")
        return "\n".join(lines)

    def _choices(self) -> QGridLayout:
        grid = QGridLayout()
        self.group = QButtonGroup(self)
        self.radios: dict[Resolution, QRadioButton] = {}
        for row, (value, label) in enumerate(CHOICES):
            if value is Resolution.BREAK:
                label = f"{label} ({self.prompt.break_policy})"
            radio = QRadioButton(label)
            radio.setObjectName(f"choice_{value}")
            self.group.addButton(radio, row)
            self.radios[value] = radio
            grid.addWidget(radio, row, 0)
        self.picker = ProjectPicker(self._projects)
        grid.addWidget(self.picker, _row(Resolution.REASSIGN), 1)
        self.radios[Resolution.KEEP].setChecked(True)
        self.group.buttonToggled.connect(self._on_choice)
        return grid

    def _split_box(self) -> QWidget:
        self.split_box = QWidget()
        box = QVBoxLayout(self.split_box)
        box.setContentsMargins(16, 0, 0, 0)
        self.parts: list[SplitPart] = []
        self._parts_layout = QVBoxLayout()
        box.addLayout(self._parts_layout)
        add = QPushButton("Add a part")
        add.setObjectName("addPart")
        add.clicked.connect(self.add_part)
        box.addWidget(add, alignment=Qt.AlignmentFlag.AlignLeft)
        self.add_part()
        self.add_part()
        return self.split_box

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.stop_button = QPushButton("Stop the timer")
        self.stop_button.setObjectName("stopTimer")
        self.stop_button.clicked.connect(self.stop_timer)
        self.apply_button = QPushButton("Apply")
        self.apply_button.setObjectName("apply")
        self.apply_button.setDefault(True)
        self.apply_button.clicked.connect(self.apply)
        row.addWidget(self.stop_button)
        row.addStretch(1)
        row.addWidget(self.apply_button)
        return row

    # interaction

    def add_part(self) -> None:
        part = SplitPart(self.prompt, self._projects)
        self.parts.append(part)
        self._parts_layout.addWidget(part)
        for index, piece in enumerate(self.parts):
            piece.until.setEnabled(index < len(self.parts) - 1)

    def choice(self) -> Resolution:
        for value, radio in self.radios.items():
            if radio.isChecked():
                return value
        return Resolution.KEEP

    def answer(self) -> IdleAnswer:
        """The answer the dialog shows now."""
        note = self.reason.text().strip() or None
        choice = self.choice()
        if choice is Resolution.REASSIGN:
            project, task = self.picker.chosen()
            return IdleAnswer.reassign(project or "", task, note)
        if choice is Resolution.SPLIT:
            last = len(self.parts) - 1
            parts = [p.part(i == last) for i, p in enumerate(self.parts)]
            return IdleAnswer.split(parts, note)
        if choice is Resolution.DISCARD:
            return IdleAnswer(IdleAnswer.discard().parts, note)
        if choice is Resolution.BREAK:
            return IdleAnswer(IdleAnswer.as_break().parts, note)
        return IdleAnswer.keep(note)

    def apply(self) -> None:
        self._send(self.answer())

    def stop_timer(self) -> None:
        self._send(IdleAnswer.stop())

    def _send(self, answer: IdleAnswer) -> None:
        try:
            self._service.resolve_idle(self.prompt.period_id, answer)
        except AlreadyResolvedError:
            self.accept()
            return
        except PunchclockError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.answered.emit(str(answer.resolution))
        self.accept()

    def _on_choice(self) -> None:
        choice = self.choice()
        self.picker.setEnabled(choice is Resolution.REASSIGN)
        self.split_box.setVisible(choice is Resolution.SPLIT)
        self.error.hide()
        self.adjustSize()

    def _close_if_answered(self) -> None:
        pending = self._service.pending_idle()
        if pending is None or pending.period_id != self.prompt.period_id:
            self.accept()


def _row(choice: Resolution) -> int:
    return [value for value, _ in CHOICES].index(choice)


def _qt(moment: datetime) -> QDateTime:
    return QDateTime.fromSecsSinceEpoch(int(moment.timestamp()))


def _py(value: QDateTime) -> datetime:
    return datetime.fromtimestamp(value.toSecsSinceEpoch(), UTC)
