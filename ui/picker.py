"""The "Switch to…" picker: type to find a project or task, Enter to start.

Every word typed must appear in the entry's label (any order, any case).
Up and Down move through the matches without leaving the search field.
When nothing matches exactly, the last row offers to add what was typed as
a new project, or ``Project / Task`` as a new task.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.services import Choice

NEW_ROLE = Qt.ItemDataRole.UserRole + 1


def matches(choice: Choice, query: str) -> bool:
    label = choice.label.casefold()
    return all(word in label for word in query.casefold().split())


def parse_new(text: str) -> Choice | None:
    project, _, task = text.partition("/")
    project, task = project.strip(), task.strip()
    if not project:
        return None
    return Choice(project, task or None)


class PickerDialog(QDialog):
    """Pick a project or task; :attr:`choice` and :attr:`is_new` hold the answer."""

    def __init__(
        self,
        choices: list[Choice],
        parent: QWidget | None = None,
        *,
        title: str = "Switch to…",
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Punchclock — {title}")
        self.choices = choices
        self.choice: Choice | None = None
        self.is_new = False

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search projects and tasks, or type a new one")
        self.search.setClearButtonEnabled(True)
        self.results = QListWidget(self)
        self.results.setObjectName("picker-results")
        hint = QLabel("Enter starts the timer · “Project / Task” adds a task", self)
        hint.setEnabled(False)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
            self,
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start")

        layout = QVBoxLayout(self)
        for widget in (self.search, self.results, hint, buttons):
            layout.addWidget(widget)
        self.resize(420, 360)

        self.search.textChanged.connect(self.filter)
        self.search.installEventFilter(self)
        self.results.itemActivated.connect(lambda _: self.accept())
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.filter("")

    def filter(self, query: str) -> None:
        self.results.clear()
        shown = [c for c in self.choices if matches(c, query)]
        for choice in shown:
            item = QListWidgetItem(_indent(choice), self.results)
            item.setData(Qt.ItemDataRole.UserRole, choice)
        new = parse_new(query)
        labels = {c.label.casefold() for c in self.choices}
        if new is not None and new.label.casefold() not in labels:
            item = QListWidgetItem(f"+ Add and start “{new.label}”", self.results)
            item.setData(Qt.ItemDataRole.UserRole, new)
            item.setData(NEW_ROLE, True)
        if self.results.count():
            self.results.setCurrentRow(0)

    def visible_labels(self) -> list[str]:
        return [self.results.item(i).text() for i in range(self.results.count())]

    def accept(self) -> None:
        if self.results.currentRow() < 0:
            return
        item = self.results.currentItem()
        self.choice = item.data(Qt.ItemDataRole.UserRole)
        self.is_new = bool(item.data(NEW_ROLE))
        super().accept()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.search
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
        ):
            key = event.key()
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down):
                step = -1 if key == Qt.Key.Key_Up else 1
                row = self.results.currentRow() + step
                if 0 <= row < self.results.count():
                    self.results.setCurrentRow(row)
                return True
        return super().eventFilter(watched, event)


def _indent(choice: Choice) -> str:
    return f"    {choice.task}  ·  {choice.project}" if choice.task else choice.project
