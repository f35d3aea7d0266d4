"""The agent's announcements as Qt signals.

The agent calls its listeners on its own threads (the scheduler's pool, the
screenshot worker) or on the thread that made a change (the command
runner's, for the tray's own breaks). Each listener only emits a signal;
:meth:`AgentBridge.connect_model` connects them to the model with
``QueuedConnection``, so the slots always run later on the UI thread and
never inside the agent's call.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal

from agent.breaks import BreakView
from agent.idle import IdlePrompt
from agent.reminders import Reminder
from agent.timer import EntryView
from capture.base import CaptureHealth

if TYPE_CHECKING:
    from agent.service import Agent
    from ui.model import TrayModel

log = logging.getLogger(__name__)

QUEUED = Qt.ConnectionType.QueuedConnection


class AgentBridge(QObject):
    """Turns the agent's listener callbacks into signals."""

    entry_changed = Signal(object)
    """The running :class:`~agent.timer.EntryView`, or None when stopped."""
    away_changed = Signal(bool)
    """Whether an idle period is open (the worker has not come back)."""
    break_changed = Signal(object)
    """The open :class:`~agent.breaks.BreakView`, or None."""
    idle_prompt_changed = Signal(object)
    """The pending :class:`~agent.idle.IdlePrompt`, or None."""
    reminder_changed = Signal(object)
    """The :class:`~agent.reminders.Reminder` to show, or None."""
    health_changed = Signal(object)
    """Every capture source's :class:`~capture.base.CaptureHealth`, a tuple."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._agent: Agent | None = None

    def listen(self, agent: Agent) -> None:
        """Register the listeners; once, before the agent's jobs run."""
        self._agent = agent
        agent.add_listener(self.on_entry)
        agent.add_idle_listener(self.on_idle_prompt)
        agent.add_break_listener(self.on_break)
        agent.add_reminder_listener(self.on_reminder)
        agent.add_health_listener(self.on_health)

    def connect_model(self, model: TrayModel) -> None:
        self.away_changed.connect(model.set_away, QUEUED)
        self.break_changed.connect(model.set_break, QUEUED)
        self.idle_prompt_changed.connect(model.set_idle_prompt, QUEUED)
        self.reminder_changed.connect(model.set_reminder, QUEUED)
        self.health_changed.connect(model.set_health, QUEUED)

    # the listeners, on the agent's threads

    def on_entry(self, entry: EntryView | None) -> None:
        # Away first: an entry cut by idle detection is not "stopped".
        self._emit_away()
        log.debug("entry changed: %s", entry.project if entry else "stopped")
        self.entry_changed.emit(entry)

    def on_idle_prompt(self, prompt: IdlePrompt | None) -> None:
        self._emit_away()
        log.debug("idle prompt: %s", prompt.period_id if prompt else "none")
        self.idle_prompt_changed.emit(prompt)

    def on_break(self, view: BreakView | None) -> None:
        log.debug("break: %s", view.policy if view else "none")
        self.break_changed.emit(view)

    def on_reminder(self, reminder: Reminder | None) -> None:
        log.debug("reminder: %s", reminder.kind if reminder else "none")
        self.reminder_changed.emit(reminder)

    def on_health(self, health: list[CaptureHealth]) -> None:
        log.debug("capture health: %s", [str(item.state) for item in health])
        self.health_changed.emit(tuple(health))

    def _emit_away(self) -> None:
        if self._agent is not None:
            # The idle monitor's lock may wait for its write: fine here, on
            # the agent's thread; the UI thread only gets the answer.
            self.away_changed.emit(self._agent.idle.away)
