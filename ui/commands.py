"""One command path: actions run off the UI thread, errors become a dialog.

Every action that touches the store goes through :meth:`CommandRunner.run`:
the call runs on a pool thread (a write may wait for another process's
lock), its result comes back on the UI thread through a queued signal, and
a :class:`~agent.errors.PunchclockError` is shown to the worker as the
message it carries. Anything else is logged with its traceback and shown
as an unexpected error.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from agent.errors import PunchclockError

log = logging.getLogger(__name__)

Done = Callable[[Any], None]


class _Carrier(QObject):
    finished = Signal(int, object)
    failed = Signal(int, str, bool)


class _Job(QRunnable):
    """One command on a pool thread.

    The job lets go of its call before reporting, and the runner holds the
    call until the report arrives: the last reference to whatever the call
    captured (widgets, the shell) is dropped on the UI thread, never here,
    where deleting a QObject with timers breaks Qt.
    """

    def __init__(self, token: int, call: Callable[[], Any], carrier: _Carrier):
        super().__init__()
        self._token = token
        self._call: Callable[[], Any] | None = call
        self._carrier = carrier

    def run(self) -> None:
        call, self._call = self._call, None
        if call is None:
            return
        try:
            result = call()
        except PunchclockError as error:
            self._carrier.failed.emit(self._token, str(error), False)
        except Exception as error:
            log.exception("unexpected error in a tray command")
            del call
            self._carrier.failed.emit(self._token, repr(error), True)
        else:
            del call
            self._carrier.finished.emit(self._token, result)


class CommandRunner(QObject):
    """Runs store work on a pool thread and reports back on the UI thread."""

    finished = Signal(str, object)
    """(command name, result) after a command succeeded."""
    failed = Signal(str, str)
    """(command name, message) after a command failed; the dialog is shown."""

    def __init__(self, parent: QObject | None = None, *, show_errors: bool = True):
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # commands apply in the order given
        self._carrier = _Carrier()
        self._carrier.finished.connect(self._on_finished)
        self._carrier.failed.connect(self._on_failed)
        self._pending: dict[int, tuple[str, Done | None, Callable[[], Any]]] = {}
        self._tokens = itertools.count()
        self._show_errors = show_errors
        self.dialog_parent: QWidget | None = None

    def run(self, name: str, call: Callable[[], Any], done: Done | None = None) -> None:
        token = next(self._tokens)
        self._pending[token] = (name, done, call)
        log.debug("command %s queued", name)
        self._pool.start(_Job(token, call, self._carrier))

    @property
    def idle(self) -> bool:
        """No command queued, running, or waiting for its result's delivery."""
        return not self._pending

    def wait(self, msecs: int = 5000) -> bool:
        """Block until queued commands ran (shutdown and tests)."""
        return bool(self._pool.waitForDone(msecs))

    def _on_finished(self, token: int, result: object) -> None:
        name, done, _call = self._pending.pop(token)
        if done is not None:
            done(result)
        self.finished.emit(name, result)

    def _on_failed(self, token: int, message: str, unexpected: bool) -> None:
        name, _done, _call = self._pending.pop(token)
        if unexpected:
            message = (
                f"Something unexpected went wrong ({message}). The details are "
                "in the log file; `punchclock doctor` shows where it is."
            )
        log.warning("command %s failed: %s", name, message)
        self.failed.emit(name, message)
        if self._show_errors:
            QMessageBox.warning(self.dialog_parent, "Punchclock", message)
