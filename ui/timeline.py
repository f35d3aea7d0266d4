"""The lead's timeline window: one day on a time axis, and its totals.

``punchclock timeline [DATE]`` opens it over the local store (whether or not
the tray runs: it only reads), ``punchclock timeline --bundle FILE`` over a
review bundle, read-only. The lanes are painted by
:class:`~ui.timeline_canvas.TimelineCanvas` from the
:class:`~ui.timeline_model.TimelineModel`; thumbnails are decoded after the
first paint, a few per event-loop turn, so the day shows at once.

The tray app opens it from "Open timeline" in the tray menu and the main
window's Timeline button (:meth:`ui.shell.Shell.open_timeline`): today in
the worker's zone, one window, raised when it is open already and let go
when it is closed (:attr:`TimelineWindow.closed`).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import date
from zoneinfo import ZoneInfo

from PySide6.QtCore import QByteArray, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QScrollBar,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from agent.timeline import DayTimeline, TimelineSource, Total, duration_text
from ui.display import require_desktop
from ui.timeline_canvas import THUMB, TimelineCanvas, key_colour
from ui.timeline_model import TimelineModel
from ui.value_panel import value_panel_for

log = logging.getLogger(__name__)

THUMBNAILS_PER_TURN = 12
TOTAL_GROUPS = (
    ("projects", "Projects"),
    ("tasks", "Tasks"),
    ("apps", "Apps"),
    ("domains", "Domains"),
)


class TimelineWindow(QWidget):
    closed = Signal()
    """The viewer closed the window (the tray app then lets it go)."""

    def __init__(self, model: TimelineModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.setObjectName("timeline-window")
        self.resize(1280, 760)
        self.canvas = TimelineCanvas(self)
        self.scrollbar = QScrollBar(Qt.Orientation.Horizontal, self)
        self.summary = QLabel(self)
        self.summary.setObjectName("timeline-summary")
        self.totals = QTabWidget(self)
        self.tables: dict[str, QTableWidget] = {}
        self.viewer: ScreenshotViewer | None = None
        self._pending_thumbnails: list[tuple[int, str]] = []
        self._thumbnail_timer = QTimer(self)
        self._thumbnail_timer.setInterval(0)
        self._thumbnail_timer.timeout.connect(self._load_some_thumbnails)

        self._build_toolbar()
        self._build_body()
        self._connect()
        self.model.load()

    # --- layout -----------------------------------------------------------------

    def _build_toolbar(self) -> None:
        self.previous_button = QPushButton("◀ Previous day", self)
        self.next_button = QPushButton("Next day ▶", self)
        self.day_label = QLabel(self)
        self.day_label.setObjectName("timeline-day")
        font = self.day_label.font()
        font.setPointSizeF(font.pointSizeF() + 3)
        font.setBold(True)
        self.day_label.setFont(font)
        self.zone_box = QComboBox(self)
        self._fill_zones()
        self.zoom_in = QPushButton("+", self)
        self.zoom_out = QPushButton("−", self)
        self.fit = QPushButton("Whole day", self)
        for button in (self.zoom_in, self.zoom_out):
            button.setFixedWidth(32)

        self.toolbar = QHBoxLayout()
        for widget in (self.previous_button, self.day_label, self.next_button):
            self.toolbar.addWidget(widget)
        self.toolbar.addStretch(1)
        self.toolbar.addWidget(QLabel("Time zone:", self))
        self.toolbar.addWidget(self.zone_box)
        for widget in (self.zoom_out, self.zoom_in, self.fit):
            self.toolbar.addWidget(widget)

    def _fill_zones(self) -> None:
        """The zones offered, the one drawn selected: a zone asked for that
        is none of them (``punchclock timeline --tz X``) is offered too."""
        shown = self.model.tz
        zones = self.model.zones()
        if all(zone.key != shown.key for _, zone in zones):
            zones.insert(0, (shown.key, shown))
        for label, zone in zones:
            self.zone_box.addItem(label, zone)
        keys = [zone.key for _, zone in zones]
        self.zone_box.setCurrentIndex(keys.index(shown.key))

    def _build_body(self) -> None:
        self.source_label = QLabel(self)
        self.source_label.setObjectName("timeline-source")
        if self.model.source.read_only:
            self.source_label.setStyleSheet(
                "background: #fff8e1; border: 1px solid #ffe082; padding: 4px;"
            )
        self.source_label.setText(self._source_text())

        for group, title in TOTAL_GROUPS:
            table = QTableWidget(0, 3, self)
            table.setObjectName(f"timeline-totals-{group}")
            table.setHorizontalHeaderLabels([title[:-1], "Time", "Share of the day"])
            table.verticalHeader().setVisible(False)
            table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
            header = table.horizontalHeader()
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
            self.tables[group] = table
            self.totals.addTab(table, title)
        # The outsourcing value of the day's week (ui/value_panel.py).
        self.value = value_panel_for(self.model.source)
        if self.value is not None:
            self.totals.addTab(self.value, "Value")

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.canvas)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFixedHeight(self.canvas.sizeHint().height() + 4)

        layout = QVBoxLayout(self)
        layout.addLayout(self.toolbar)
        layout.addWidget(self.source_label)
        layout.addWidget(scroll)
        layout.addWidget(self.scrollbar)
        layout.addWidget(self.summary)
        layout.addWidget(self.totals, 1)

    def _connect(self) -> None:
        self.model.changed.connect(self._show_timeline)
        self.model.refreshed.connect(lambda: self._show_timeline(refresh=True))
        self.model.failed.connect(self._show_failure)
        self.previous_button.clicked.connect(lambda: self.model.step(-1))
        self.next_button.clicked.connect(lambda: self.model.step(1))
        self.canvas.day_step_requested.connect(self.model.step)
        self.canvas.view_changed.connect(self._sync_scrollbar)
        self.canvas.screenshot_clicked.connect(self.open_screenshot)
        self.canvas.first_painted.connect(self._after_first_paint)
        self.scrollbar.valueChanged.connect(self._scrolled)
        self.zone_box.currentIndexChanged.connect(
            lambda index: self.model.set_zone(self.zone_box.itemData(index))
        )
        self.zoom_in.clicked.connect(lambda: self.canvas.zoom(1.5))
        self.zoom_out.clicked.connect(lambda: self.canvas.zoom(1 / 1.5))
        self.fit.clicked.connect(self.canvas.fit_day)
        for keys, step in (("Alt+Left", -1), ("Alt+Right", 1)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.activated.connect(lambda step=step: self.model.step(step))

    def _source_text(self) -> str:
        source = self.model.source
        if source.read_only:
            return f"Review bundle {source.title} — read-only; every file checked"
        return f"Recorded on {source.title}"

    # --- showing a day ---------------------------------------------------------

    def _show_timeline(self, refresh: bool = False) -> None:
        """Show the model's day; a ``refresh`` of today keeps the zoom, the
        scroll and the thumbnails already decoded."""
        timeline = self.model.timeline
        if timeline is None:
            return
        self.setWindowTitle(f"Timeline {timeline.day.isoformat()} — Punchclock")
        self.day_label.setText(
            f"{timeline.day:%A %d %B %Y}  ({timeline.hours:g} h, {timeline.tz_name})"
        )
        self.previous_button.setEnabled(self.model.can_step(-1))
        self.next_button.setEnabled(self.model.can_step(1))
        self.canvas.set_timeline(timeline, keep_view=refresh)
        if self.canvas.painted:
            # A refresh of today (each few seconds while the agent records)
            # leaves the week's value panel as it is: it reads a whole week.
            self._show_totals(timeline, value=not refresh)
        self._pending_thumbnails = [
            (mark.id, mark.thumbnail)
            for mark in timeline.screenshots
            if mark.thumbnail and not self.canvas.has_thumbnail(mark.id)
        ]
        if self.canvas.painted:
            self._start_thumbnails()

    def _after_first_paint(self) -> None:
        """The lanes are painted: the totals (tens of milliseconds for a busy
        day) and the thumbnails follow on the next turns of the event loop,
        after the picture has reached the screen."""
        QTimer.singleShot(0, self._show_first_totals)

    def _show_first_totals(self) -> None:
        if self.model.timeline is not None:
            self._show_totals(self.model.timeline)
        self._start_thumbnails()

    def _show_failure(self, message: str) -> None:
        self.summary.setText(f"This day cannot be shown: {message}")

    def _show_totals(self, timeline: DayTimeline, *, value: bool = True) -> None:
        totals = timeline.totals
        parts = [f"Tracked {duration_text(totals.tracked_seconds)}"]
        parts.append(f"breaks {duration_text(totals.break_seconds)}")
        parts.append(f"idle {duration_text(totals.idle_seconds)}")
        parts.append(f"{len(timeline.screenshots)} screenshots")
        self.summary.setText(" · ".join(parts))
        for group, _ in TOTAL_GROUPS:
            self._fill_table(self.tables[group], totals.by(group), group)
        if value and self.value is not None:
            self.value.show_day(timeline.day, self.model.tz)
        if log.isEnabledFor(logging.DEBUG):
            shown = json.dumps(self.shown_totals(), ensure_ascii=False)
            log.debug("timeline of %s shows %s", timeline.day, shown)

    def shown_totals(self) -> dict[str, object]:
        """What the window shows as totals, read back from its widgets: the
        summary line and each table's rows as (name, time, share) texts."""
        shown: dict[str, object] = {"summary": self.summary.text()}
        for group, table in self.tables.items():
            shown[group] = [
                [_text(table.item(row, column)) for column in range(3)]
                for row in range(table.rowCount())
            ]
        return shown

    def _fill_table(
        self, table: QTableWidget, rows: tuple[Total, ...], group: str
    ) -> None:
        table.setRowCount(len(rows))
        for index, row in enumerate(rows):
            name = QTableWidgetItem(row.key)
            if group == "projects":
                name.setData(
                    Qt.ItemDataRole.DecorationRole, key_colour(row.key, 170, 200)
                )
            time_item = QTableWidgetItem(duration_text(row.seconds))
            time_item.setTextAlignment(
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            )
            share = QTableWidgetItem(f"{row.share:.1%}")
            share.setTextAlignment(
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            )
            for column, item in enumerate((name, time_item, share)):
                table.setItem(index, column, item)

    # --- scrolling ------------------------------------------------------------------

    def _sync_scrollbar(self) -> None:
        timeline = self.canvas.timeline
        if timeline is None:
            return
        seconds = (timeline.end_ms - timeline.start_ms) // 1000
        page = round(self.canvas.plot_width * self.canvas.ms_per_px / 1000)
        self.scrollbar.blockSignals(True)
        self.scrollbar.setRange(0, max(seconds - page, 0))
        self.scrollbar.setPageStep(page)
        self.scrollbar.setValue((self.canvas.view_start_ms - timeline.start_ms) // 1000)
        self.scrollbar.blockSignals(False)

    def _scrolled(self, value: int) -> None:
        timeline = self.canvas.timeline
        if timeline is not None:
            self.canvas.scroll_to(timeline.start_ms + value * 1000)

    # --- screenshots --------------------------------------------------------------

    def _start_thumbnails(self) -> None:
        if self._pending_thumbnails:
            self._thumbnail_timer.start()

    def _load_some_thumbnails(self) -> None:
        batch = self._pending_thumbnails[:THUMBNAILS_PER_TURN]
        del self._pending_thumbnails[:THUMBNAILS_PER_TURN]
        for shot_id, key in batch:
            data = self.model.image(key)
            image = QImage.fromData(QByteArray(data)) if data else QImage()
            if not image.isNull():
                scaled = image.scaled(
                    THUMB,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
                self.canvas.set_thumbnail(shot_id, scaled)
        if not self._pending_thumbnails:
            self._thumbnail_timer.stop()

    def open_screenshot(self, shot_id: int) -> None:
        timeline = self.model.timeline
        if timeline is None:
            return
        mark = next((m for m in timeline.screenshots if m.id == shot_id), None)
        if mark is None:
            return
        data = self.model.image(mark.image)
        when = timeline.local(mark.moment_ms)
        title = f"Screenshot {when:%Y-%m-%d %H:%M:%S %Z} — {mark.detail}"
        if self.viewer is None:
            self.viewer = ScreenshotViewer(self)
        self.viewer.show_image(title, data, mark.detail)

    def closeEvent(self, event: QCloseEvent) -> None:
        super().closeEvent(event)
        if event.isAccepted():
            self.closed.emit()


def _text(item: QTableWidgetItem | None) -> str:
    return item.text() if item is not None else ""


class ScreenshotViewer(QDialog):
    """One full screenshot, scaled to the dialog; Escape closes it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline-screenshot")
        self.resize(1000, 620)
        self.image_label = QLabel(self)
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setMinimumSize(320, 180)
        self.caption = QLabel(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.image_label, 1)
        layout.addWidget(self.caption)
        self._pixmap = QPixmap()

    def show_image(self, title: str, data: bytes | None, detail: str) -> None:
        self.setWindowTitle(title)
        self._pixmap = QPixmap()
        if data:
            self._pixmap.loadFromData(data)
        if self._pixmap.isNull():
            self.image_label.setPixmap(QPixmap())
            self.image_label.setText(f"No image: {detail}")
        else:
            self._fit()
        self.caption.setText(title)
        self.show()
        self.raise_()

    @property
    def has_image(self) -> bool:
        return not self._pixmap.isNull()

    def _fit(self) -> None:
        if not self._pixmap.isNull():
            self.image_label.setPixmap(
                self._pixmap.scaled(
                    self.image_label.size(),
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
            )

    def resizeEvent(self, event: object) -> None:
        self._fit()


def open_timeline(source: TimelineSource, day: date) -> TimelineWindow:
    """Show a timeline window (an application must exist); the caller keeps
    the returned window referenced while it is open."""
    window = TimelineWindow(TimelineModel(source, day))
    window.show()
    return window


def run_timeline(
    source: TimelineSource,
    day: date,
    tz: ZoneInfo | None = None,
    *,
    exit_after_paint: bool = False,
) -> int:
    """``punchclock timeline``: an application with one timeline window.

    With ``exit_after_paint`` it prints the milliseconds from this call to
    the first paint of the day and quits (the P8 benchmark).
    """
    began = time.perf_counter()
    if QApplication.instance() is None:
        require_desktop(
            "the timeline",
            "export a bundle or use `punchclock report --format html`",
        )
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setApplicationName("Punchclock")
    window = TimelineWindow(TimelineModel(source, day, tz))
    if exit_after_paint:

        def painted() -> None:
            elapsed = (time.perf_counter() - began) * 1000
            print(f"first paint {elapsed:.0f} ms", flush=True)  # noqa: T201
            app.quit()

        window.canvas.first_painted.connect(painted)
    window.show()
    return app.exec()
