"""``punchclock agent``: the headless agent in the foreground.

Logging goes to the log file and to stderr; SIGINT and SIGTERM stop it
cleanly (the running entry is closed at that moment); a ``kill -9`` loses at
most one flush interval, which the next start recovers.

Resident memory (P2 in BRIEF) is mostly what the imports leave behind; two
glibc habits add to it, and the runner curbs both on Linux: every thread
that allocates gets its own malloc arena (capped at one here), and the
start-up's freed memory stays mapped until trimmed (trimmed once the agent
has settled, when the start-up objects are also frozen out of the cyclic
garbage collector's passes).
"""

from __future__ import annotations

import ctypes
import gc
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from agent.capturing import CaptureSet
from agent.clock import SystemClock
from agent.consent import Collection, ConsentWatch, capture_consented
from agent.errors import PunchclockError, StoreError
from agent.instance import AlreadyRunningError, InstanceLock
from agent.logs import configure_logging
from agent.paths import Paths
from agent.policy import load_effective, server_policy_stamp
from agent.service import Agent, AgentConfig
from agent.settings import Settings
from agent.store import Store

log = logging.getLogger(__name__)

# glibc's mallopt parameter for the number of malloc arenas (malloc.h).
M_ARENA_MAX = -8
# Seconds after start-up before memory is settled: the first tick, flush and
# screenshot have allocated what they keep by then.
SETTLE_SECONDS = 10.0
# How often the consent is looked at: `punchclock consent revoke` stops
# capture within two seconds (BRIEF: a running agent reflects CLI commands
# within two seconds), stopping the sources taking up to one of them.
CONSENT_POLL_SECONDS = 1.0


def run_headless() -> int:
    # Before any thread starts: arenas are made per thread on first malloc.
    _limit_malloc_arenas()
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
            "`punchclock consent accept` (capture starts within seconds); "
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
    watch = ConsentWatch(store, clock, Collection.from_settings(loaded.settings))
    follower = PolicyFollower(paths, agent, watch, loaded.settings)
    _run_until(stopping, follower.poll)
    agent.stop()
    store.close()
    return 0


def _run_until(
    stopping: threading.Event,
    poll: Callable[[], None],
    platform: str = sys.platform,
) -> None:
    """Poll until a signal stops the agent; settle memory once on the way.

    On macOS the main thread runs its run loop meanwhile, in slices of one
    poll interval: NSWorkspace posts app switches there, and a main thread
    parked on the event would never deliver them (capture/focus/macos.py).
    """
    wait = _main_thread_wait(stopping, platform)
    settle_at = time.monotonic() + SETTLE_SECONDS
    settled = False
    while not wait(CONSENT_POLL_SECONDS):
        poll()
        if not settled and time.monotonic() >= settle_at:
            settle_memory()
            settled = True


# CoreFoundation, by the path every macOS has it at.
CORE_FOUNDATION = "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation"
# CFRunLoopRunInMode's answer when the run loop has no source or timer to
# serve: it returns at once, and the slice is waited out on the event instead.
RUN_LOOP_FINISHED = 1


def _main_thread_wait(
    stopping: threading.Event, platform: str
) -> Callable[[float], bool]:
    """How the main thread waits up to some seconds for ``stopping``: on
    macOS by running its CFRunLoop for them, elsewhere on the event."""
    if platform != "darwin":
        return stopping.wait
    try:
        core_foundation, mode = _load_core_foundation()
    except (OSError, ValueError) as error:
        log.warning(
            "CoreFoundation could not be loaded (%s): app switches are seen "
            "only by the focus source's periodic check",
            error,
        )
        return stopping.wait

    def run_loop_slice(seconds: float) -> bool:
        if stopping.is_set():
            return True
        answer = core_foundation.CFRunLoopRunInMode(mode, seconds, False)
        if answer == RUN_LOOP_FINISHED:
            return stopping.wait(seconds)
        return stopping.is_set()

    return run_loop_slice


def _load_core_foundation() -> tuple[Any, Any]:
    """CoreFoundation through ctypes (no pyobjc import at start-up), and its
    default run-loop mode. Raises OSError or ValueError where it is missing."""
    library = ctypes.CDLL(CORE_FOUNDATION)
    run = library.CFRunLoopRunInMode
    run.argtypes = [ctypes.c_void_p, ctypes.c_double, ctypes.c_bool]
    run.restype = ctypes.c_int32
    mode = ctypes.c_void_p.in_dll(library, "kCFRunLoopDefaultMode")
    return library, mode


class PolicyFollower:
    """Keeps capture in line with the consent and the policy while running.

    A server policy that changes what is captured applies at once: the
    sources restart with it when the stored consent covers it, and stop
    when it now collects more than the worker accepted (until they accept
    again). Consent given or withdrawn from elsewhere applies within a poll.
    """

    def __init__(
        self, paths: Paths, agent: Agent, watch: ConsentWatch, settings: Settings
    ) -> None:
        self._paths = paths
        self._agent = agent
        self._watch = watch
        self.settings = settings
        self._stamp = server_policy_stamp(paths)

    def poll(self) -> None:
        stamp = server_policy_stamp(self._paths)
        if stamp != self._stamp:
            self._stamp = stamp
            self._policy_changed(load_effective(self._paths).settings)
        follow_consent(self._agent, self._watch, self.settings)

    def _policy_changed(self, settings: Settings) -> None:
        before, self.settings = self.settings, settings
        try:
            allowed = self._watch.follow(Collection.from_settings(settings))
        except StoreError as error:
            log.warning("cannot read the consent (%s); trying again", error)
            self._stamp = None
            return
        if settings.capture == before.capture and allowed == (
            self._agent.capture is not None
        ):
            return
        self._agent.disable_capture()
        if allowed:
            capture = CaptureSet.from_settings(settings.capture, self._agent.clock)
            self._agent.enable_capture(capture)
            log.info("capture restarted under the changed policy")
        else:
            log.warning(
                "the policy now collects more than was consented to: capture "
                "is off until the worker agrees (`punchclock consent show`, "
                "`punchclock consent accept`)"
            )


def follow_consent(agent: Agent, watch: ConsentWatch, settings: Settings) -> None:
    """Consent given or withdrawn from elsewhere (`punchclock consent`, the
    tray on another run) starts or stops capture in this running agent."""
    try:
        allowed = watch.poll()
    except StoreError as error:
        log.warning("cannot read the consent (%s); trying again", error)
        return
    if allowed is None:
        return
    if allowed:
        agent.enable_capture(CaptureSet.from_settings(settings.capture, agent.clock))
    else:
        agent.disable_capture()


def settle_memory() -> None:
    """Collect once, freeze what survives, give freed heap back to the OS.

    Frozen objects (modules, classes, the store's mappers) are skipped by
    every later collection, so the tick's collections stay short; the trim
    returns the pages the start-up freed (imports read whole files of
    bytecode into memory).
    """
    gc.collect()
    gc.freeze()
    libc = _libc()
    trim = getattr(libc, "malloc_trim", None) if libc is not None else None
    if trim is not None:
        trim(0)
    log.debug("memory settled: %d objects frozen", gc.get_freeze_count())


def _limit_malloc_arenas() -> None:
    """One malloc arena for all threads (glibc): the agent's threads mostly
    sleep, and a private arena per thread kept ~2.5 MB more resident on the
    workday benchmark. Elsewhere (musl, macOS, Windows) nothing changes."""
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None) if libc is not None else None
    if mallopt is not None and mallopt(M_ARENA_MAX, 1) != 1:
        log.debug("mallopt(M_ARENA_MAX) refused; arenas stay per thread")


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        # The process's own symbols, libc's among them; no library search.
        return ctypes.CDLL(None)
    except OSError:
        return None


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
