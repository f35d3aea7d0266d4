"""Work-limit and budget notices (:mod:`agent.allowance`) as tray
notifications: the agent's listener only emits a signal, and the queued
connection shows the notification later, on the UI thread."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal

from agent.allowance import Allowance, Notice

if TYPE_CHECKING:
    from ui.tray import TrayIcon

log = logging.getLogger(__name__)


class AllowanceNotices(QObject):
    noticed = Signal(object)
    """A :class:`~agent.allowance.Notice`."""

    def __init__(self, tray: TrayIcon, agent: object) -> None:
        super().__init__(tray)
        self._tray = tray
        self.noticed.connect(self._show, Qt.ConnectionType.QueuedConnection)
        allowance = getattr(agent, "allowance", None)
        if isinstance(allowance, Allowance):
            allowance.add_listener(self.noticed.emit)

    def _show(self, notice: Notice) -> None:
        log.info("showing notice: %s", notice.title)
        self._tray.notify(notice.title, notice.message)
