"""The headless agent's main thread on macOS runs its CFRunLoop between
polls, so NSWorkspace can deliver app switches there; CoreFoundation is
faked at the OS boundary (the ctypes library), everything else is real."""

from __future__ import annotations

import threading

import pytest

from agent import runner

MODE = object()  # kCFRunLoopDefaultMode, as ctypes hands it over
TIMED_OUT = 3  # kCFRunLoopRunTimedOut


class FakeCoreFoundation:
    """CFRunLoopRunInMode as the OS answers it; records who ran what."""

    def __init__(self, answer: int, stopping: threading.Event, stop_at: int) -> None:
        self.answer = answer
        self.stopping = stopping
        self.stop_at = stop_at
        self.calls: list[tuple[object, float, bool, bool]] = []

    def CFRunLoopRunInMode(self, mode: object, seconds: float, once: bool) -> int:
        on_main = threading.current_thread() is threading.main_thread()
        self.calls.append((mode, seconds, once, on_main))
        if len(self.calls) == self.stop_at:
            self.stopping.set()  # a SIGTERM handled while the loop ran
        return self.answer


class CountingEvent(threading.Event):
    """The stop event, counting the waits made on it (never blocking)."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return super().wait(0)


def _fake(monkeypatch: pytest.MonkeyPatch, core_foundation: FakeCoreFoundation) -> None:
    monkeypatch.setattr(
        runner, "_load_core_foundation", lambda: (core_foundation, MODE)
    )


def test_on_macos_the_main_thread_runs_its_run_loop_in_slices_between_polls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stopping = CountingEvent()
    core_foundation = FakeCoreFoundation(TIMED_OUT, stopping, stop_at=3)
    _fake(monkeypatch, core_foundation)
    polls: list[int] = []

    runner._run_until(stopping, lambda: polls.append(1), platform="darwin")

    slice_ = (MODE, runner.CONSENT_POLL_SECONDS, False, True)
    assert core_foundation.calls == [slice_] * 3
    assert len(polls) == 2, "the stop is seen right after the slice it came in"
    assert stopping.waits == [], "never parked on the event instead"


def test_a_run_loop_with_nothing_to_serve_waits_on_the_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """CFRunLoopRunInMode returns at once (kCFRunLoopRunFinished) while no
    source is attached: the slice is waited out instead of spinning."""
    stopping = CountingEvent()
    core_foundation = FakeCoreFoundation(runner.RUN_LOOP_FINISHED, stopping, stop_at=99)
    _fake(monkeypatch, core_foundation)
    polls: list[int] = []

    def poll() -> None:
        polls.append(1)
        if len(polls) == 2:
            stopping.set()

    runner._run_until(stopping, poll, platform="darwin")

    assert len(core_foundation.calls) == 2, "none once the stop is set"
    assert stopping.waits == [runner.CONSENT_POLL_SECONDS] * 2


def test_elsewhere_the_main_thread_waits_on_the_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_core_foundation() -> None:
        raise AssertionError("CoreFoundation loaded off macOS")

    monkeypatch.setattr(runner, "_load_core_foundation", no_core_foundation)
    stopping = CountingEvent()
    polls: list[int] = []

    def poll() -> None:
        polls.append(1)
        if len(polls) == 2:
            stopping.set()

    runner._run_until(stopping, poll, platform="linux")

    assert stopping.waits == [runner.CONSENT_POLL_SECONDS] * 3


def test_without_core_foundation_the_agent_still_runs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def missing() -> None:
        raise OSError("image not found")

    monkeypatch.setattr(runner, "_load_core_foundation", missing)
    stopping = CountingEvent()
    stopping.set()

    runner._run_until(stopping, lambda: None, platform="darwin")

    assert stopping.waits == [runner.CONSENT_POLL_SECONDS]
    assert "CoreFoundation could not be loaded" in caplog.text
