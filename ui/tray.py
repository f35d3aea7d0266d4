"""The tray icon and its menu, rebuilt from the model each time it opens.

:class:`TrayIcon` renders :class:`~ui.model.TrayModel` (icon per state:
stopped, running, away, on a break, a capture or sync fault; tooltip with
project, task and today's total) and forwards the worker's choices as
signals. Opening the menu also asks for a fresh snapshot; when it arrives
while the menu is open, the sync line and the break submenu are updated in
place. When no tray exists at start (a session that starts
before its panel, a desktop without one) it says so through
``tray_missing`` and keeps looking every few seconds; the icon is attached
as soon as a tray appears.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from agent.allowance import tray_lines
from agent.consent import ConsentState
from ui.allowance_notices import AllowanceNotices
from ui.formatting import ago, clock_time, hm, hms, items, shorten, source_label
from ui.icons import TrayState, state_icon
from ui.model import TrayModel
from ui.services import Choice, SyncStatus

log = logging.getLogger(__name__)

TRAY_POLL_MS = 3000
# An XEmbed tray host busy with another icon can miss the dock request; Qt
# sends it once. Without a geometry this long after show(), ask again.
EMBED_CHECK_MS = 3000
NOT_CONNECTED = "Sync: not connected to a server"
SNI_WATCHER = "org.kde.StatusNotifierWatcher"


class TrayIcon(QObject):
    start_requested = Signal(object)
    """A :class:`Choice` to clock in on."""
    stop_requested = Signal()
    picker_requested = Signal()
    note_requested = Signal()
    collected_requested = Signal()
    settings_requested = Signal()
    open_requested = Signal()
    timeline_requested = Signal()
    """Today's timeline window."""
    quit_requested = Signal()
    break_requested = Signal(str)
    """The name of the break policy to take."""
    end_break_requested = Signal()
    sync_now_requested = Signal()
    quarantine_requested = Signal()
    """The worker wants to see the records the server rejected."""
    idle_prompt_requested = Signal()
    recovered_requested = Signal()
    """The worker chose the line about a timer recovered after a crash."""
    notified = Signal(str, str)
    """(title, message) of each notification asked for, shown or not."""
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
        self.menu.setToolTipsVisible(True)
        self.menu.aboutToShow.connect(self._on_about_to_show)
        self.break_menu = QMenu("Take a break", self.menu)
        self.break_menu.setObjectName("breaks")
        self.break_menu.setToolTipsVisible(True)
        self._sync_action: QAction | None = None
        self.shortcut_hint = ""
        """The global start/stop shortcut, shown beside start and stop."""
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
        # Work-limit and budget notices (agent/allowance.py) as notifications.
        self._allowance_notices = AllowanceNotices(self, model.services.agent)

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
        if not self.icon.isVisible() or not self.icon.geometry().isEmpty():
            return
        if _on_dbus_tray():
            return  # a StatusNotifierItem has no geometry, and needs no retry
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
        if self.menu.isVisible():
            self._update_open_menu()

    def tooltip(self) -> str:
        entry = self.model.current
        today = f"today {hm(self.model.today_seconds())}"
        on_break = self.model.on_break
        if on_break is not None:
            since = clock_time(on_break.start, self.model.tz)
            lines = [f"Punchclock — on a break ({on_break.policy})"]
            lines.append(f"since {since}, {today}")
        elif entry is None and self.model.away:
            lines = ["Punchclock — away", f"timer paused, {today}"]
        elif entry is None:
            lines = [f"Punchclock — stopped, {today}"]
        else:
            what = f"{entry.project} / {entry.task}" if entry.task else entry.project
            since = clock_time(entry.start, self.model.tz)
            lines = [f"Punchclock — {what}", f"since {since}, {today}"]
        fault = self.model.fault()
        if fault is not None:
            lines.append(
                f"Capture problem: {source_label(fault.source)} — {fault.reason}"
            )
        sync_fault = self.model.sync_fault()
        if sync_fault is not None:
            lines.append(f"Sync problem: {shorten(sync_fault)}")
        return "\n".join(lines)

    def notify(self, title: str, message: str) -> None:
        """A native notification, where the tray shows one."""
        self.notified.emit(title, message)
        if self.icon.isVisible() and self.icon.supportsMessages():
            self.icon.showMessage(title, message, state_icon(self.model.state()), 8000)

    # the menu

    def _on_about_to_show(self) -> None:
        self.rebuild()
        # Break rules and the sync state move with time: read them anew.
        self.model.refresh()

    def rebuild(self) -> None:
        """Called as the menu opens: it always shows the present state."""
        self.menu.clear()
        self._add_recovered_line()
        self._add_timer_section()
        # Work limits left and the running project's budget (agent/allowance.py).
        for number, line in enumerate(tray_lines(self.model.services.agent)):
            self._action(line, f"allowance:{number}").setEnabled(False)
        self._add_recent_section()
        self.menu.addSeparator()
        self._action("Switch to…", "switch", self.picker_requested.emit)
        note = self._action("Add a note…", "note", self.note_requested.emit)
        note.setEnabled(self.model.current is not None)
        self._add_break_section()
        self.menu.addSeparator()
        self._add_sync_section()
        self._action(self._collected_label(), "collected", self.collected_requested)
        self._action("Open Punchclock", "open", self.open_requested.emit)
        self._action("Open timeline", "timeline", self.timeline_requested.emit)
        self._action("Settings…", "settings", self.settings_requested.emit)
        self.menu.addSeparator()
        self._action("Quit Punchclock", "quit", self.quit_requested.emit)

    def _add_recovered_line(self) -> None:
        notice = self.model.recovered
        if notice is None:
            return
        text = f"⚠ {notice.short(self.model.tz)} — details…"
        line = self._action(text, "recovered", self.recovered_requested.emit)
        line.setToolTip(notice.text(self.model.tz))
        self.menu.addSeparator()

    def _add_timer_section(self) -> None:
        entry = self.model.current
        today = hm(self.model.today_seconds())
        on_break = self.model.on_break
        if on_break is not None:
            elapsed = hms(on_break.elapsed(self.model.now()))
            status = f"On a break: {on_break.policy} — {elapsed} (today {today})"
            self._action(status, "status").setEnabled(False)
            self._hint(
                self._action("End break", "end-break", self.end_break_requested.emit)
            )
            return
        if entry is None and self.model.away:
            status = f"Away — the timer resumes when you return (today {today})"
            self._action(status, "status").setEnabled(False)
            return
        if entry is None:
            self._action(f"Stopped — today {today}", "status").setEnabled(False)
            last = self.model.recent[0] if self.model.recent else None
            if last is not None:
                start = self._action(
                    f"Start {last.label}",
                    "start",
                    lambda: self.start_requested.emit(last),
                )
            else:
                start = self._action("Start…", "start", self.picker_requested.emit)
            self._hint(start)
        else:
            what = f"{entry.project} / {entry.task}" if entry.task else entry.project
            elapsed = hms(entry.seconds(self.model.now()))
            status = f"Running: {what} — {elapsed} (today {today})"
            self._action(status, "status").setEnabled(False)
            self._hint(self._action("Stop timer", "stop", self.stop_requested.emit))

    def _hint(self, action: QAction) -> None:
        """Show the global shortcut beside what it would do now."""
        if self.shortcut_hint:
            sequence = QKeySequence.fromString(
                self.shortcut_hint, QKeySequence.SequenceFormat.PortableText
            )
            action.setShortcut(sequence)
            # Shown only: the grab is global, the menu must not take the key.
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)

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

    def _add_break_section(self) -> None:
        prompt = self.model.idle_prompt
        if prompt is not None:
            text = f"{prompt.message()} — account for it…"
            self._action(text, "idle-prompt", self.idle_prompt_requested.emit)
        if self.model.on_break is not None:
            return
        self._fill_break_menu()
        action = self.break_menu.menuAction()
        action.setObjectName("take-break")
        self.menu.addAction(action)

    def _fill_break_menu(self) -> None:
        self.break_menu.clear()
        choices = self.model.breaks
        self.break_menu.setEnabled(bool(choices))
        self.break_menu.menuAction().setToolTip(
            "" if choices else "Your organisation's policy sets no breaks."
        )
        for choice in choices:
            policy = choice.policy
            action = self.break_menu.addAction(f"{policy.name} ({policy.describe()})")
            action.setObjectName(f"break:{policy.name}")
            action.setEnabled(choice.allowed)
            action.setToolTip(choice.reason or "")
            action.triggered.connect(
                lambda _checked=False, name=policy.name: self.break_requested.emit(name)
            )

    def _add_sync_section(self) -> None:
        status = self.model.sync
        line = self._action(self.sync_line(), "sync")
        line.setEnabled(False)
        line.setToolTip(sync_tooltip(status, self.model.tz))
        self._sync_action = line
        now = self._action("Sync now", "sync-now", self.sync_now_requested.emit)
        now.setEnabled(status.configured and not self.model.syncing)
        if status.quarantined:
            from ui.quarantine import rejected_line

            self._action(
                f"{rejected_line(status.quarantined)}…",
                "quarantine",
                self.quarantine_requested.emit,
            )

    def sync_line(self) -> str:
        if self.model.syncing and self.model.sync.configured:
            return "Syncing…"
        return sync_line(self.model.sync, self.model.now())

    def _update_open_menu(self) -> None:
        """A snapshot arrived while the menu is open: update it in place."""
        if self._sync_action is not None:
            self._sync_action.setText(self.sync_line())
            self._sync_action.setToolTip(sync_tooltip(self.model.sync, self.model.tz))
        if self.model.on_break is None and not self.break_menu.isVisible():
            self._fill_break_menu()

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


def _on_dbus_tray() -> bool:
    """Whether Qt shows the icon as a StatusNotifierItem: it does when a
    StatusNotifierWatcher runs on the session bus (KDE, GNOME's
    AppIndicator extension). Asked only when the icon has no geometry, so
    QtDBus loads only then."""
    from PySide6.QtDBus import QDBusConnection

    bus = QDBusConnection.sessionBus()
    interface = bus.interface() if bus.isConnected() else None
    if interface is None:
        return False
    reply = interface.isServiceRegistered(SNI_WATCHER)
    return bool(reply.isValid() and reply.value())


def sync_line(status: SyncStatus, now: datetime) -> str:
    """ "Synced 2 min ago", "Offline — 312 items waiting", "Last upload
    failed: reason", or that no server is set."""
    if not status.configured:
        return NOT_CONNECTED
    if status.last_error is not None and status.offline:
        return f"Offline — {items(status.waiting)}"
    if status.last_error is not None:
        return f"Last upload failed: {shorten(status.last_error, 48)}"
    if status.last_success is None:
        return f"Not synced yet — {items(status.waiting)}"
    line = f"Synced {ago(status.last_success, now)}"
    return f"{line} — {items(status.waiting)}" if status.waiting else line


def sync_tooltip(status: SyncStatus, tz: ZoneInfo) -> str:
    if not status.configured:
        return "No server is set: everything stays on this computer."
    lines = [f"Server: {status.server}"]
    if status.last_success is not None:
        lines.append(
            f"Last success: {status.last_success.astimezone(tz):%Y-%m-%d %H:%M}"
        )
    lines.append(f"Waiting: {status.waiting}; quarantined: {status.quarantined}")
    if status.last_error is not None:
        lines.append(f"Last error: {status.last_error}")
    return "\n".join(lines)
