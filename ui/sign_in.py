"""Sign-in from the Settings dialog, as ``punchclock sync login`` does it.

"Sign in…" takes the server address from the dialog's field and asks for
the organisation's enrollment key (the one the lead hands out, the CLI's
``--key``); the sign-in itself (a request to the server, the token kept in
the OS keyring, what waits queued for upload) runs on the command runner's
thread through :meth:`ui.services.Services.sign_in`. The row says what came
of it; a refusal is also shown by the runner as every failed command is.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

if TYPE_CHECKING:
    from sync.signin import SignedIn
    from ui.commands import CommandRunner
    from ui.services import Services

log = logging.getLogger(__name__)

COMMAND = "sign in"
ERROR_STYLE = "color: #b91c1c"


class SignInRow(QWidget):
    """A "Sign in…" button and what the last sign-in came to."""

    def __init__(self, server_url: QLineEdit, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._server_url = server_url
        self._runner: CommandRunner | None = None
        self._services: Services | None = None
        self.key_dialog: QInputDialog | None = None
        self.button = QPushButton("Sign &in…", self)
        self.button.setToolTip(
            "Sign this computer in to the server above with your "
            "organisation's enrollment key (ask your lead)"
        )
        self.button.setEnabled(False)
        self.button.clicked.connect(self.ask_key)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addWidget(self.status, 1)

    def connect_to(self, runner: CommandRunner, services: Services) -> None:
        """Sign-in needs the command runner and the services; until then the
        button stays disabled."""
        self._runner = runner
        self._services = services
        runner.failed.connect(self._failed)
        self.button.setEnabled(True)

    def ask_key(self) -> None:
        url = self._server_url.text().strip()
        if not url:
            self._say("Type the server address first.", error=True)
            return
        ask = QInputDialog(self)
        ask.setWindowTitle("Punchclock — sign in")
        ask.setLabelText(f"Enrollment key for {url} (your lead has it):")
        ask.setTextEchoMode(QLineEdit.EchoMode.Password)
        ask.textValueSelected.connect(lambda key: self._key_given(url, key))
        if self.key_dialog is not None:
            self.key_dialog.deleteLater()
        self.key_dialog = ask
        ask.open()

    def _key_given(self, url: str, key: str) -> None:
        key = key.strip()
        if not key:
            self._say("The enrollment key is needed: ask your lead for it.", True)
            return
        if self._runner is None or self._services is None:
            return
        services = self._services
        self.button.setEnabled(False)
        self._say(f"Signing in to {url}…")
        log.info("signing in to %s from Settings", url)
        self._runner.run(COMMAND, lambda: services.sign_in(url, key), self._done)

    def _done(self, done: SignedIn) -> None:
        self.button.setEnabled(True)
        text = f"Signed in to {done.url}; token kept in {done.token_kept_in}."
        if done.queued:
            text += f" {done.queued} record(s) from before are queued for upload."
        self._say(text)

    def _failed(self, name: str, message: str) -> None:
        if name != COMMAND:
            return
        self.button.setEnabled(True)
        self._say(message, error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.status.setStyleSheet(ERROR_STYLE if error else "")
        self.status.setText(text)
