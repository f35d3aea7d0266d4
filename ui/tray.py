"""The tray icon and its menu, rebuilt from the model each time it opens.

:class:`TrayIcon` renders :class:`~ui.model.TrayModel` (icon per state,
tooltip with project, task and today's total) and forwards the worker's
choices as signals. When no tray exists at start (a session that starts
before its panel, a desktop without one) it says so through
``tray_missing`` and keeps looking every few seconds; the icon is attached
as soon as a tray appears.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from agent.consent import ConsentState
from ui.formatting import clock_time, hm, hms
from ui.icons import TrayState, state_icon
from ui.model import TrayModel
from ui.services import Choice

log = logging.getLogger(__name__)

TRAY_POLL_MS = 3000
# An XEmbed tray host busy with another icon can miss the dock request; Qt
# sends it once. Without a geometry this long after show(), ask again.
EMBED_CHECK_MS = 3000
SYNC_STATUS = "Sync: not connected to a server"


class TrayIcon(QObject):
    start_requested = Signal(object)
    """A :class:`Choice` to clock in on."""
    stop_requested = Signal()
    picker_requested = Signal()
    note_requested = Signal()
    collected_requested = Signal()
    settings_requested = Signal()
    open_requested = Signal()
    quit_requested = Signal()
    tray_missing = Signal()
    tray_attached = Signal()

    def __init__(
        self,
        model: TrayModel,
        parent: QObject | None = None,
        *,
        icon: QSystemTrayIcon | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self.menu = QMenu()
        self.menu.setObjectName("tray-menu")
        self.menu.aboutToShow.connect(self.rebuild)
        # The app may have shown the icon already, before the agent loaded.
        self.icon = icon or QSystemTrayIcon()
        self.icon.setParent(self)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._on_activated)
        self._poll = QTimer(self)
        self._poll.setInterval(TRAY_POLL_MS)
        self._poll.timeout.connect(self._try_attach)
        self._shown_state: TrayState | None = None
        model.changed.connect(self.render)
        self.render()
        self.rebuild()

    # attaching

    def attach(self) -> bool:
        """Show the icon if a tray exists; otherwise keep looking for one."""
        if QSystemTrayIcon.isSystemTrayAvailable():
            if not self.icon.isVisible():
                self.icon.show()
            self._poll.stop()
            QTimer.singleShot(EMBED_CHECK_MS, self._check_embedded)
            log.info("tray icon shown")
            return True
        log.warning("no system tray yet; showing the main window and waiting")
        self.tray_missing.emit()
        self._poll.start()
        return False

    def _check_embedded(self) -> None:
        if self.icon.isVisible() and self.icon.geometry().isEmpty():
            log.warning("the tray did not take the icon; offering it again")
            self.icon.hide()
            self.icon.show()

    def _try_attach(self) -> None:
        if QSystemTrayIcon.isSystemTrayAvailable():
            self._poll.stop()
            self.icon.show()
            log.info("a system tray appeared; icon attached")
            self.tray_attached.emit()

    @property
    def visible(self) -> bool:
        return self.icon.isVisible()

    # rendering

    def render(self) -> None:
        state = self.model.state()
        if state is not self._shown_state:
            self.icon.setIcon(state_icon(state))
            self._shown_state = state
        self.icon.setToolTip(self.tooltip())

    def tooltip(self) -> str:
        entry = self.model.current
        today = f"today {hm(self.model.today_seconds())}"
        if entry is None:
            lines = [f"Punchclock — stopped, {today}"]
        else:
            what = f"{entry.project} / {entry.task}" if entry.task else entry.project
            since = clock_time(entry.start, self.model.tz)
            lines = [f"Punchclock — {what}", f"since {since}, {today}"]
        fault = self.model.fault()
        if fault is not None:
            lines.append(f"Capture problem: {fault.source} — {fault.reason}")
        return "\n".join(lines)

    def notify(self, title: str, message: str) -> None:
        """A native notification, where the tray shows one."""
        if self.icon.isVisible() and self.icon.supportsMessages():
            self.icon.showMessage(title, message, state_icon(self.model.state()), 8000)

    # the menu

    def rebuild(self) -> None:
        """Called as the menu opens: it always shows the present state."""
        self.menu.clear()
        self._add_timer_section()
        self._add_recent_section()
        self.menu.addSeparator()
        self._action("Switch to…", "switch", self.picker_requested.emit)
        note = self._action("Add a note…", "note", self.note_requested.emit)
        note.setEnabled(self.model.current is not None)
        self.menu.addSeparator()
        self._action(SYNC_STATUS, "sync").setEnabled(False)
        self._action(self._collected_label(), "collected", self.collected_requested)
        self._action("Open Punchclock", "open", self.open_requested.emit)
        self._action("Settings…", "settings", self.settings_requested.emit)
        self.menu.addSeparator()
        self._action("Quit Punchclock", "quit", self.quit_requested.emit)

    def _add_timer_section(self) -> None:
        entry = self.model.current
        today = hm(self.model.today_seconds())
        if entry is None:
            self._action(f"Stopped — today {today}", "status").setEnabled(False)
            last = self.model.recent[0] if self.model.recent else None
            if last is not None:
                self._action(
                    f"Start {last.label}",
                    "start",
                    lambda: self.start_requested.emit(last),
                )
            else:
                self._action("Start…", "start", self.picker_requested.emit)
        else:
            what = f"{entry.project} / {entry.task}" if entry.task else entry.project
            elapsed = hms(entry.seconds(self.model.now()))
            status = f"Running: {what} — {elapsed} (today {today})"
            self._action(status, "status").setEnabled(False)
            self._action("Stop timer", "stop", self.stop_requested.emit)

    def _add_recent_section(self) -> None:
        entry = self.model.current
        running = Choice(entry.project, entry.task) if entry else None
        recent = [c for c in self.model.recent if c != running]
        if entry is None:
            recent = recent[1:]  # the first one is the Start item already
        if not recent:
            return
        self.menu.addSection("Recent")
        for choice in recent:
            self._action(
                choice.label,
                f"recent:{choice.label}",
                lambda _checked=False, c=choice: self.start_requested.emit(c),
            )

    def _collected_label(self) -> str:
        if self.model.fault() is not None:
            return "What is collected now (a source has a problem)"
        if self.model.consent is not ConsentState.GIVEN:
            return "What is collected now (capture is off)"
        return "What is collected now"

    def _action(self, text: str, name: str, slot: object = None) -> QAction:
        action = self.menu.addAction(text)
        action.setObjectName(name)
        if slot is not None:
            action.triggered.connect(slot)
        return action

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.open_requested.emit()
