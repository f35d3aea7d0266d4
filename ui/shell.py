"""The tray app's controller: wires the model, the tray, the windows and
the services together, and is the one place user requests become commands.

Widgets emit requests; :class:`Shell` runs them through
:class:`~ui.commands.CommandRunner` (off the UI thread, errors as dialogs)
and refreshes the model when they are done. With an agent, :meth:`Shell.
start` registers the agent's listeners (:class:`~ui.bridge.AgentBridge`)
and the dialogs it asks for (:class:`~ui.agent_dialogs.AgentDialogs`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QInputDialog,
    QMessageBox,
    QSystemTrayIcon,
    QWidget,
)

from agent.consent import ConsentState
from agent.errors import UserError
from agent.policy import Effective, load_effective, server_policy_stamp
from agent.timer import EntryView
from capture.base import CaptureHealth
from ui.agent_dialogs import AgentDialogs
from ui.autostart import Autostart
from ui.bridge import QUEUED, AgentBridge
from ui.capture_switch import CaptureSwitch
from ui.commands import CommandRunner
from ui.formatting import source_label
from ui.global_shortcut import (
    GlobalShortcut,
    ShortcutError,
    ShortcutUnavailable,
    create_global_shortcut,
    parse_shortcut,
)
from ui.main_window import MainWindow
from ui.model import TrayModel
from ui.notices import RecoveryNotice, load_notice, save_notice
from ui.preferences import Preferences, load_preferences, save_preferences
from ui.services import Choice, Services
from ui.tray import TrayIcon

if TYPE_CHECKING:
    from agent.service import Agent
    from sync.outbox import Quarantined

    # The dialogs load when first opened: a tray app that only sits in the
    # tray never needs their modules (BRIEF P2).
    from ui.collected import CollectedNow, CollectedWindow
    from ui.consent_dialog import ConsentDialog
    from ui.picker import PickerDialog
    from ui.quarantine import QuarantineDialog
    from ui.settings_dialog import SettingsChoice, SettingsDialog
    from ui.timeline import TimelineWindow

log = logging.getLogger(__name__)

# A change the agent announces this soon after our own command is ours.
OWN_CHANGE_S = 3.0
CONSENT_POLL_MS = 2000
# Beside each field a policy sets, in the settings dialog.
POLICY_LOCK = "set by your organisation's policy"


class Shell(QObject):
    """Everything the tray app shows, and what happens when the worker acts."""

    quitting = Signal()

    def __init__(
        self,
        services: Services,
        runner: CommandRunner,
        capture: CaptureSwitch | None,
        autostart: Autostart,
        *,
        locked: dict[str, str] | None = None,
        ask_consent: bool = True,
        icon: QSystemTrayIcon | None = None,
        shortcut: GlobalShortcut | None = None,
    ) -> None:
        super().__init__()
        self.services = services
        self.runner = runner
        self.capture = capture
        self.autostart = autostart
        self.locked = locked or {}
        self.preferences = load_preferences(services.paths)
        self.model = TrayModel(services, runner, self)
        self.tray = TrayIcon(self.model, self, icon=icon)
        self.window = MainWindow(self.model)
        self.runner.dialog_parent = self.window
        self.dialogs = AgentDialogs(services, self.model, runner, self)
        self.bridge = AgentBridge(self)
        self.collected: CollectedWindow | None = None
        self.picker: PickerDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.consent_dialog: ConsentDialog | None = None
        self.timeline: TimelineWindow | None = None
        self.quarantine: QuarantineDialog | None = None
        self.shortcut = shortcut or create_global_shortcut(
            QGuiApplication.platformName(), parent=self
        )
        self.shortcut_note = ""
        """What the settings dialog says about the shortcut (works, or why not)."""
        self._own_until = 0.0
        self._data_version = -1
        self._consent_marker: str | None = None
        self._asked_consent = not ask_consent
        self._consent_asked_in = ConsentState.NEEDED
        self._policy_stamp = server_policy_stamp(services.paths)
        self._connect()

    def _connect(self) -> None:
        for source in (self.tray, self.window):
            source.start_requested.connect(self._start_from)
            source.stop_requested.connect(self.stop)
            source.picker_requested.connect(self.open_picker)
            source.collected_requested.connect(self.open_collected)
            source.settings_requested.connect(self.open_settings)
            source.timeline_requested.connect(self.open_timeline)
        self.tray.note_requested.connect(self.ask_note)
        self.window.note_requested.connect(self.set_note)
        self.window.end_break_requested.connect(self.end_break)
        self.tray.open_requested.connect(self.window.bring_to_front)
        self.tray.quit_requested.connect(self.request_quit)
        self.tray.break_requested.connect(self.take_break)
        self.tray.end_break_requested.connect(self.end_break)
        self.tray.sync_now_requested.connect(self.sync_now)
        self.tray.quarantine_requested.connect(self.open_quarantine)
        self.tray.idle_prompt_requested.connect(self.dialogs.show_idle_prompt)
        self.dialogs.notify.connect(self.tray.notify)  # a break's overrun
        self.tray.tray_missing.connect(self.window.bring_to_front)
        self.tray.recovered_requested.connect(self.window.bring_to_front)
        self.window.recovery_seen_requested.connect(self.recovery_seen)
        self.model.entry_changed_elsewhere.connect(self._on_entry_elsewhere)
        self.model.changed.connect(self._after_change)
        self.model.capture_failed.connect(self._tell_capture_failed)
        self.shortcut.activated.connect(self.toggle_timer)
        self._consent_poll = QTimer(self)
        self._consent_poll.setInterval(CONSENT_POLL_MS)
        self._consent_poll.timeout.connect(self._poll_consent)

    def start(self) -> None:
        """Show the icon (or the window, without a tray) and load the state."""
        self.tray.attach()
        if self.services.agent is not None:
            self.listen(self.services.agent)
        self.model.refresh()
        self.runner.run("recovery", self._read_recovery, self._show_recovery)
        self.apply_shortcut()
        self._consent_poll.start()

    def listen(self, agent: Agent) -> None:
        """Follow the agent's announcements, then read what it holds now (a
        break or an idle prompt left from before a restart)."""
        self.bridge.listen(agent)
        self.bridge.connect_model(self.model)
        self.bridge.entry_changed.connect(self.on_entry, QUEUED)
        self.dialogs.listen(agent)
        self.runner.run("live state", self.services.live_state, self.model.seed)

    def on_entry(self, entry: EntryView | None) -> None:
        """Slot for the agent bridge."""
        if time.monotonic() < self._own_until:
            self.model.expect(entry)
        self.model.on_entry(entry)

    # the timer

    def _start_from(self, choice: Choice, note: str | None = None) -> None:
        self.start_timer(choice, note)

    def start_timer(
        self, choice: Choice, note: str | None = None, *, new: bool = False
    ) -> None:
        def call() -> EntryView:
            target = choice
            if new:
                target = self.services.add_project(choice.project, choice.task)
            return self.services.start(target, note or None)

        self._command("start", call)

    def stop(self) -> None:
        self._command("stop", self.services.stop)

    def toggle_timer(self) -> None:
        """The global shortcut: stop what runs, or start the last project.

        On a break it ends the break (the timer resumes); with nothing
        recent to start, the picker opens. A notification says what
        happened: the worker pressed it in another app.
        """
        if self.model.on_break is not None:
            self.end_break()
            return
        if self.model.current is not None:
            self._command("stop", self.services.stop, self._tell_stopped)
            return
        last = self.model.recent[0] if self.model.recent else None
        if last is None:
            self.window.bring_to_front()
            self.open_picker()
            return
        self._command("start", lambda: self.services.start(last), self._tell_started)

    def _tell_started(self, entry: EntryView) -> None:
        if self.preferences.notifications:
            self.tray.notify("Punchclock", f"Timer started on {_what(entry)}.")

    def _tell_stopped(self, entry: EntryView | None) -> None:
        if self.preferences.notifications and entry is not None:
            self.tray.notify("Punchclock", f"Timer stopped on {_what(entry)}.")

    def _tell_capture_failed(self, health: CaptureHealth) -> None:
        """Once per fault: which source stopped and how to fix it."""
        if self.preferences.notifications:
            self.tray.notify("Punchclock — capture problem", capture_notice(health))

    def apply_shortcut(self) -> None:
        """(Re-)register the start/stop shortcut the preferences name."""
        self.shortcut.unregister()
        self.tray.shortcut_hint = ""
        text = self.preferences.global_shortcut
        try:
            shortcut = parse_shortcut(text)
        except ShortcutError as error:
            self.shortcut_note = f"The shortcut cannot be used: {error}."
            log.warning("global shortcut not registered: %s", error)
            return
        if shortcut is None:
            self.shortcut_note = ""
            return
        try:
            self.shortcut.register(shortcut)
        except ShortcutUnavailable as error:
            self.shortcut_note = f"{shortcut.text} does not work here: {error}"
            log.warning("global shortcut %s not registered: %s", shortcut.text, error)
            return
        self.shortcut_note = f"{shortcut.text} works in every app."
        self.tray.shortcut_hint = shortcut.text

    def set_note(self, note: str) -> None:
        self._command("note", lambda: self.services.set_note(note))

    def ask_note(self) -> None:
        entry = self.model.current
        if entry is None:
            return
        text, ok = QInputDialog.getText(
            self.window, "Punchclock — note", f"Note for {entry.project}:"
        )
        if ok:
            self.set_note(text)

    # breaks and sync

    def take_break(self, policy: str) -> None:
        self._command("break", lambda: self.services.start_break(policy))

    def end_break(self) -> None:
        self._command("end break", self.services.stop_break)

    def sync_now(self) -> None:
        """The upload itself runs on the agent's scheduler; the line says
        "Syncing…" until the published state shows an attempt."""
        self.model.mark_syncing()
        self.runner.run("sync now", self.services.sync_now)

    def open_quarantine(self) -> None:
        """The records the server rejected, read off the UI thread."""
        self.runner.run("quarantined", self.services.quarantined, self._show_quarantine)

    def _show_quarantine(self, items: list[Quarantined]) -> None:
        from ui.quarantine import QuarantineDialog

        dialog = QuarantineDialog(items, self.model.tz, self._dialog_parent())
        dialog.retry_requested.connect(self.retry_quarantined)
        _present(dialog, self.quarantine)
        self.quarantine = dialog

    def retry_quarantined(self) -> None:
        """As `punchclock sync --retry`, through the command runner."""
        self.model.mark_syncing()

        def done(_released: int) -> None:
            self.model.refresh()
            if self.quarantine is not None and self.quarantine.isVisible():
                self.runner.run(
                    "quarantined", self.services.quarantined, self._quarantine_read
                )

        self.runner.run("retry quarantined", self.services.retry_quarantined, done)

    def _quarantine_read(self, items: list[Quarantined]) -> None:
        if self.quarantine is not None:
            self.quarantine.show_items(items, self.model.tz)

    def _command(
        self,
        name: str,
        call: Callable[[], Any],
        then: Callable[[Any], None] | None = None,
    ) -> None:
        def done(result: Any) -> None:
            self.model.refresh()
            if then is not None:
                then(result)

        self._own_until = time.monotonic() + OWN_CHANGE_S
        self.runner.run(name, call, done)

    # windows

    def open_picker(self) -> None:
        from ui.picker import PickerDialog

        picker = PickerDialog(self.services_choices(), self._dialog_parent())
        picker.accepted.connect(lambda: self._picked(picker))
        _present(picker, self.picker)
        self.picker = picker

    def _picked(self, picker: PickerDialog) -> None:
        if picker.choice is not None:
            self.start_timer(picker.choice, new=picker.is_new)

    def services_choices(self) -> list[Choice]:
        choices: list[Choice] = []
        for project in self.model.projects:
            choices.append(Choice(project.name))
            choices += [Choice(project.name, task.name) for task in project.tasks]
        return choices

    def open_collected(self) -> None:
        from ui.collected import CollectedWindow

        if self.collected is None:
            self.collected = CollectedWindow()
            self.collected.refresh_requested.connect(self._refresh_collected)
            self.collected.consent_change_requested.connect(self._change_consent)
            self.collected.delete_requested.connect(self.delete_screenshot)
        self.collected.show()
        self.collected.raise_()
        self.collected.activateWindow()

    def _refresh_collected(self) -> None:
        from ui.collected import CollectedNow
        from ui.screenshot_notice import read_images

        def snapshot() -> CollectedNow:
            shot = self.services.last_capture()
            return CollectedNow(
                self.services.collection(),
                self.services.consent_state(),
                tuple(self.services.capture_health()),
                self.services.sync_status(),
                shot,
                tuple(read_images(shot.thumbnails)) if shot else (),
                self.services.tz(),
                self.services.now(),
                self.services.screenshot_grace_seconds(),
            )

        window = self.collected
        if window is not None:
            self.runner.run("collected", snapshot, window.show_snapshot)

    def delete_screenshot(self, shot_id: int) -> None:
        """The last screenshot, deleted within its grace period; a refusal
        (the grace ran out meanwhile) is said in the window."""

        def call() -> str | None:
            try:
                self.services.delete_screenshot(shot_id)
            except UserError as refusal:
                return str(refusal)
            return None

        def done(refusal: str | None) -> None:
            window = self.collected
            if window is not None:
                window.show_refusal(refusal)
            self._refresh_collected()
            self.model.refresh()

        self.runner.run("delete screenshot", call, done)

    def open_timeline(self) -> None:
        """Today in the worker's zone; the window already open is raised
        (on whichever day the viewer went to), a closed one is let go."""
        window = self.timeline
        if window is None:
            from ui.timeline import TimelineWindow
            from ui.timeline_model import TimelineModel

            today = self.services.now().astimezone(self.services.tz()).date()
            model = TimelineModel(self.services.timeline_source(), today)
            window = TimelineWindow(model)
            window.closed.connect(self._timeline_closed)
            self.timeline = window
            log.info("timeline window opened on %s", today)
        window.show()
        window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
        window.raise_()
        window.activateWindow()

    def _timeline_closed(self) -> None:
        # Its model follows today's store while it exists: let it go.
        window, self.timeline = self.timeline, None
        if window is not None:
            window.deleteLater()

    def open_settings(self) -> None:
        from ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(
            self.services.settings,
            self.preferences,
            self.autostart.enabled(),
            self.locked,
            self._dialog_parent(),
            self.shortcut_note,
        )
        dialog.accepted.connect(lambda: self._settings_chosen(dialog))
        dialog.sign_in.connect_to(self.runner, self.services)
        _present(dialog, self.settings_dialog)
        self.settings_dialog = dialog

    def _settings_chosen(self, dialog: SettingsDialog) -> None:
        if dialog.result_choice is not None:
            self._save_settings(dialog.result_choice)

    def _save_settings(self, choice: SettingsChoice) -> None:
        capture_changed = choice.settings.capture != self.services.settings.capture

        def call() -> Preferences:
            self.services.save_settings(choice.settings, frozenset(self.locked))
            save_preferences(self.services.paths, choice.preferences)
            self.autostart.set(choice.autostart)
            if capture_changed:
                self._restart_capture()
            return choice.preferences

        def saved(preferences: Preferences) -> None:
            if capture_changed:
                # Titles widened by the worker: the consent dialog asks again.
                self._asked_consent = False
            self._settings_saved(preferences)

        self.runner.run("settings", call, saved)

    def _restart_capture(self) -> None:
        """On the runner's thread: new privacy settings apply at once, to
        sources built anew from them (a private app added is never recorded
        after Save)."""
        if self.capture is None:
            return
        self.capture.settings = self.services.settings
        allowed = self.services.consent_state() is ConsentState.GIVEN
        if self.capture.on:
            self.capture.turn_off()
        if allowed:
            self.capture.turn_on()

    def _settings_saved(self, preferences: Preferences) -> None:
        shortcut_changed = preferences.global_shortcut != (
            self.preferences.global_shortcut
        )
        self.preferences = preferences
        if shortcut_changed:
            self.apply_shortcut()
        if self.capture is not None:
            self.capture.settings = self.services.settings
        self.model.refresh()
        if self.collected is not None and self.collected.isVisible():
            self._refresh_collected()

    def _dialog_parent(self) -> QWidget | None:
        return self.window if self.window.isVisible() else None

    # consent

    def ask_consent(self) -> None:
        if self.consent_dialog is not None and self.consent_dialog.isVisible():
            self.consent_dialog.raise_()
            return
        self._consent_asked_in = self.model.consent
        from ui.consent_dialog import ConsentDialog

        dialog = ConsentDialog(self.services.collection(), self.model.consent)
        dialog.finished.connect(lambda _: self._consent_answered(dialog))
        _present(dialog, self.consent_dialog)
        self.consent_dialog = dialog

    def _consent_answered(self, dialog: ConsentDialog) -> None:
        if dialog.answer is not None:
            self._change_consent(dialog.answer, confirmed=True)

    def _change_consent(self, give: bool, *, confirmed: bool = False) -> None:
        if give and not confirmed:
            self.ask_consent()
            return
        if not give and not confirmed and not self._confirm_withdraw():
            return

        def call() -> ConsentState:
            collection = self.services.collection()
            if give:
                self.services.consent.accept(collection)
            else:
                self.services.consent.decline()
            self._apply_capture(give)
            return self.services.consent_state()

        self.runner.run("consent", call, lambda _: self._consent_applied())

    def _confirm_withdraw(self) -> bool:
        answer = QMessageBox.question(
            self.collected,
            "Punchclock",
            "Withdraw your consent? Capture stops now; the timer keeps working.",
        )
        return answer == QMessageBox.StandardButton.Yes

    def _consent_applied(self) -> None:
        self.model.refresh()
        if self.collected is not None and self.collected.isVisible():
            self._refresh_collected()

    def _apply_capture(self, on: bool) -> None:
        """On the runner's thread: start or stop the capture sources."""
        if self.capture is None:
            return
        if on:
            self.capture.turn_on()
        else:
            self.capture.turn_off()

    def _poll_consent(self) -> None:
        """Consent given or withdrawn from the terminal applies within 2 s,
        and so does a new server policy (sync stored it).

        The store's data version is a PRAGMA on a connection of its own,
        microseconds, and the policy's stamp a stat: both are read here, and
        only a change costs a trip to the runner's thread.
        """
        stamp = server_policy_stamp(self.services.paths)
        if stamp != self._policy_stamp:
            self._policy_stamp = stamp
            self.follow_policy()
        version = self.services.data_version()
        if version == self._data_version:
            return
        self._data_version = version
        if self.model.syncing:
            self.model.refresh_sync()
        # Flushes and spans change the version every few seconds; only a
        # changed answer is worth the full read.
        marker = self.services.consent_marker()
        if marker is not None and marker == self._consent_marker:
            return
        self._consent_marker = marker

        def call() -> ConsentState:
            state = self.services.consent_state()
            allowed = state is ConsentState.GIVEN
            if self.capture is not None and self.capture.on != allowed:
                self._apply_capture(allowed)
            return state

        self.runner.run("consent-poll", call, self._on_consent_polled)

    def follow_policy(self) -> None:
        """The server's policy changed while running: take the settings in
        force anew (off the UI thread) and restart capture under them when
        the worker's consent covers what they collect, or stop it and ask
        again when it does not (the consent is then stale)."""

        def call() -> tuple[Effective, Preferences, ConsentState]:
            effective = load_effective(self.services.paths)
            for problem in effective.problems:
                log.warning("%s", problem)
            state = self._apply_policy(effective)
            return effective, load_preferences(self.services.paths), state

        self.runner.run("policy", call, self._policy_followed)

    def _apply_policy(self, effective: Effective) -> ConsentState:
        """On the runner's thread: the new settings, and capture under them."""
        before, settings = self.services.settings, effective.settings
        self.services.settings = settings
        state = self.services.consent_state()
        if self.capture is None:
            return state
        self.capture.settings = settings
        allowed = state is ConsentState.GIVEN
        if settings.capture == before.capture and allowed == self.capture.on:
            return state
        if self.capture.on:
            self.capture.turn_off()
        if allowed:
            self.capture.turn_on()
            log.info("capture restarted under the changed policy")
        else:
            log.warning(
                "the policy now collects more than was consented to: capture "
                "is off until the worker agrees"
            )
        return state

    def _policy_followed(
        self, followed: tuple[Effective, Preferences, ConsentState]
    ) -> None:
        effective, preferences, state = followed
        self.locked = {key: POLICY_LOCK for key in effective.locked}
        if state is ConsentState.STALE and self.model.consent is not state:
            self._asked_consent = False  # the dialog asks about the new policy
        self.model.consent = state
        self._settings_saved(preferences)

    def _on_consent_polled(self, state: ConsentState) -> None:
        if state is self.model.consent:
            return
        self.model.consent = state
        self.model.refresh()

    def _after_change(self) -> None:
        needs = self.model.consent in (ConsentState.NEEDED, ConsentState.STALE)
        if needs and not self._asked_consent and self.model.totals is not None:
            self._asked_consent = True
            self.ask_consent()
        dialog = self.consent_dialog
        changed = self.model.consent is not self._consent_asked_in
        if not needs and changed and dialog is not None and dialog.isVisible():
            # Answered elsewhere (`punchclock consent accept`): nothing to ask.
            log.info("consent answered elsewhere; closing the consent dialog")
            dialog.close()

    # a timer recovered after a crash

    def _read_recovery(self) -> tuple[RecoveryNotice | None, bool]:
        """On the runner's thread: (the notice to show, whether it is new)."""
        paths = self.services.paths
        agent = self.services.agent
        entry = agent.recovered if agent is not None else None
        notice = RecoveryNotice.from_entry(entry) if entry is not None else None
        if notice is None:
            return load_notice(paths), False
        save_notice(paths, notice)
        return notice, True

    def _show_recovery(self, found: tuple[RecoveryNotice | None, bool]) -> None:
        notice, new = found
        self.model.set_recovered(notice)
        if notice is not None and new:
            log.info("telling the worker about the timer recovered after a crash")
            self.tray.notify("Punchclock", notice.text(self.model.tz))

    def recovery_seen(self) -> None:
        self.model.set_recovered(None)
        self.runner.run("recovery seen", lambda: save_notice(self.services.paths, None))

    # notifications and quitting

    def _on_entry_elsewhere(self, entry: EntryView | None) -> None:
        if not self.preferences.notifications:
            return
        if entry is None and (self.model.away or self.model.on_break is not None):
            return  # the idle prompt or the break countdown says it better
        if entry is None:
            self.tray.notify("Punchclock", "The timer was stopped.")
        else:
            what = f"{entry.project} / {entry.task}" if entry.task else entry.project
            self.tray.notify("Punchclock", f"The timer runs on {what}.")

    def request_quit(self) -> None:
        entry = self.model.current
        if entry is not None and not self._confirm_quit(entry):
            return
        if entry is not None:
            self.runner.run("stop", self.services.stop)
        self.quit()

    def _confirm_quit(self, entry: EntryView) -> bool:
        answer = QMessageBox.question(
            self._dialog_parent(),
            "Punchclock",
            f"The timer runs on {entry.project}. Quitting stops it now. Quit?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def quit(self) -> None:
        self._consent_poll.stop()
        self.shortcut.close()
        self.dialogs.close_all()
        self.runner.wait(10_000)
        self.services.close()
        self.tray.icon.hide()
        self.quitting.emit()
        QApplication.quit()


def capture_notice(health: CaptureHealth) -> str:
    """A stopped source's notification: what stopped, why, what to do."""
    reason = health.reason.strip().rstrip(".") or "no reason given"
    text = f"{source_label(health.source)} stopped working: {reason}."
    if health.fix:
        text += f" To fix it: {health.fix.strip().rstrip('.')}."
    return text


def _what(entry: EntryView) -> str:
    return f"{entry.project} / {entry.task}" if entry.task else entry.project


def _present(dialog: QDialog, previous: QDialog | None) -> None:
    """Show a dialog without a nested event loop, in place of its previous one.

    The shell keeps a reference to the dialog it shows last (tests and the
    consent poll look at it), so dialogs are not deleted on close but when
    the next one of their kind replaces them.
    """
    if previous is not None:
        previous.close()
        previous.deleteLater()
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
