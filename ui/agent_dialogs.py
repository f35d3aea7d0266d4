"""The dialogs the agent asks for: the idle prompt, the break countdown, the
break reminder and the screenshot notice.

:class:`AgentDialogs` follows the model's copy of the agent's live state
(:class:`~ui.model.TrayModel`, fed by :class:`~ui.bridge.AgentBridge` on the
UI thread) and shows each dialog when the agent announces something to
show. A break that runs over its allotted length is announced once with a
native notification (``notify``, which the shell hands to the tray), since
the worker may have closed its countdown. The dialogs read that copy
through :class:`DialogService`, so their
once-a-second checks take no lock and touch no store; each closes by itself
when what it shows was resolved elsewhere (the CLI, the no-answer rule, a
natural break), and the announcement that follows opens the next one.

Answers go to the agent on the UI thread, as each dialog's docstring says
(one short transaction, so the dialog can show a refusal in place); the
screenshot notice's Delete goes through the command runner.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDialog, QWidget

from agent.breaks import BreakView
from agent.idle import IdleAnswer, IdlePrompt
from agent.projects import ProjectView
from agent.reminders import Reminder, ReminderAction, ReminderKind
from agent.screenshots import ShotNotice
from agent.service import Agent
from ui.break_countdown import BreakCountdown, used_up
from ui.break_reminder import BreakReminderDialog
from ui.commands import CommandRunner, Done
from ui.idle_prompt import IdlePromptDialog
from ui.model import TrayModel
from ui.preferences import load_preferences
from ui.screenshot_notice import ScreenshotNotices
from ui.services import Services

log = logging.getLogger(__name__)

D = TypeVar("D", bound=QDialog)


class DialogService:
    """The agent as the dialogs see it: reads from the model, never blocking;
    answers through :class:`~ui.services.Services`."""

    def __init__(self, services: Services, model: TrayModel) -> None:
        self._services = services
        self._model = model

    # the idle prompt

    def pending_idle(self) -> IdlePrompt | None:
        return self._model.idle_prompt

    def resolve_idle(self, period_id: int, answer: IdleAnswer) -> None:
        self._services.resolve_idle(period_id, answer)

    def project_choices(self) -> list[ProjectView]:
        return list(self._model.projects)

    # the break countdown

    def current_break(self) -> BreakView | None:
        return self._model.on_break

    def stop_break(self) -> BreakView | None:
        return self._services.stop_break()

    # the break reminder

    def pending_reminder(self) -> Reminder | None:
        return self._model.reminder

    def answer_reminder(
        self, kind: ReminderKind, action: ReminderAction
    ) -> BreakView | None:
        return self._services.answer_reminder(kind, action)


class AgentDialogs(QObject):
    """Shows the agent's dialogs as its announcements arrive."""

    notify = Signal(str, str)
    """A native notification to show: title, message."""
    # A break's overrun, from an agent thread to this one.
    _overran = Signal(object)

    def __init__(
        self,
        services: Services,
        model: TrayModel,
        runner: CommandRunner,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.services = services
        self.model = model
        self.runner = runner
        self.service = DialogService(services, model)
        self.idle_dialog: IdlePromptDialog | None = None
        self.countdown: BreakCountdown | None = None
        self.reminder_dialog: BreakReminderDialog | None = None
        self.notices = ScreenshotNotices(self._delete_screenshot, services.now)
        # Idle periods whose dialog was closed: not shown again by itself
        # (the tray menu offers them), or an answered one would come back
        # before the agent's announcement of the next.
        self._closed_periods: set[int] = set()
        model.idle_prompt_changed.connect(self._on_idle_prompt)
        model.break_changed.connect(self._on_break)
        model.reminder_changed.connect(self._on_reminder)
        self._overran.connect(self._on_overrun, Qt.ConnectionType.QueuedConnection)

    def listen(self, agent: Agent) -> None:
        agent.add_screenshot_listener(self._on_screenshot)
        # Once per break, on an agent thread (agent.breaks.Breaks).
        agent.breaks.add_overrun_listener(self._overran.emit)

    def _on_screenshot(self, notice: ShotNotice) -> None:
        """On the screenshot thread: a notice unless the worker turned them
        off in Settings (read now, so a change applies to the next shot)."""
        if not load_preferences(self.services.paths).screenshot_notifications:
            log.debug("screenshot notice not shown: turned off in Settings")
            return
        self.notices.bridge.on_notice(notice)

    # the idle prompt

    def _on_idle_prompt(self, prompt: IdlePrompt | None) -> None:
        if prompt is None or prompt.period_id in self._closed_periods:
            return
        self.show_idle_prompt(prompt)

    def show_idle_prompt(self, prompt: IdlePrompt | None = None) -> None:
        """Show ``prompt`` (default: the pending one) unless one is open."""
        prompt = prompt or self.model.idle_prompt
        if prompt is None:
            return
        open_dialog = _visible(self.idle_dialog)
        if open_dialog is not None:
            # A different period: the open one closes itself (answered
            # elsewhere) and its ``finished`` brings this one.
            if open_dialog.prompt.period_id == prompt.period_id:
                _front(open_dialog)
            return
        _discard(self.idle_dialog)
        dialog = IdlePromptDialog(self.service, prompt)
        dialog.finished.connect(lambda _result: self._idle_closed(dialog))
        self.idle_dialog = dialog
        log.info("idle prompt shown for period %d", prompt.period_id)
        _front(dialog)

    def _idle_closed(self, dialog: IdlePromptDialog) -> None:
        self._closed_periods.add(dialog.prompt.period_id)
        following = self.model.idle_prompt
        if following is not None and following.period_id not in self._closed_periods:
            self.show_idle_prompt(following)

    # the break countdown

    def _on_break(self, view: BreakView | None) -> None:
        countdown = self.countdown
        if countdown is not None and countdown.isVisible():
            if view is not None and view.id == countdown.view.id:
                return
            countdown.refresh()  # closes it: the break it counts is over
        if view is None:
            return
        if countdown is not None:
            countdown.deleteLater()
        self.countdown = BreakCountdown(self.service, view, now=self.services.now)
        log.info("break countdown shown for %r", view.policy)
        self.countdown.show()
        self.countdown.raise_()

    def _on_overrun(self, view: BreakView) -> None:
        log.info("break %r overran: the worker is told", view.policy)
        self.notify.emit(
            f"Time is up for your {view.policy} break", used_up(view, sentence=True)
        )

    # the break reminder

    def _on_reminder(self, reminder: Reminder | None) -> None:
        dialog = _visible(self.reminder_dialog)
        if reminder is None:
            return  # an open dialog sees it and closes itself
        if dialog is not None and dialog.reminder.kind is reminder.kind:
            return
        if dialog is not None:
            dialog.reject()
        _discard(self.reminder_dialog)
        self.reminder_dialog = BreakReminderDialog(self.service, reminder)
        log.info("break reminder shown: %s", reminder.kind)
        _front(self.reminder_dialog)

    # screenshots

    def _delete_screenshot(self, shot_id: int, done: Done) -> None:
        self.runner.run(
            "delete screenshot", lambda: self.services.delete_screenshot(shot_id), done
        )

    def close_all(self) -> None:
        """At quit: close every dialog and delete it on this thread."""
        widgets = (self.idle_dialog, self.countdown, self.reminder_dialog)
        for widget in (*widgets, self.notices.current):
            if widget is not None:
                widget.close()
                widget.deleteLater()
        self.idle_dialog = self.countdown = self.reminder_dialog = None
        self.notices.current = None


def _visible(dialog: D | None) -> D | None:
    return dialog if dialog is not None and dialog.isVisible() else None


def _discard(widget: QWidget | None) -> None:
    if widget is not None:
        widget.deleteLater()


def _front(widget: QWidget) -> None:
    widget.show()
    widget.raise_()
    widget.activateWindow()
