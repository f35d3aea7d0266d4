"""The outsourcing value totals for the timeline window: one tab beside the
day's totals, showing the week that holds the timeline's day, per kind of
task, against its in-house baseline (:mod:`agent.value`).

It renders what :func:`agent.value.value_report` returns; the report is
read through a loader the window is given, never by querying the store
here. Over a review bundle there are no baselines: no panel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from agent.errors import PunchclockError
from agent.value import ValueReport, ValueRow, period_start, value_report

log = logging.getLogger(__name__)

Loader = Callable[[date, date, ZoneInfo], ValueReport]
COLUMNS = (
    "Kind",
    "Units",
    "Time",
    "Min/unit",
    "In-house",
    "Cost/unit",
    "In-house",
    "Saving",
    "Trend",
)
EMPTY = (
    "No outsourced work of a kind with a baseline this week. Add baselines "
    "with `punchclock value baseline set` and units with `punchclock value "
    "units add`."
)


class ValuePanel(QWidget):
    def __init__(
        self, load: Loader, week_start: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("timeline-value")
        self._load = load
        self._week_start = week_start
        self.caption = QLabel(self)
        self.caption.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("timeline-value-table")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.Stretch
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)

    def show_day(self, day: date, tz: ZoneInfo) -> None:
        """The week holding ``day`` (and the week before, for the trend)."""
        first = period_start(day, "week", self._week_start)
        try:
            report = self._load(
                first - timedelta(days=7), first + timedelta(days=6), tz
            )
        except PunchclockError as error:
            log.warning("value report not shown: %s", error)
            self.caption.setText(f"The value report cannot be shown: {error}")
            self.table.setRowCount(0)
            return
        rows = [row for row in report.rows if row.period_start == first]
        self.caption.setText(
            f"Outsourced work in the week from {first:%d %B %Y}, costs at the "
            f"{report.basis} rate, against in-house baselines"
            if rows
            else EMPTY
        )
        self.table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            for column, text in enumerate(_cells(row)):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(index, column, item)


def _cells(row: ValueRow) -> list[str]:
    shown = row.as_json()
    currency = row.baseline.currency

    def money(key: str) -> str:
        value = shown[key]
        return "—" if value is None else f"{value:,.2f} {currency}"

    def number(key: str, suffix: str = "") -> str:
        value = shown[key]
        return "—" if value is None else f"{value:g}{suffix}"

    trend = shown["cost_trend_percent"]
    minutes = round(row.seconds / 60)
    return [
        row.kind,
        f"{row.units.normalize():f}",
        f"{minutes // 60}:{minutes % 60:02d}",
        number("minutes_per_unit"),
        number("baseline_minutes_per_unit"),
        money("cost_per_unit"),
        money("baseline_cost_per_unit"),
        money("saving"),
        "—" if trend is None else f"{trend:+.0f} %",
    ]


def value_panel_for(source: object) -> ValuePanel | None:
    """The panel over a timeline source that reads the local store
    (:class:`agent.timeline.StoreSource`, whose store and clock it reads
    through); None for a review bundle, which carries no baselines."""
    if getattr(source, "read_only", True):
        return None
    store = getattr(source, "_store", None)
    now: Callable[[], datetime] = getattr(source, "_now", lambda: datetime.now(UTC))
    if store is None:
        return None
    from agent.paths import Paths
    from agent.policy import load_effective

    settings = load_effective(Paths.from_env()).settings

    def load(first: date, last: date, tz: ZoneInfo) -> ValueReport:
        return value_report(store, settings, tz, first, last, now())

    return ValuePanel(load, settings.general.week_start)
