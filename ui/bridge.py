"""The agent's announcements as Qt signals.

The agent calls its listeners on the scheduler's pool threads. A signal
emitted there reaches slots of objects living on the UI thread through
Qt's queued connection, so widgets only ever run on the UI thread.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from agent.timer import EntryView

log = logging.getLogger(__name__)


class AgentBridge(QObject):
    """Turns ``Agent.add_listener`` callbacks into ``entry_changed``."""

    entry_changed = Signal(object)
    """The running :class:`~agent.timer.EntryView`, or None when stopped."""

    def on_entry(self, entry: EntryView | None) -> None:
        """The agent's listener; called on a scheduler thread."""
        log.debug("entry changed: %s", entry.project if entry else "stopped")
        self.entry_changed.emit(entry)
