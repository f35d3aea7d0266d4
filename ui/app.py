"""``punchclock`` with no command: the tray app.

Start-up, in order: paths, settings and logging; the Qt application; the
single-instance claim (a second launch raises the first and exits); the
store and the agent, with capture only when the worker has consented; then
the tray icon — or the main window, when there is no tray yet. SIGINT and
SIGTERM quit cleanly through Qt's event loop.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys

from PySide6.QtCore import QSocketNotifier
from PySide6.QtWidgets import QApplication, QMessageBox

from agent.capturing import CaptureSet
from agent.clock import SystemClock
from agent.consent import capture_consented
from agent.errors import PunchclockError
from agent.instance import AlreadyRunningError, InstanceLock
from agent.logs import configure_logging
from agent.paths import Paths
from agent.service import Agent, AgentConfig
from agent.settings import Settings, load_settings
from agent.store import Store
from ui.autostart import create_autostart
from ui.bridge import AgentBridge
from ui.capture_switch import CaptureSwitch
from ui.commands import CommandRunner
from ui.services import Services
from ui.shell import Shell
from ui.single_instance import SingleInstance, server_name

log = logging.getLogger(__name__)


def run_tray_app(argv: list[str] | None = None) -> int:
    paths = Paths.from_env()
    paths.ensure()
    loaded = load_settings(paths)
    configure_logging(paths, console=False, level=loaded.settings.logging.level)
    for problem in loaded.problems:
        log.warning("%s", problem)

    app = _application(argv)
    instance = SingleInstance(server_name(paths.data_dir))
    if not instance.claim():
        return 0

    store = Store.open(paths.database)
    agent = _agent(paths, store, loaded.settings)
    if agent is None:
        store.close()
        return 1

    runner = CommandRunner()
    services = Services.for_agent(agent, loaded.settings)
    capture = CaptureSwitch(agent, loaded.settings)
    shell = Shell(services, runner, capture, create_autostart())
    bridge = AgentBridge()
    bridge.entry_changed.connect(shell.on_entry)
    agent.add_listener(bridge.on_entry)
    instance.raise_requested.connect(shell.window.bring_to_front)
    shell.start()
    log.info("tray app running (pid %d)", os.getpid())

    with _SignalQuit(shell):
        code = app.exec()
    _shut_down(agent, store, runner, instance)
    return int(code)


def _application(argv: list[str] | None) -> QApplication:
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Punchclock")
    app.setOrganizationName("Punchclock")
    app.setDesktopFileName("punchclock")
    # The app lives in the tray: closing the last window must not quit it.
    app.setQuitOnLastWindowClosed(False)
    return app


def _agent(paths: Paths, store: Store, settings: Settings) -> Agent | None:
    clock = SystemClock()
    capture = None
    if capture_consented(store, clock, settings):
        capture = CaptureSet.from_settings(settings.capture, clock)
    config = AgentConfig(flush_seconds=settings.timer.flush_seconds)
    agent = Agent(paths, store, clock, config, capture)
    try:
        agent.start()
    except AlreadyRunningError:
        pid = InstanceLock(paths.lock_file).holder_pid()
        _tell(
            "A Punchclock agent is already running for this user "
            f"(pid {pid or 'unknown'}), probably `punchclock agent` in a "
            "terminal. Stop it, then start Punchclock again."
        )
        return None
    return agent


def _tell(message: str) -> None:
    log.error("%s", message)
    QMessageBox.critical(None, "Punchclock", message)


def _shut_down(
    agent: Agent, store: Store, runner: CommandRunner, instance: SingleInstance
) -> None:
    runner.wait(10_000)
    try:
        agent.stop()
    except PunchclockError:
        log.exception("the agent did not stop cleanly")
    store.close()
    instance.release()
    log.info("tray app stopped")


class _SignalQuit:
    """SIGINT/SIGTERM wake Qt's loop through a socket pair and quit the shell.

    Python runs signal handlers only between bytecodes; while Qt waits in C
    nothing would run. ``signal.set_wakeup_fd`` writes to a socket Qt
    watches, so a signal costs nothing until it comes.
    """

    def __init__(self, shell: Shell) -> None:
        self._shell = shell
        self._reader, self._writer = socket.socketpair()
        self._notifier: QSocketNotifier | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> None:
        self._reader.setblocking(False)
        self._writer.setblocking(False)
        signal.set_wakeup_fd(self._writer.fileno())
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._on_signal)
        self._notifier = QSocketNotifier(
            self._reader.fileno(), QSocketNotifier.Type.Read
        )
        self._notifier.activated.connect(self._drain)

    def __exit__(self, *_: object) -> None:
        signal.set_wakeup_fd(-1)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._reader.close()
        self._writer.close()

    def _on_signal(self, signum: int, _: object) -> None:
        log.info("signal %s received; quitting", signal.Signals(signum).name)
        self._shell.quit()

    def _drain(self) -> None:
        try:
            self._reader.recv(64)
        except OSError:
            return
