"""The main window: the running timer, pickers, note, totals, start/stop.

It renders :class:`ui.model.TrayModel` and forwards the worker's requests
as signals; it never calls a service itself. Everything is reachable from
the keyboard: Tab walks project → task → note → start/stop → "what is
collected", Ctrl+Return starts or stops, Ctrl+K opens the picker.
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QFont,
    QHideEvent,
    QKeySequence,
    QShortcut,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from agent.allowance import tray_lines
from agent.timer import EntryView
from ui.formatting import clock_time, hm, hms
from ui.model import TrayModel
from ui.services import Choice

NO_TASK = "(no task)"


class MainWindow(QWidget):
    start_requested = Signal(object, str)
    """(:class:`Choice`, note) — start, or switch when a timer runs."""
    stop_requested = Signal()
    end_break_requested = Signal()
    note_requested = Signal(str)
    picker_requested = Signal()
    collected_requested = Signal()
    settings_requested = Signal()
    timeline_requested = Signal()
    """Today's timeline window."""
    recovery_seen_requested = Signal()
    """The worker read the notice of a timer recovered after a crash."""

    def __init__(self, model: TrayModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.setWindowTitle("Punchclock")
        self._build()
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._render_elapsed)
        model.changed.connect(self.refresh_view)
        self.refresh_view()

    # building

    def _build(self) -> None:
        self.recovery = QWidget(self)
        self.recovery.setObjectName("recovery")
        self.recovery.setStyleSheet(
            "#recovery { background: #fef3c7; border: 1px solid #d97706; }"
        )
        self.recovery_text = QLabel(self.recovery)
        self.recovery_text.setWordWrap(True)
        self.recovery_text.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
        )
        self.recovery_seen = QPushButton("&Got it", self.recovery)
        banner = QVBoxLayout(self.recovery)
        banner.addWidget(self.recovery_text)
        banner.addWidget(self.recovery_seen, 0, Qt.AlignmentFlag.AlignRight)
        self.recovery.hide()
        self.state = QLabel(self)
        self.state.setObjectName("state")
        self.elapsed = QLabel(self)
        font = QFont(self.elapsed.font())
        font.setPointSize(font.pointSize() * 2)
        font.setBold(True)
        self.elapsed.setFont(font)

        self.project = QComboBox(self)
        self.project.setAccessibleName("Project")
        self.task = QComboBox(self)
        self.task.setAccessibleName("Task")
        self.note = QLineEdit(self)
        self.note.setPlaceholderText("What are you working on? (Enter saves)")
        self.start_stop = QPushButton(self)
        self.start_stop.setDefault(True)
        self.switch = QPushButton("&Find project or task…", self)
        self.totals = QLabel(self)
        self.allowance = QLabel(self)  # work limits and budget left
        self.allowance.setObjectName("allowance")
        self.allowance.hide()
        self.capture = QPushButton("What is &collected now…", self)
        self.settings = QPushButton("&Settings…", self)
        self.timeline = QPushButton("T&imeline", self)
        self.timeline.setToolTip("Today on a time axis: entries, apps, activity")

        form = QFormLayout()
        form.addRow("&Project", self.project)
        form.addRow("&Task", self.task)
        form.addRow("&Note", self.note)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_stop, 1)
        buttons.addWidget(self.switch)
        extras = QHBoxLayout()
        extras.addWidget(self.capture)
        extras.addWidget(self.timeline)
        extras.addWidget(self.settings)
        extras.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addWidget(self.recovery)
        layout.addWidget(self.state)
        layout.addWidget(self.elapsed)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.totals)
        layout.addWidget(self.allowance)
        layout.addLayout(extras)
        self._connect()
        for first, second in itertools.pairwise(self._tab_chain()):
            QWidget.setTabOrder(first, second)
        self.resize(440, 300)

    def _tab_chain(self) -> list[QWidget]:
        return [
            self.recovery_seen,
            self.project,
            self.task,
            self.note,
            self.start_stop,
            self.switch,
            self.capture,
            self.timeline,
            self.settings,
        ]

    def _connect(self) -> None:
        self.project.currentTextChanged.connect(self._fill_tasks)
        self.task.currentTextChanged.connect(lambda _: self._render_button())
        self.start_stop.clicked.connect(self._on_start_stop)
        self.note.returnPressed.connect(self._on_note)
        self.switch.clicked.connect(self.picker_requested)
        self.capture.clicked.connect(self.collected_requested)
        self.settings.clicked.connect(self.settings_requested)
        self.timeline.clicked.connect(self.timeline_requested)
        self.recovery_seen.clicked.connect(self.recovery_seen_requested)
        QShortcut(QKeySequence("Ctrl+Return"), self, self._on_start_stop)
        QShortcut(QKeySequence("Ctrl+K"), self, self.picker_requested.emit)

    # rendering

    def refresh_view(self) -> None:
        self._render_recovery()
        self._fill_projects()
        entry = self.model.current
        tz = self.model.tz
        on_break = self.model.on_break
        if entry is None and on_break is not None:
            since = clock_time(on_break.start, tz)
            paused = (
                f"{on_break.project} / {on_break.task}"
                if on_break.task
                else (on_break.project or "the timer")
            )
            self.state.setText(
                f"On a break ({on_break.policy}) since {since}: {paused} is paused"
            )
        elif entry is None:
            self.state.setText("Stopped")
        else:
            since = clock_time(entry.start, tz)
            self.state.setText(f"Running since {since}: {_label(entry)}")
            if not self.note.hasFocus():
                self.note.setText(entry.note or "")
        totals = self.model.totals
        if totals is not None:
            self.totals.setText(
                f"Today {hm(self.model.today_seconds())} · "
                f"this week {hm(self.model.week_seconds())}"
            )
        lines = tray_lines(self.model.services.agent)
        self.allowance.setText("\n".join(lines))
        self.allowance.setVisible(bool(lines))
        self._render_elapsed()
        self._render_button()

    def _render_recovery(self) -> None:
        notice = self.model.recovered
        if notice is not None:
            self.recovery_text.setText(notice.text(self.model.tz))
        if self.recovery.isHidden() == (notice is not None):
            self.recovery.setVisible(notice is not None)
            # Room for the banner's lines without narrowing the window.
            hint = self.sizeHint()
            self.resize(max(self.width(), 440), max(self.height(), hint.height()))

    def _render_elapsed(self) -> None:
        entry = self.model.current
        seconds = entry.seconds(self.model.now()) if entry else 0.0
        self.elapsed.setText(hms(seconds))

    def _render_button(self) -> None:
        entry = self.model.current
        selected = self.selected()
        if entry is None and self.model.on_break is not None:
            # Starting here would end the break without a word: say it.
            self.start_stop.setText("End &break and resume")
            self.start_stop.setEnabled(True)
        elif entry is None:
            self.start_stop.setText("&Start")
            self.start_stop.setEnabled(selected is not None)
        elif selected is not None and selected != Choice(entry.project, entry.task):
            self.start_stop.setText(f"S&witch to {selected.label}")
            self.start_stop.setEnabled(True)
        else:
            self.start_stop.setText("St&op")
            self.start_stop.setEnabled(True)

    def _fill_projects(self) -> None:
        names = [p.name for p in self.model.projects]
        current = self.model.current
        wanted = current.project if current else self.project.currentText()
        if names != [self.project.itemText(i) for i in range(self.project.count())]:
            self.project.blockSignals(True)
            self.project.clear()
            self.project.addItems(names)
            self.project.blockSignals(False)
        if wanted in names and not self.project.hasFocus():
            self.project.setCurrentText(wanted)
        self._fill_tasks(self.project.currentText())
        if current is not None and not self.task.hasFocus():
            self.task.setCurrentText(current.task or NO_TASK)

    def _fill_tasks(self, project_name: str) -> None:
        tasks = [NO_TASK]
        for project in self.model.projects:
            if project.name == project_name:
                tasks += [task.name for task in project.tasks]
        if tasks != [self.task.itemText(i) for i in range(self.task.count())]:
            kept = self.task.currentText()
            self.task.blockSignals(True)
            self.task.clear()
            self.task.addItems(tasks)
            self.task.setCurrentText(kept if kept in tasks else NO_TASK)
            self.task.blockSignals(False)
        self._render_button()

    # requests

    def selected(self) -> Choice | None:
        project = self.project.currentText()
        if not project:
            return None
        task = self.task.currentText()
        return Choice(project, None if task in ("", NO_TASK) else task)

    def _on_start_stop(self) -> None:
        entry = self.model.current
        selected = self.selected()
        if entry is None and self.model.on_break is not None:
            self.end_break_requested.emit()
        elif entry is not None and (
            selected is None or selected == Choice(entry.project, entry.task)
        ):
            self.stop_requested.emit()
        elif selected is not None:
            self.start_requested.emit(selected, self.note.text())

    def _on_note(self) -> None:
        if self.model.current is not None:
            self.note_requested.emit(self.note.text())
        else:
            self._on_start_stop()

    # visibility: the clock ticks only while someone can see it

    def showEvent(self, event: QShowEvent) -> None:
        self._ticker.start()
        self.model.watch("main window", True)
        self.refresh_view()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:
        self._ticker.stop()
        self.model.watch("main window", False)
        super().hideEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        event.ignore()
        if QSystemTrayIcon.isSystemTrayAvailable():
            # Punchclock stays in the tray; Quit is in its menu.
            self.hide()
            return
        # No tray to come back from: hidden, the app would run invisibly
        # (issue 5); minimised, the taskbar still shows it.
        self.showMinimized()

    def bring_to_front(self) -> None:
        self.show()
        self.setWindowState(self.windowState() & ~Qt.WindowState.WindowMinimized)
        self.raise_()
        self.activateWindow()


def _label(entry: EntryView) -> str:
    return f"{entry.project} / {entry.task}" if entry.task else entry.project
