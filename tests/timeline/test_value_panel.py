"""The timeline window's Value tab: the week of the shown day against the
in-house baselines, from the same figures as `punchclock value report`."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from agent.clock import ManualClock
from agent.paths import Paths
from agent.projects import Projects
from agent.store import Store
from agent.timeline import StoreSource
from agent.timer import Timer
from tests.money.conftest import BERLIN, Desk, local
from tests.money.test_value import _example
from ui.timeline import TimelineWindow
from ui.timeline_model import TimelineModel

SETTINGS = """\
version = 1
[general]
time_zone = "Europe/Berlin"
[rates]
rate = [
  {amount = 20, kind = "bill", project = "Acme"},
  {amount = 24, kind = "bill", project = "Globex"},
]
"""


@pytest.fixture
def window(qtbot: QtBot, store: Store, paths: Paths) -> TimelineWindow:
    paths.settings_file.write_text(SETTINGS, encoding="utf-8")
    clock = ManualClock(local("2026-03-30 08:00"))
    projects = Projects(store, clock)
    projects.add("Acme", ["Design", "Translation"])
    projects.add("Globex", ["Translation"])
    _example(Desk(store, clock, Timer(store, clock), projects))
    source = StoreSource(store, paths.screenshots_dir, BERLIN, clock.now)
    window = TimelineWindow(TimelineModel(source, local("2026-03-24 12:00").date()))
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.canvas.first_painted, timeout=5000):
        window.show()
    return window


def test_the_value_tab_shows_the_days_week_against_the_baseline(
    qtbot: QtBot, window: TimelineWindow, artifacts_dir: Path
) -> None:
    panel = window.value
    assert panel is not None
    table = panel.table
    cells = [table.item(0, column).text() for column in range(table.columnCount())]

    # The week of 23 March, checked by hand in tests/money/test_value.py.
    assert cells == [
        "translation", "12", "5:00", "25", "30", "8.67 EUR", "30.00 EUR",
        "256.00 EUR", "-28 %",
    ]  # fmt: skip
    assert table.rowCount() == 1
    assert panel.caption.text().startswith("Outsourced work in the week from 23 March")

    window.totals.setCurrentWidget(panel)
    assert window.grab().save(str(artifacts_dir / "timeline-value-tab.png"))


def test_a_week_without_outsourced_work_says_how_to_add_it(
    qtbot: QtBot, window: TimelineWindow
) -> None:
    with qtbot.waitSignal(window.model.changed, timeout=5000):
        window.model.step(14)

    assert window.value is not None
    assert window.value.table.rowCount() == 0
    assert "punchclock value baseline set" in window.value.caption.text()
