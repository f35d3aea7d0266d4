"""``punchclock agent``: the headless agent in the foreground.

Logging goes to the log file and to stderr; SIGINT and SIGTERM stop it
cleanly (the running entry is closed at that moment); a ``kill -9`` loses at
most one flush interval, which the next start recovers.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

from agent.capturing import CaptureSet
from agent.clock import SystemClock
from agent.consent import capture_consented
from agent.errors import PunchclockError
from agent.instance import AlreadyRunningError, InstanceLock
from agent.logs import configure_logging
from agent.paths import Paths
from agent.policy import load_effective
from agent.service import Agent, AgentConfig
from agent.store import Store

log = logging.getLogger(__name__)


def run_headless() -> int:
    paths = Paths.from_env()
    paths.ensure()
    loaded = load_effective(paths)
    configure_logging(
        paths,
        console=True,
        console_level=logging.INFO,
        level=loaded.settings.logging.level,
    )
    for problem in loaded.problems:
        log.warning("%s", problem)

    if InstanceLock(paths.lock_file).is_held_elsewhere():
        raise PunchclockError(
            "an agent is already running for this user "
            f"(pid {agent_pid(paths)}); stop it first"
        )

    store = Store.open(paths.database)
    clock = SystemClock()
    config = AgentConfig.from_settings(loaded.settings)
    capture = None
    if capture_consented(store, clock, loaded.settings):
        capture = CaptureSet.from_settings(loaded.settings.capture, clock)
    else:
        log.warning(
            "capture is off until the worker consents: see what would be "
            "collected with `punchclock consent show`, agree with "
            "`punchclock consent accept`, then restart the agent; "
            "the timer works meanwhile"
        )
    agent = Agent(paths, store, clock, config, capture)
    try:
        agent.start()
    except AlreadyRunningError as error:
        raise PunchclockError(
            "an agent is already running for this user "
            f"(pid {agent_pid(paths)}); stop it first"
        ) from error

    stopping = threading.Event()
    _on_signals(stopping)
    log.info("headless agent running; Ctrl+C or SIGTERM stops it")
    while not stopping.wait(3600):
        pass
    agent.stop()
    store.close()
    return 0


def agent_pid(paths: Paths) -> str:
    pid = InstanceLock(paths.lock_file).holder_pid()
    return str(pid) if pid else "unknown"


def _on_signals(stopping: threading.Event) -> None:
    def handle(signum: int, _: FrameType | None) -> None:
        log.info("signal %s received; stopping", signal.Signals(signum).name)
        stopping.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    if sys.platform != "win32":
        signal.signal(signal.SIGHUP, handle)
