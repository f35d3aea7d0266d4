"""The timeline window with pytest-qt (offscreen): zoom, scroll, day and zone
choice, hover, thumbnail click; and on the virtual desktop, the real
``punchclock timeline`` process, kept as a screenshot in the artefacts."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from agent.paths import Paths
from agent.store import Store
from agent.timeline import LaneKind, StoreSource
from tests.desktop import VirtualDesktop
from tests.timeline.conftest import BERLIN, DST_DAY
from ui.timeline import TimelineWindow
from ui.timeline_model import TimelineModel

H = 3_600_000
NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)


@pytest.fixture
def window(
    qtbot: QtBot, store: Store, paths: Paths, dst_day: dict[str, int]
) -> Iterator[TimelineWindow]:
    source = StoreSource(store, paths.screenshots_dir, BERLIN, lambda: NOW)
    window = TimelineWindow(TimelineModel(source, DST_DAY))
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.canvas.first_painted, timeout=5000):
        window.show()
    # The totals follow the first paint.
    qtbot.waitUntil(lambda: window.summary.text().startswith("Tracked"))
    yield window
    if window.viewer is not None:
        window.viewer.close()


def _lane_point(window: TimelineWindow, kind: LaneKind, hours: float) -> QPoint:
    canvas = window.canvas
    assert canvas.timeline is not None
    [rect] = [rect for lane, rect in canvas.lane_rects() if lane is kind]
    x = canvas.x_of(canvas.timeline.start_ms + int(hours * H))
    return QPoint(x, rect.center().y())


def _wheel(window: TimelineWindow, at: QPoint, steps: int, shift: bool = False) -> None:
    modifiers = (
        Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    )
    event = QWheelEvent(
        QPointF(at),
        QPointF(window.canvas.mapToGlobal(at)),
        QPoint(),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        modifiers,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(window.canvas, event)


def test_opens_on_the_whole_day_with_totals(window: TimelineWindow) -> None:
    canvas = window.canvas
    assert canvas.timeline is not None
    assert canvas.view_start_ms == canvas.timeline.start_ms
    assert canvas.view_end_ms == pytest.approx(
        canvas.timeline.end_ms, abs=canvas.ms_per_px
    )
    assert "23 h" in window.day_label.text()
    assert "Tracked 22:00" in window.summary.text()
    projects = window.tables["projects"]
    assert [projects.item(row, 0).text() for row in range(projects.rowCount())] == [
        "Globex",
        "Acme",
    ]
    assert projects.item(0, 2).text() == "77.3%"
    assert window.tables["domains"].rowCount() == 3


def test_wheel_zooms_around_the_pointer_and_keys_zoom_back(
    qtbot: QtBot, window: TimelineWindow
) -> None:
    canvas = window.canvas
    point = _lane_point(window, LaneKind.APPS, 3.5)
    anchor = canvas.moment_at(point.x())
    whole_day = canvas.ms_per_px

    with qtbot.waitSignal(canvas.view_changed):
        _wheel(window, point, 3)

    assert canvas.ms_per_px < whole_day / 1.9
    assert abs(canvas.moment_at(point.x()) - anchor) <= canvas.ms_per_px
    assert window.scrollbar.maximum() > 0

    start = canvas.view_start_ms
    _wheel(window, point, -1, shift=True)
    assert canvas.view_start_ms > start
    qtbot.keyClick(canvas, Qt.Key.Key_Left)
    qtbot.keyClick(canvas, Qt.Key.Key_0)
    assert canvas.ms_per_px == pytest.approx(whole_day)
    qtbot.keyClick(canvas, Qt.Key.Key_Plus)
    assert canvas.ms_per_px < whole_day


def test_hover_shows_the_details_of_a_span(
    qtbot: QtBot, window: TimelineWindow
) -> None:
    with qtbot.waitSignal(window.canvas.hovered) as hovered:
        qtbot.mouseMove(window.canvas, _lane_point(window, LaneKind.TITLES, 1.5))
    assert hovered.args is not None
    text = hovered.args[0]
    assert "firefox\nPR 12\nhttps://github.com/a/b" in text
    assert text.startswith("01:00:00–03:00:00 (1:00)")  # 02:00 does not exist

    qtbot.mouseMove(window.canvas, _lane_point(window, LaneKind.IDLE, 7.25))
    assert "discard" in window.canvas.hover_text
    assert "resolved by the policy" in window.canvas.hover_text


def test_clicking_a_thumbnail_opens_the_full_screenshot(
    qtbot: QtBot, window: TimelineWindow, dst_day: dict[str, int]
) -> None:
    qtbot.waitUntil(lambda: dst_day["shot"] in window.canvas._thumbnails)
    hits = {mark.id: rect for rect, mark in window.canvas._shot_hits}

    with qtbot.waitSignal(window.canvas.screenshot_clicked) as clicked:
        qtbot.mouseClick(
            window.canvas, Qt.MouseButton.LeftButton, pos=hits[dst_day["shot"]].center()
        )

    assert clicked.args == [dst_day["shot"]]
    assert window.viewer is not None
    assert window.viewer.isVisible()
    assert window.viewer.has_image
    assert "2024-03-31 01:30:00 CET" in window.viewer.windowTitle()


def test_day_navigation_and_zone_choice(qtbot: QtBot, window: TimelineWindow) -> None:
    with qtbot.waitSignal(window.model.changed):
        qtbot.keyClick(window.canvas, Qt.Key.Key_PageDown)
    assert window.model.day == DST_DAY + timedelta(days=1)
    assert "Monday 01 April 2024" in window.day_label.text()
    assert "Tracked 1:00" in window.summary.text()  # Globex's hour past midnight

    with qtbot.waitSignal(window.model.changed):
        window.previous_button.click()
    assert window.model.day == DST_DAY

    utc = window.zone_box.findText("UTC")
    with qtbot.waitSignal(window.model.changed):
        window.zone_box.setCurrentIndex(utc)
    assert window.model.timeline is not None
    assert window.model.timeline.hours == 24
    assert "UTC" in window.day_label.text()


def test_the_window_on_a_busy_day_looks_right(
    qtbot: QtBot, store: Store, paths: Paths, artifacts_dir: Path
) -> None:
    """A busy day at two zooms, saved for a person to look at."""
    from tests.timeline import synth

    day = DST_DAY - timedelta(days=3)
    synth.busy_day(
        store, paths.screenshots_dir, day, BERLIN, spans=3000, screenshots=48
    )
    synth.add_idle(store, synth.at(day, BERLIN, 9), synth.at(day, BERLIN, 9.4), "keep")
    synth.add_break(store, synth.at(day, BERLIN, 12.5), synth.at(day, BERLIN, 13))
    source = StoreSource(store, paths.screenshots_dir, BERLIN, lambda: NOW)
    window = TimelineWindow(TimelineModel(source, day))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: not window._pending_thumbnails and window.canvas.painted)

    window.grab().save(str(artifacts_dir / "timeline-day.png"))
    window.canvas.zoom(6, window.canvas.x_of(window.canvas.timeline.start_ms + 12 * H))  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: not window._pending_thumbnails)
    window.grab().save(str(artifacts_dir / "timeline-zoomed.png"))
    assert window.tables["apps"].rowCount() == len(synth.APPS)


@pytest.mark.x11
def test_punchclock_timeline_on_the_virtual_desktop(
    desktop: VirtualDesktop,
    paths: Paths,
    punchclock_home: Path,
    dst_day: dict[str, int],
    artifacts_dir: Path,
) -> None:
    """The real command, as a lead runs it; the screen kept as an artefact."""
    punchclock = str(Path(sys.executable).with_name("punchclock"))
    env = {
        **desktop.env,
        "PUNCHCLOCK_HOME": str(punchclock_home),
        "QT_QPA_PLATFORM": "xcb",
    }
    proc = subprocess.Popen(
        [punchclock, "timeline", DST_DAY.isoformat(), "--tz", "Europe/Berlin"], env=env
    )
    try:
        window_id = str(desktop.find_window("^Timeline 2024-03-31"))
        desktop.xdotool("windowsize", "--sync", window_id, "1600", "900")
        desktop.xdotool("windowmove", "--sync", window_id, "0", "40")
        desktop.xdotool("windowactivate", "--sync", window_id)
        subprocess.run(["sleep", "1"], check=True)  # thumbnails decode after paint
        shot = desktop.screenshot(artifacts_dir / "timeline-desktop.png")
        assert shot.stat().st_size > 10_000
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_day_opens_on_its_recorded_hours_and_whole_day_shows_all(
    qtbot: QtBot, store: Store, paths: Paths
) -> None:
    """Not on a fixed hour: on what was recorded (a fresh user's one entry)."""
    from tests.timeline import synth

    day = DST_DAY - timedelta(days=10)
    synth.add_project(store, "Acme")
    synth.add_entry(
        store, "Acme", synth.at(day, BERLIN, 14.25), synth.at(day, BERLIN, 15.5)
    )
    source = StoreSource(store, paths.screenshots_dir, BERLIN, lambda: NOW)
    window = TimelineWindow(TimelineModel(source, day))
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.canvas.first_painted, timeout=5000):
        window.show()
    canvas = window.canvas
    assert canvas.timeline is not None
    start = canvas.timeline.start_ms

    assert canvas.view_start_ms == start + 14 * H
    assert canvas.view_end_ms == pytest.approx(start + 16 * H, abs=canvas.ms_per_px)
    [entry] = canvas.timeline.lane(LaneKind.ENTRIES).bars
    assert canvas.x_of(entry.start_ms) > canvas.x_of(canvas.view_start_ms) + 50

    window.fit.click()
    assert canvas.view_start_ms == start
    assert canvas.view_end_ms == pytest.approx(start + 24 * H, abs=canvas.ms_per_px)


def test_today_follows_the_recording_without_rereading_an_unchanged_store(
    qtbot: QtBot, store: Store, paths: Paths
) -> None:
    from tests.timeline import synth

    today = NOW.astimezone(BERLIN).date()
    synth.add_project(store, "Acme")
    entry = synth.add_entry(store, "Acme", synth.at(today, BERLIN, 9), None)
    source = StoreSource(store, paths.screenshots_dir, BERLIN, lambda: NOW)
    window = TimelineWindow(TimelineModel(source, today, refresh_ms=20))
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.canvas.first_painted, timeout=5000):
        window.show()
    model, canvas = window.model, window.canvas
    assert canvas.timeline is not None
    assert canvas.timeline.is_today
    first = model.timeline

    # Nothing written: polls, and no read.
    qtbot.waitUntil(lambda: model.polls >= 5, timeout=5000)
    assert model.reads == 1
    assert model.timeline is first

    # The agent records a span: read once more; the zoom the viewer chose stays.
    canvas.zoom(2)
    view = (canvas.view_start_ms, canvas.ms_per_px)
    with qtbot.waitSignal(model.refreshed, timeout=5000):
        synth.add_spans(
            store,
            entry,
            [
                synth.SpanSpec(
                    synth.at(today, BERLIN, 9), synth.at(today, BERLIN, 10), "code"
                )
            ],
        )
    assert model.reads == 2
    assert (canvas.view_start_ms, canvas.ms_per_px) == view
    assert canvas.timeline is model.timeline
    assert [bar.label for bar in canvas.timeline.lane(LaneKind.APPS).bars] == ["code"]
    apps = window.tables["apps"]
    rows = {apps.item(r, 0).text(): apps.item(r, 1).text() for r in range(2)}
    assert rows == {"code": "1:00", "(no app)": "3:00"}  # running until now

    # Another day is not polled.
    with qtbot.waitSignal(model.changed):
        window.previous_button.click()
    polls = model.polls
    qtbot.wait(150)
    assert model.polls == polls
