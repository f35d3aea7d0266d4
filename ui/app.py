"""``punchclock`` with no command: the tray app.

Start-up, in order: paths, settings and logging; the Qt application; the
single-instance claim (a second launch raises the first and exits); the
tray icon, shown before the agent's modules are even imported, so the
worker sees Punchclock in the tray at once; then the store and the agent;
capture last, off the UI thread and only with the worker's consent. With no
tray yet, the main window shows instead. SIGINT and SIGTERM quit cleanly
through Qt's event loop.
"""

from __future__ import annotations

import gc
import linecache
import logging
import os
import signal
import socket
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon

from agent.logs import configure_logging
from agent.paths import Paths
from agent.policy import Effective, load_effective
from agent.settings import Settings
from ui.display import require_desktop
from ui.icons import TrayState, state_icon
from ui.single_instance import SingleInstance, server_name

if TYPE_CHECKING:
    from agent.service import Agent
    from agent.store import Store
    from ui.autostart import Autostart
    from ui.commands import CommandRunner
    from ui.shell import Shell

log = logging.getLogger(__name__)

GC_CHECK_MS = 1000
# The Settings dialog's name for the autostart field (ui/settings_dialog.py).
AUTOSTART_KEY = "tray.autostart"


def run_tray_app(argv: list[str] | None = None) -> int:
    require_desktop("the tray", "run the headless agent with `punchclock agent`")
    _scan_sources_without_caching()
    paths = Paths.from_env()
    paths.ensure()
    loaded = load_effective(paths)
    configure_logging(paths, console=False, level=loaded.settings.logging.level)
    for problem in loaded.problems:
        log.warning("%s", problem)

    app = _application(argv)
    _UiThreadCollector(app)
    instance = SingleInstance(server_name(paths.data_dir))
    if not instance.claim():
        return 0
    quitter = _Quitter()
    with _SignalQuit(quitter):
        return _run(app, paths, loaded, instance, quitter)


def _run(
    app: QApplication,
    paths: Paths,
    loaded: Effective,
    instance: SingleInstance,
    quitter: _Quitter,
) -> int:
    icon = _early_icon()
    settings = loaded.settings

    from agent.store import Store

    store = Store.open(paths.database)
    agent = _agent(paths, store, settings)
    if agent is None:
        store.close()
        return 1
    locks = {key: "set by your organisation's policy" for key in loaded.locked}
    shell, runner = _shell(agent, settings, icon, locks)
    quitter.shell = shell
    instance.raise_requested.connect(shell.window.bring_to_front)
    log.info("tray app running (pid %d)", os.getpid())

    code = app.exec()
    _shut_down(agent, store, runner, instance)
    return int(code)


class _UiThreadCollector(QObject):
    """Python's cycle collector, run on the UI thread only.

    Left automatic, it runs on whichever thread allocates when a threshold
    is crossed: the agent's or the command runner's. A dialog held in a
    cycle (it and a lambda connected to its signal) would then be deleted
    there, and a QObject with timers deleted off its thread crashes Qt.
    Once a second this collects the generations the thresholds call for.
    """

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(GC_CHECK_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> None:
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self._thresholds[generation]:
                gc.collect(generation)
                return


def _scan_sources_without_caching() -> None:
    """Keep PySide6's import hook from caching every module's source.

    For each module imported after PySide6, its hook looks for "PySide6"
    in the source through ``inspect.getsource``, which keeps the whole
    file in ``linecache``: about 20 MB of the tray app's memory for its
    400-odd modules, never read again, and not given back by clearing the
    cache later (the lines' small strings sit among live objects). The
    hook is described in https://github.com/pyzo/pyzo/pull/851. The same
    search, reading the file without keeping it, replaces it; a PySide6
    without that hook is left as it is.
    """
    feature = sys.modules.get("shibokensupport.feature")
    if feature is None or not callable(getattr(feature, "_mod_uses_pyside", None)):
        log.debug("PySide6 has no source-scanning import hook here")
        return
    feature._mod_uses_pyside = _mentions_pyside  # type: ignore[attr-defined]
    linecache.clearcache()  # what it kept of the modules imported so far


def _mentions_pyside(module: object) -> bool:
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None) or getattr(module, "__file__", None)
    if not isinstance(origin, str) or not origin.endswith(".py"):
        return False
    try:
        with open(origin, "rb") as source:
            return b"PySide6" in source.read()
    except OSError:
        return False


class _Quitter:
    """Quits through the shell once there is one; a signal during start-up
    waits for the event loop (a queued call) instead of killing the process
    between the store's writes."""

    def __init__(self) -> None:
        self.shell: Shell | None = None

    def request(self) -> None:
        QTimer.singleShot(0, self._quit)

    def _quit(self) -> None:
        if self.shell is not None:
            self.shell.quit()
        else:
            QApplication.quit()


def _early_icon() -> QSystemTrayIcon:
    """The icon, in the tray before the agent's modules load (P9)."""
    icon = QSystemTrayIcon(state_icon(TrayState.STOPPED))
    icon.setToolTip("Punchclock — starting…")
    if QSystemTrayIcon.isSystemTrayAvailable():
        icon.show()
    return icon


def _shell(
    agent: Agent, settings: Settings, icon: QSystemTrayIcon, locks: dict[str, str]
) -> tuple[Shell, CommandRunner]:
    from ui.autostart import create_autostart
    from ui.capture_switch import CaptureSwitch
    from ui.commands import CommandRunner
    from ui.services import Services
    from ui.shell import Shell

    runner = CommandRunner()
    services = Services.for_agent(agent, settings)
    capture = CaptureSwitch(agent, settings)
    autostart = create_autostart()
    shell = Shell(services, runner, capture, autostart, locked=locks, icon=icon)
    enforce_autostart(autostart, settings, locks, runner)
    # Registers the agent's listeners (entry, idle, breaks, reminders,
    # screenshots) and reads what a previous run left for the dialogs.
    shell.start()
    return shell, runner


def enforce_autostart(
    autostart: Autostart,
    settings: Settings,
    locks: Mapping[str, str],
    runner: CommandRunner,
) -> None:
    """Where a policy sets autostart ([tray]), make it so, off the UI thread
    (a file or registry write); the Settings dialog shows it locked."""
    if AUTOSTART_KEY not in locks:
        return
    on = settings.tray.autostart
    log.info("autostart at login %s by policy", "on" if on else "off")
    runner.run("autostart", lambda: autostart.set(on))


def _application(argv: list[str] | None) -> QApplication:
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("Punchclock")
    app.setOrganizationName("Punchclock")
    app.setDesktopFileName("punchclock")
    # The app lives in the tray: closing the last window must not quit it.
    app.setQuitOnLastWindowClosed(False)
    return app


def _agent(paths: Paths, store: Store, settings: Settings) -> Agent | None:
    from agent.capturing import CaptureSet
    from agent.clock import SystemClock
    from agent.consent import capture_consented
    from agent.instance import AlreadyRunningError, InstanceLock
    from agent.service import Agent, AgentConfig

    # The icon is up already: starting capture here costs the worker nothing.
    clock = SystemClock()
    capture = None
    if capture_consented(store, clock, settings):
        capture = CaptureSet.from_settings(settings.capture, clock)
    agent = Agent(paths, store, clock, AgentConfig.from_settings(settings), capture)
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
    from agent.errors import PunchclockError

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

    def __init__(self, quitter: _Quitter) -> None:
        self._quitter = quitter
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
        self._quitter.request()

    def _drain(self) -> None:
        try:
            self._reader.recv(64)
        except OSError:
            return
