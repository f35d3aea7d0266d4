"""A full-screen focused window is marked so break reminders can wait for it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

pytest.importorskip("Xlib", reason="X11 tests run on Linux only (python-xlib)")

from agent.clock import SystemClock
from capture.focus.x11 import X11FocusSource
from tests.capture.fakes import Recorder
from tests.desktop import VirtualDesktop

pytestmark = pytest.mark.x11


@pytest.fixture
def recorder(desktop: VirtualDesktop) -> Iterator[Recorder]:
    recorder = Recorder()
    source = X11FocusSource(SystemClock(), display=desktop.display)
    source.start(recorder, recorder.on_health)
    yield recorder
    source.stop()


def _fullscreen(desktop: VirtualDesktop, window_id: int, on: bool) -> None:
    """Ask the window manager, as a player's full-screen button does (EWMH)."""
    action = "add" if on else "remove"
    subprocess.run(
        ["wmctrl", "-i", "-r", hex(window_id), "-b", f"{action},fullscreen"],
        env=desktop.env,
        check=True,
        timeout=10,
    )


def test_going_full_screen_and_back_is_seen(
    desktop: VirtualDesktop, recorder: Recorder
) -> None:
    window = desktop.open_xterm("slides")
    desktop.activate(window)
    first = recorder.wait_for(lambda s: s.title == "slides")
    assert not first.fullscreen

    _fullscreen(desktop, window.window_id, on=True)
    recorder.wait_for(lambda s: s.title == "slides" and s.fullscreen)

    mark = recorder.mark()
    _fullscreen(desktop, window.window_id, on=False)
    back = recorder.wait_after(mark, lambda s: s.title == "slides")
    assert not back.fullscreen


def test_switching_away_from_a_full_screen_window_clears_the_mark(
    desktop: VirtualDesktop, recorder: Recorder
) -> None:
    film = desktop.open_xterm("film")
    notes = desktop.open_xterm("notes")
    desktop.activate(film)
    _fullscreen(desktop, film.window_id, on=True)
    recorder.wait_for(lambda s: s.title == "film" and s.fullscreen)

    desktop.activate(notes)
    other = recorder.wait_for(lambda s: s.title == "notes")
    assert not other.fullscreen
