"""The zone box names the zone the day is drawn in, also one it does not offer."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from pytestqt.qtbot import QtBot

from agent.paths import Paths
from agent.store import Store
from agent.timeline import StoreSource
from tests.timeline.conftest import BERLIN
from ui.timeline import TimelineWindow
from ui.timeline_model import TimelineModel

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
DAY = date(2026, 1, 2)


def _window(
    qtbot: QtBot, store: Store, paths: Paths, tz: ZoneInfo | None
) -> TimelineWindow:
    source = StoreSource(store, paths.screenshots_dir, BERLIN, lambda: NOW)
    window = TimelineWindow(TimelineModel(source, DAY, tz))
    qtbot.addWidget(window)
    return window


def test_a_zone_asked_for_is_the_one_shown(
    qtbot: QtBot, store: Store, paths: Paths
) -> None:
    """``punchclock timeline --tz Asia/Tokyo`` on a Berlin worker's store."""
    window = _window(qtbot, store, paths, ZoneInfo("Asia/Tokyo"))

    assert window.zone_box.currentText() == "Asia/Tokyo"
    assert window.zone_box.currentData().key == "Asia/Tokyo"
    assert window.model.timeline is not None
    assert window.model.timeline.tz_name == "Asia/Tokyo"
    # The others are still offered, and choosing one draws the day in it.
    worker = window.zone_box.findText("Worker's zone (Europe/Berlin)")
    assert worker >= 0
    window.zone_box.setCurrentIndex(worker)
    assert window.model.tz.key == "Europe/Berlin"


def test_an_offered_zone_is_selected_not_repeated(
    qtbot: QtBot, store: Store, paths: Paths
) -> None:
    window = _window(qtbot, store, paths, ZoneInfo("UTC"))
    texts = [window.zone_box.itemText(i) for i in range(window.zone_box.count())]

    assert window.zone_box.currentText() == "UTC"
    assert texts.count("UTC") == 1

    default = _window(qtbot, store, paths, None)
    assert default.zone_box.currentText() == "Worker's zone (Europe/Berlin)"
