"""The X11 focus source keeps going through failures that are not a lost
display: a sample callback that raises, a watch that fails as it starts.

Real xterm windows on Xvfb with openbox, focus moved with xdotool.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("Xlib", reason="X11 tests run on Linux only (python-xlib)")

from agent.clock import SystemClock
from capture.base import CaptureHealth, HealthState
from capture.focus.x11 import X11FocusSource
from tests.capture.fakes import Recorder
from tests.desktop import VirtualDesktop

pytestmark = pytest.mark.x11


class FlakyConsumer(Recorder):
    """Records samples, but raises once on the first sample of each title in
    ``fail_on`` (which it then does not record)."""

    def __init__(self, *fail_on: str) -> None:
        super().__init__()
        self.fail_on = set(fail_on)
        self.raised: list[str] = []

    def __call__(self, sample: Any) -> None:
        with self._cond:
            if sample.title in self.fail_on:
                self.fail_on.discard(sample.title)
                self.raised.append(sample.title)
                self._cond.notify_all()
                raise RuntimeError(f"consumer broke on {sample.title}")
        super().__call__(sample)

    def wait_until(self, check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + 10
        with self._cond:
            while not check():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"never happened: {what}")
                self._cond.wait(left)


@pytest.fixture
def sources() -> Iterator[list[X11FocusSource]]:
    started: list[X11FocusSource] = []
    yield started
    for source in started:
        source.stop()


def _start(
    desktop: VirtualDesktop, consumer: FlakyConsumer, sources: list[X11FocusSource]
) -> X11FocusSource:
    source = X11FocusSource(SystemClock(), display=desktop.display, max_backoff=0.5)
    sources.append(source)
    source.start(consumer, consumer.on_health)
    return source


def _unavailable(health: list[CaptureHealth]) -> list[CaptureHealth]:
    return [h for h in health if h.state is HealthState.UNAVAILABLE]


def test_a_callback_that_raises_does_not_stop_later_samples(
    desktop: VirtualDesktop,
    sources: list[X11FocusSource],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="capture.focus.x11")
    one, two, three = (desktop.open_xterm(f"flaky {n}") for n in (1, 2, 3))
    desktop.activate(one)
    consumer = FlakyConsumer("flaky 2", "flaky 3")
    source = _start(desktop, consumer, sources)
    consumer.wait_for(lambda s: s.title == "flaky 1")

    # The consumer fails on the next two switches, then takes samples again.
    desktop.activate(two)
    consumer.wait_until(lambda: "flaky 2" in consumer.raised, "the first raise")
    desktop.activate(three)
    consumer.wait_until(lambda: "flaky 3" in consumer.raised, "the second raise")
    mark = consumer.mark()
    desktop.activate(one)
    back = consumer.wait_after(mark, lambda s: s.title == "flaky 1")
    desktop.activate(two)
    again = consumer.wait_after(mark, lambda s: s.title == "flaky 2")

    assert (back.app, again.app) == ("XTerm", "XTerm")
    assert source.health().ok
    assert _unavailable(consumer.health) == []
    # Logged once with its traceback, not once per failing switch.
    errors = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name == "capture.focus.x11"
    ]
    assert len(errors) == 1
    assert "consumer broke on flaky 2" in errors[0].getMessage()
    assert errors[0].exc_info is not None
    repeats = [r for r in caplog.records if "failed again" in r.getMessage()]
    assert len(repeats) == 1
    assert repeats[0].levelno == logging.DEBUG


def test_a_watch_that_fails_shows_in_health_and_starts_afresh(
    desktop: VirtualDesktop, sources: list[X11FocusSource]
) -> None:
    first = desktop.open_xterm("failing start")
    other = desktop.open_xterm("after the restart")
    desktop.activate(first)
    # The very first sample, read as the watch starts, makes it fail.
    consumer = FlakyConsumer("failing start")
    source = _start(desktop, consumer, sources)

    consumer.wait_until(
        lambda: bool(_unavailable(consumer.health)), "unavailable health"
    )
    recovered = consumer.wait_for(lambda s: s.title == "failing start")
    mark = consumer.mark()
    desktop.activate(other)
    later = consumer.wait_after(mark, lambda s: s.title == "after the restart")

    [failed] = _unavailable(consumer.health)
    assert "consumer broke on failing start" in failed.reason
    assert "starting afresh" in failed.reason
    states = [h.state for h in consumer.health]
    assert states == [HealthState.UNAVAILABLE, HealthState.WORKING]
    # While it was down nothing was in front, as far as the spans go.
    assert consumer.samples.index(recovered) > 0
    assert not consumer.samples[0].focused
    assert later.app == "XTerm"
    assert source.health().ok
