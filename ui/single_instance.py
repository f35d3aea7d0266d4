"""One tray app per user and store: a second launch raises the first.

The first instance listens on a local socket (a Unix socket in the user's
runtime directory, a named pipe on Windows) whose name is derived from the
user and the data directory. A later launch connects, says ``raise`` and
exits; the first instance shows its main window. A socket file left by a
crashed instance is removed before listening (nobody answers on it).
"""

from __future__ import annotations

import getpass
import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

CONNECT_MS = 500
RAISE_MESSAGE = b"raise\n"


def server_name(data_dir: Path) -> str:
    digest = hashlib.sha256(str(data_dir.absolute()).encode()).hexdigest()[:12]
    return f"punchclock-{getpass.getuser()}-{digest}"


class SingleInstance(QObject):
    """Claims the instance, or hands the launch over to the one that has it."""

    raise_requested = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server: QLocalServer | None = None
        self._sockets: set[QLocalSocket] = set()

    def claim(self) -> bool:
        """True when this process is the instance; False after asking the other."""
        if self.ask_running_to_raise():
            log.info("another Punchclock runs (%s); asked it to show itself", self.name)
            return False
        QLocalServer.removeServer(self.name)
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.name):
            log.warning(
                "cannot listen on %s (%s); a second launch will not find this one",
                self.name,
                server.errorString(),
            )
            return True
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def ask_running_to_raise(self) -> bool:
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(CONNECT_MS):
            return False
        socket.write(RAISE_MESSAGE)
        socket.waitForBytesWritten(CONNECT_MS)
        socket.disconnectFromServer()
        return True

    def release(self) -> None:
        for socket in list(self._sockets):
            socket.abort()
        self._sockets.clear()
        if self._server is not None:
            self._server.close()
            self._server = None

    def _on_connection(self) -> None:
        if self._server is None:
            return
        while (socket := self._server.nextPendingConnection()) is not None:
            self._sockets.add(socket)
            socket.readyRead.connect(self._on_ready_read)
            socket.disconnected.connect(self._on_disconnected)
            if socket.bytesAvailable():
                self._read(socket)

    def _on_ready_read(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._read(socket)

    def _on_disconnected(self) -> None:
        socket = self.sender()
        if isinstance(socket, QLocalSocket):
            self._sockets.discard(socket)
            socket.deleteLater()

    def _read(self, socket: QLocalSocket) -> None:
        data = bytes(socket.readAll().data())
        if RAISE_MESSAGE.strip() in data:
            log.info("a second launch asked this instance to show itself")
            self.raise_requested.emit()
