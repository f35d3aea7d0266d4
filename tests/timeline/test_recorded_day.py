"""The timeline of a day the real agent recorded, on the virtual desktop.

The real ``punchclock agent`` runs with consent while a timer runs on two
projects; xdotool moves the focus between xterm windows with distinct titles
and types into them. Then the real ``punchclock timeline`` opens that day:
the lead zooms in on the recorded minutes with the mouse wheel, the window
is kept as a PNG in the artefacts (the README shows it), and the totals the
window shows are checked against ``punchclock report --format json``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from PySide6.QtGui import QColor

from agent.paths import Paths
from tests.desktop import TestWindow, VirtualDesktop
from ui.timeline_canvas import key_colour

pytestmark = pytest.mark.x11

CLI = [sys.executable, "-m", "agent.cli"]
TITLES = ("Spec - editor", "Inbox - mail", "Build log - terminal")
PROJECTS = ("Acme", "Globex")
WAIT_S = 20.0
# The recorded minutes fill this share of the lanes' width after zooming.
# Short of what the fullest zoom (20 px a second) can show of a minute.
FILLED = 0.3
WINDOW_SIZE = (1500, 720)
STINT_S = 4.0  # in each window, after typing: about 40 s recorded in all


@pytest.fixture
def env(desktop: VirtualDesktop, punchclock_home: Path) -> dict[str, str]:
    return {
        **desktop.env,
        "PUNCHCLOCK_HOME": str(punchclock_home),
        "QT_QPA_PLATFORM": "xcb",
    }


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _wait_for_log(paths: Paths, text: str, since: int = 0) -> str:
    """The first line of the log after byte ``since`` that holds ``text``."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if paths.log_file.exists():
            with paths.log_file.open("rb") as log_file:
                log_file.seek(since)
                for line in log_file.read().decode("utf-8", "replace").splitlines():
                    if text in line:
                        return line
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared in {paths.log_file}")


@pytest.fixture
def agent(env: dict[str, str], paths: Paths) -> Iterator[subprocess.Popen[str]]:
    _cli(env, "consent", "accept")
    proc = subprocess.Popen([*CLI, "agent"], env=env, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_log(paths, "headless agent running")
        yield proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.communicate(timeout=20)


def _work_in(desktop: VirtualDesktop, window: TestWindow, words: str) -> None:
    """Focus the window and type into it, as a person at work would."""
    desktop.activate(window)
    desktop.xdotool("type", "--delay", "60", words)
    time.sleep(STINT_S)


def _record_a_day(
    desktop: VirtualDesktop,
    env: dict[str, str],
    agent: subprocess.Popen[str],
) -> None:
    spec, inbox, build = (desktop.open_xterm(title) for title in TITLES)
    desktop.activate(spec)
    _cli(env, "start", PROJECTS[0], "--task", "Design", "--create")
    _work_in(desktop, spec, "draft the spec " * 2)
    _work_in(desktop, inbox, "answer mail " * 2)
    _work_in(desktop, spec, "fix typos " * 2)
    _cli(env, "start", PROJECTS[1], "--create")
    _work_in(desktop, build, "make test " * 3)
    _work_in(desktop, inbox, "reply " * 3)
    _work_in(desktop, build, "review " * 3)
    _cli(env, "stop")
    time.sleep(1.0)
    os.kill(agent.pid, signal.SIGTERM)  # it flushes what it holds and exits
    agent.communicate(timeout=20)
    assert agent.returncode == 0


def _report(env: dict[str, str], day: date, by: str) -> dict[str, object]:
    out = _cli(
        env, "report", "--from", str(day), "--to", str(day), "--by", by,
        "--format", "json",
    )  # fmt: skip
    report: dict[str, object] = json.loads(out)
    return report


def _rows(report: dict[str, object]) -> list[dict[str, Any]]:
    rows = report["rows"]
    assert isinstance(rows, list)
    return rows


# --- looking at the window ------------------------------------------------------


def _window_image(desktop: VirtualDesktop, window_id: int) -> Image.Image:
    """The window's own pixels (without the frame), as the screen shows them."""
    import mss
    from Xlib.display import Display

    display = Display(desktop.display)
    try:
        window = display.create_resource_object("window", window_id)
        geometry = window.get_geometry()
        origin = window.translate_coords(display.screen().root, 0, 0)
    finally:
        display.close()
    # translate_coords gives the root's origin in the window's coordinates.
    box = {
        "left": -origin.x,
        "top": -origin.y,
        "width": geometry.width,
        "height": geometry.height,
    }
    with mss.MSS(display=desktop.display) as grabber:
        shot = grabber.grab(box)
    return Image.frombytes("RGB", shot.size, shot.rgb)


def _rgb(colour: QColor) -> tuple[int, int, int]:
    return colour.red(), colour.green(), colour.blue()


def _entries_extent(image: Image.Image) -> tuple[int, int, int]:
    """(left, right, y) of the projects' entry bars on the entries lane: the
    topmost row holding their colours (the totals' colour swatches lie
    further down)."""
    colours = {_rgb(key_colour(name, 170, 200)) for name in PROJECTS}
    pixels = image.load()
    assert pixels is not None
    width, height = image.size
    for y in range(0, height, 2):
        xs = [x for x in range(width) if pixels[x, y] in colours]
        if xs:
            row = y + 3  # below the bars' top edge, above any label
            xs = [x for x in range(width) if pixels[x, row] in colours]
            return min(xs), max(xs), row
    raise AssertionError("no entry bar of the recorded projects is drawn")


def _zoom_on_the_entries(
    desktop: VirtualDesktop, window_id: int
) -> tuple[Image.Image, int, int]:
    """Wheel up over the recorded minutes until they fill the lanes; the
    last picture and the bars' left and right edges in it."""
    image = _window_image(desktop, window_id)
    left, right, y = _entries_extent(image)
    target = FILLED * image.size[0]
    for _ in range(40):
        if right - left >= target:
            return image, left, right
        desktop.xdotool(
            "mousemove", "--window", str(window_id), str((left + right) // 2), str(y)
        )
        time.sleep(0.2)  # Qt takes the wheel where it has seen the pointer enter
        desktop.xdotool("click", "4")
        deadline = time.monotonic() + WAIT_S
        while True:
            image = _window_image(desktop, window_id)
            new_left, new_right, y = _entries_extent(image)
            if (new_left, new_right) != (left, right):
                break
            assert time.monotonic() < deadline, "the wheel did not zoom"
            time.sleep(0.05)
        left, right = new_left, new_right
    raise AssertionError(f"zoomed 40 times and the entries span {right - left} px")


# --- what the window shows against the report ------------------------------------


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _shown_totals(paths: Paths, day: date, since: int) -> dict[str, object]:
    line = _wait_for_log(paths, f"timeline of {day} shows ", since)
    shown: dict[str, object] = json.loads(line.split(" shows ", 1)[1])
    return shown


def _check_rows(shown: object, report: dict[str, object]) -> None:
    """Each row the window shows has the report's time (to the minute it
    rounds to) and share of the day (to the report's whole seconds)."""
    assert isinstance(shown, list)
    rows = _rows(report)
    total = report["total_seconds"]
    assert isinstance(total, int)
    assert total > 0
    expected = {row["key"]: row["seconds"] for row in rows}
    assert {name for name, _, _ in shown} == set(expected)
    for name, time_text, share_text in shown:
        seconds = expected[name]
        assert abs(_minutes(time_text) * 60 - seconds) <= 31, (name, time_text)
        share = float(share_text.rstrip("%"))
        assert share == pytest.approx(100 * seconds / total, abs=1.5), name


def test_the_timeline_of_a_day_the_agent_recorded(
    desktop: VirtualDesktop,
    env: dict[str, str],
    paths: Paths,
    agent: subprocess.Popen[str],
    artifacts_dir: Path,
) -> None:
    _record_a_day(desktop, env, agent)
    zone = ZoneInfo(json.loads(_cli(env, "report", "--format", "json"))["tz"])
    day = datetime.now(UTC).astimezone(zone).date()
    by_project = _report(env, day, "project")
    by_app = _report(env, day, "app")
    # What was recorded: both projects, every window, the typing as activity.
    assert {row["key"] for row in _rows(by_project)} == set(PROJECTS)
    assert set(TITLES) <= {row["key"] for row in _rows(_report(env, day, "title"))}
    assert all(row["active_seconds"] for row in _rows(by_project))

    since = paths.log_file.stat().st_size
    viewer = subprocess.Popen(
        [*CLI, "timeline", str(day)],
        env={**env, "PUNCHCLOCK_LOG_LEVEL": "DEBUG"},
    )
    try:
        window_id = desktop.find_window(f"^Timeline {day}")
        desktop.xdotool("windowsize", "--sync", str(window_id), *map(str, WINDOW_SIZE))
        desktop.xdotool("windowmove", "--sync", str(window_id), "0", "40")
        desktop.xdotool("windowactivate", "--sync", str(window_id))
        shown = _shown_totals(paths, day, since)
        image, left, right = _zoom_on_the_entries(desktop, window_id)
        desktop.xdotool("mousemove", "--window", str(window_id), "800", "5")
        time.sleep(0.5)  # the hover tooltip goes away
        image = _window_image(desktop, window_id)
        image.save(artifacts_dir / "timeline-recorded-day.png")
        assert viewer.poll() is None
    finally:
        viewer.terminate()
        viewer.wait(timeout=10)

    summary = shown["summary"]
    assert isinstance(summary, str)
    tracked = by_project["total_seconds"]
    assert isinstance(tracked, int)
    assert abs(_minutes(summary.split()[1]) * 60 - tracked) <= 31, summary
    _check_rows(shown["projects"], by_project)
    _check_rows(shown["apps"], by_app)
    # The picture shows the recorded minutes across the lanes, not cut.
    assert image.size == WINDOW_SIZE
    assert right - left >= FILLED * WINDOW_SIZE[0]
