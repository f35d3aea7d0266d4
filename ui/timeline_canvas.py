"""The timeline's lanes, painted with QPainter from a DayTimeline.

Paint cost is bounded by the width, not by the number of spans: on each
lane only the bars inside the view are visited (bisect on their starts), and
a bar narrower than a pixel that falls on a pixel already painted is
skipped. A day of 30k spans paints in a few tens of milliseconds at any
zoom.

Mouse: the wheel zooms around the pointer, Shift+wheel (or a horizontal
wheel) and dragging scroll; hovering shows the bar's details; a click on a
screenshot emits :attr:`TimelineCanvas.screenshot_clicked`. Keyboard: + and
- zoom, 0 shows the whole day, Left/Right scroll, Home/End jump,
PageUp/PageDown ask for the previous/next day.
"""

from __future__ import annotations

import bisect
import logging
import zlib
from collections.abc import Callable, Sequence

from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from agent.timeline import (
    Bar,
    DayTimeline,
    Lane,
    LaneKind,
    ScreenshotMark,
    duration_text,
    moment_text,
)

log = logging.getLogger(__name__)

GUTTER = 104
AXIS = 30
MARGIN = 10
LANE_HEIGHTS = {
    LaneKind.ENTRIES: 30,
    LaneKind.APPS: 22,
    LaneKind.TITLES: 22,
    LaneKind.DOMAINS: 22,
    LaneKind.ACTIVITY: 44,
    LaneKind.IDLE: 20,
    LaneKind.BREAKS: 20,
    LaneKind.FLAGS: 18,
}
SHOTS_HEIGHT = 78
THUMB = QSize(96, 54)
LANE_GAP = 4
MIN_MS_PER_PX = 50.0  # zoomed in fully: 20 px per second
ZOOM_STEP = 1.25
# Finer hour ticks as the view narrows: round minutes, then round seconds.
TICK_STEPS_MS = (600_000, 300_000, 60_000, 30_000, 10_000)

IDLE_COLOURS = {
    "keep": "#4caf50",
    "discard": "#9e9e9e",
    "reassign": "#42a5f5",
    "break": "#ffa726",
    "split": "#ab47bc",
    "stop": "#616161",
    "unresolved": "#e53935",
}
FIXED_COLOURS = {
    "paid": "#26a69a",
    "unpaid": "#ffb300",
    "flag": "#d32f2f",
    "flagged": "#ef6c00",
    "activity": "#43a047",
}


def key_colour(key: str, saturation: int = 150, value: int = 215) -> QColor:
    """A stable colour per key (project, app, domain) across runs and machines."""
    hue = zlib.crc32(key.encode("utf-8")) % 360
    return QColor.fromHsv(hue, saturation, value)


class TimelineCanvas(QWidget):
    view_changed = Signal()
    """The visible time range changed (zoom or scroll)."""
    day_step_requested = Signal(int)
    hovered = Signal(str)
    screenshot_clicked = Signal(object)
    """The id of the screenshot clicked (63-bit: too wide for a Qt int)."""
    first_painted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline-canvas")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.timeline: DayTimeline | None = None
        self.view_start_ms = 0
        self.ms_per_px = 60_000.0
        self.hover_text = ""
        self._starts: dict[LaneKind, list[int]] = {}
        self._colours: dict[tuple[LaneKind, str], QColor] = {}
        self._thumbnails: dict[int, QPixmap] = {}
        self._drag_from: tuple[int, int] | None = None
        self._painted = False
        self._shot_hits: list[tuple[QRect, ScreenshotMark]] = []
        # The range a new day opened on, kept while the widget gets its real
        # width; forgotten once the viewer zooms or scrolls.
        self._focus: tuple[int, int] | None = None
        self.setMinimumHeight(self._height())

    # --- data and view --------------------------------------------------------

    def set_timeline(self, timeline: DayTimeline, *, keep_view: bool = False) -> None:
        """Show ``timeline``: a new day opens on its recorded part
        (:meth:`DayTimeline.focus_range`); ``keep_view`` (a refresh of the
        same day) keeps the range and the thumbnails on screen."""
        self.timeline = timeline
        self._starts = {
            lane.kind: [bar.start_ms for bar in lane.bars] for lane in timeline.lanes
        }
        if keep_view:
            if self._focus is not None:  # not moved yet: follow the day
                self._focus = timeline.focus_range()
                self.show_range(*self._focus)
            else:
                self._view_moved()
            return
        self._thumbnails.clear()
        self._focus = timeline.focus_range()
        self.show_range(*self._focus)

    def show_range(self, start_ms: int, end_ms: int) -> None:
        """Zoom so that ``start_ms``..``end_ms`` fills the width."""
        self.ms_per_px = max((end_ms - start_ms) / self.plot_width, MIN_MS_PER_PX)
        self.view_start_ms = start_ms
        self._view_moved()

    @property
    def painted(self) -> bool:
        """Whether a day has been painted once."""
        return self._painted

    def has_thumbnail(self, shot_id: int) -> bool:
        return shot_id in self._thumbnails

    def set_thumbnail(self, shot_id: int, image: QImage) -> None:
        self._thumbnails[shot_id] = QPixmap.fromImage(image)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(1200, self._height())

    def _height(self) -> int:
        lanes = sum(LANE_HEIGHTS.values()) + LANE_GAP * len(LANE_HEIGHTS)
        return AXIS + lanes + SHOTS_HEIGHT + MARGIN

    @property
    def plot_width(self) -> int:
        return max(self.width() - GUTTER - MARGIN, 50)

    @property
    def view_end_ms(self) -> int:
        return self.view_start_ms + round(self.plot_width * self.ms_per_px)

    def fit_day(self) -> None:
        self._focus = None
        if self.timeline is None:
            return
        span = self.timeline.end_ms - self.timeline.start_ms
        self.ms_per_px = span / self.plot_width
        self.view_start_ms = self.timeline.start_ms
        self._view_moved()

    def zoom(self, factor: float, anchor_x: int | None = None) -> None:
        """Zoom by ``factor`` (>1 zooms in) keeping the moment under x fixed."""
        if self.timeline is None:
            return
        self._focus = None
        x = self.plot_width // 2 if anchor_x is None else anchor_x - GUTTER
        anchor_ms = self.view_start_ms + x * self.ms_per_px
        widest = (self.timeline.end_ms - self.timeline.start_ms) / self.plot_width
        self.ms_per_px = min(max(self.ms_per_px / factor, MIN_MS_PER_PX), widest)
        self.view_start_ms = round(anchor_ms - x * self.ms_per_px)
        self._view_moved()

    def scroll_to(self, start_ms: int) -> None:
        self._focus = None
        self.view_start_ms = start_ms
        self._view_moved()

    def scroll_by_px(self, pixels: int) -> None:
        self.scroll_to(self.view_start_ms + round(pixels * self.ms_per_px))

    def _view_moved(self) -> None:
        if self.timeline is not None:
            span = round(self.plot_width * self.ms_per_px)
            latest = self.timeline.end_ms - span
            self.view_start_ms = max(
                self.timeline.start_ms, min(self.view_start_ms, latest)
            )
        self.update()
        self.view_changed.emit()

    def x_of(self, moment_ms: int) -> int:
        return GUTTER + int((moment_ms - self.view_start_ms) / self.ms_per_px)

    def moment_at(self, x: int) -> int:
        return self.view_start_ms + round((x - GUTTER) * self.ms_per_px)

    def lane_rects(self) -> list[tuple[LaneKind | None, QRect]]:
        """Each lane's rectangle, top to bottom; None is the screenshots lane."""
        rects: list[tuple[LaneKind | None, QRect]] = []
        y = AXIS
        for kind, height in LANE_HEIGHTS.items():
            rects.append((kind, QRect(GUTTER, y, self.plot_width, height)))
            y += height + LANE_GAP
        rects.append((None, QRect(GUTTER, y, self.plot_width, SHOTS_HEIGHT)))
        return rects

    # --- painting -----------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        try:
            painter.fillRect(self.rect(), QColor("#fafafa"))
            if self.timeline is None:
                painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Loading…")
                return
            self._paint(painter, self.timeline)
        finally:
            painter.end()
        if not self._painted and self.timeline is not None:
            self._painted = True
            self.first_painted.emit()

    def _paint(self, painter: QPainter, timeline: DayTimeline) -> None:
        small = QFont(self.font())
        small.setPointSizeF(max(small.pointSizeF() - 1, 7))
        painter.setFont(small)
        metrics = QFontMetrics(small)
        self._paint_hours(painter, timeline, metrics)
        lanes = {lane.kind: lane for lane in timeline.lanes}
        for kind, rect in self.lane_rects():
            painter.fillRect(rect, QColor("#ffffff"))
            painter.setPen(QColor("#424242"))
            title = "Screenshots" if kind is None else lanes[kind].title
            painter.drawText(
                QRect(6, rect.y(), GUTTER - 10, rect.height()),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                title,
            )
            painter.setClipRect(rect)
            if kind is None:
                self._paint_screenshots(painter, timeline, rect)
            elif kind is LaneKind.ACTIVITY:
                self._paint_activity(painter, lanes[kind], rect, metrics)
            else:
                self._paint_bars(painter, lanes[kind], rect, metrics)
            painter.setClipping(False)
        self._paint_now_line(painter, timeline)

    def _paint_hours(
        self, painter: QPainter, timeline: DayTimeline, metrics: QFontMetrics
    ) -> None:
        """A tick per hour (down to 10 seconds zoomed in), labelled in the zone.

        Ticks are placed in elapsed time from the day's start, so a 23- or
        25-hour day shows the repeated or missing hour as it happened.
        """
        step = 3_600_000
        for finer in TICK_STEPS_MS:
            if step / self.ms_per_px <= 160:
                break
            step = finer
        while step / self.ms_per_px < 44:
            step *= 2
        bottom = self._height() - MARGIN
        first = timeline.start_ms + max(
            0, (self.view_start_ms - timeline.start_ms) // step * step
        )
        moment = first
        while moment <= min(self.view_end_ms, timeline.end_ms):
            x = self.x_of(moment)
            if x >= GUTTER:
                painter.setPen(QPen(QColor("#e0e0e0")))
                painter.drawLine(x, AXIS - 4, x, bottom)
                painter.setPen(QColor("#616161"))
                label = moment_text(moment, timeline.tz)[: 5 if step >= 60_000 else 8]
                painter.drawText(x + 3, AXIS - 10, label)
            moment += step
        painter.setPen(QColor("#bdbdbd"))
        painter.drawLine(GUTTER, AXIS - 4, GUTTER + self.plot_width, AXIS - 4)

    def _colour(self, kind: LaneKind, key: str) -> QColor:
        cached = self._colours.get((kind, key))
        if cached is not None:
            return cached
        if kind is LaneKind.IDLE:
            colour = QColor(IDLE_COLOURS.get(key, "#e53935"))
        elif key in FIXED_COLOURS and kind is not LaneKind.ENTRIES:
            colour = QColor(FIXED_COLOURS[key])
        elif kind is LaneKind.ENTRIES:
            colour = key_colour(key, 170, 200)
        else:
            colour = key_colour(key, 90, 225)
        self._colours[(kind, key)] = colour
        return colour

    def _visible(self, lane: Lane) -> Sequence[Bar]:
        starts = self._starts.get(lane.kind, [])
        first = max(bisect.bisect_right(starts, self.view_start_ms) - 1, 0)
        if lane.kind in (LaneKind.IDLE, LaneKind.FLAGS, LaneKind.BREAKS):
            first = 0  # few bars, which may overlap
        last = bisect.bisect_left(starts, self.view_end_ms)
        return lane.bars[first:last]

    def _paint_bars(
        self, painter: QPainter, lane: Lane, rect: QRect, metrics: QFontMetrics
    ) -> None:
        visible = self._visible(lane)
        if len(visible) > self.plot_width:
            self._paint_dense(painter, lane, rect)
            return
        top, height = rect.y() + 2, rect.height() - 4
        covered = -1
        for bar in visible:
            x0, x1 = self.x_of(bar.start_ms), self.x_of(bar.end_ms)
            if x1 <= covered:
                continue  # this pixel is painted already
            x0 = max(x0, covered + 1) if x1 - x0 < 1 else x0
            width = max(x1 - x0, 1)
            painter.fillRect(x0, top, width, height, self._colour(lane.kind, bar.key))
            covered = x0 + width - 1
            shown_x = max(x0, GUTTER)  # a bar begun off-screen keeps its label
            shown = min(x0 + width, GUTTER + self.plot_width) - shown_x
            if shown > 36:
                painter.setPen(QColor("#212121"))
                text = metrics.elidedText(
                    bar.label, Qt.TextElideMode.ElideRight, shown - 6
                )
                painter.drawText(
                    QRect(shown_x + 3, top, shown - 6, height),
                    Qt.AlignmentFlag.AlignVCenter,
                    text,
                )

    def _paint_dense(self, painter: QPainter, lane: Lane, rect: QRect) -> None:
        """More bars than pixels: each pixel column shows the bar at its moment.

        One bisect per column instead of a visit per bar; runs of columns on
        one bar are painted as one rectangle.
        """
        starts = self._starts[lane.kind]
        bars = lane.bars
        top, height = rect.y() + 2, rect.height() - 4
        run_bar, run_x = -1, 0
        for column in range(self.plot_width + 1):
            moment = self.view_start_ms + column * self.ms_per_px
            index = bisect.bisect_right(starts, moment) - 1
            if index >= 0 and bars[index].end_ms <= moment:
                index = -1
            if index == run_bar and column < self.plot_width:
                continue
            if run_bar >= 0:
                colour = self._colour(lane.kind, bars[run_bar].key)
                painter.fillRect(GUTTER + run_x, top, column - run_x, height, colour)
            run_bar, run_x = index, column

    def _paint_activity(
        self, painter: QPainter, lane: Lane, rect: QRect, metrics: QFontMetrics
    ) -> None:
        bottom = rect.bottom() - 1
        usable = rect.height() - 4
        for bar in self._visible(lane):
            x0, x1 = self.x_of(bar.start_ms), self.x_of(bar.end_ms)
            width = max(x1 - x0 - 1, 1)
            if bar.value is None:
                # Hatched: unknown activity is not zero activity.
                box = QRect(x0, rect.y() + 2, width, usable)
                painter.fillRect(box, QColor("#eeeeee"))
                painter.fillRect(
                    box, QBrush(QColor("#9e9e9e"), Qt.BrushStyle.BDiagPattern)
                )
                continue
            height = max(round(usable * bar.value / 100), 1)
            colour = QColor(FIXED_COLOURS[bar.key])
            colour.setHsv(
                int(bar.value * 1.2) if bar.key == "activity" else colour.hue(),
                170,
                200,
            )
            painter.fillRect(x0, bottom - height, width, height, colour)
            if width > 28:
                painter.setPen(QColor("#212121"))
                painter.drawText(
                    QRect(x0, rect.y(), width, rect.height()),
                    Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                    bar.label,
                )

    def _paint_screenshots(
        self, painter: QPainter, timeline: DayTimeline, rect: QRect
    ) -> None:
        """A tick per screenshot; a thumbnail where there is room for one."""
        self._shot_hits = []
        free_from = rect.x()
        thumb_top = rect.y() + 14
        for mark in timeline.screenshots:
            x = self.x_of(mark.moment_ms)
            if x < rect.x() - THUMB.width() or x > rect.right():
                continue
            tick = QColor("#1565c0" if mark.image else "#9e9e9e")
            painter.fillRect(x, rect.y() + 2, 2, 10, tick)
            if x - THUMB.width() // 2 < free_from:
                self._shot_hits.append((QRect(x - 3, rect.y(), 8, 14), mark))
                continue
            box = QRect(
                x - THUMB.width() // 2, thumb_top, THUMB.width(), THUMB.height()
            )
            self._paint_thumbnail(painter, mark, box)
            self._shot_hits.append((box.united(QRect(x - 3, rect.y(), 8, 14)), mark))
            free_from = box.right() + 6

    def _paint_thumbnail(
        self, painter: QPainter, mark: ScreenshotMark, box: QRect
    ) -> None:
        pixmap = self._thumbnails.get(mark.id)
        if pixmap is not None:
            painter.drawPixmap(box, pixmap)
        else:
            painter.fillRect(box, QColor("#eceff1"))
            painter.setPen(QColor("#757575"))
            text = {"deleted": "deleted", "skipped": "not taken"}.get(mark.state, "…")
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.setPen(QColor("#90a4ae"))
        painter.drawRect(box.adjusted(0, 0, -1, -1))

    def _paint_now_line(self, painter: QPainter, timeline: DayTimeline) -> None:
        entries = timeline.lane(LaneKind.ENTRIES).bars
        running = [bar for bar in entries if "running" in bar.detail.splitlines()]
        for bar in running:
            x = self.x_of(bar.end_ms)
            painter.setPen(QPen(QColor("#d81b60"), 2))
            painter.drawLine(x, AXIS - 4, x, self._height() - MARGIN)

    # --- hover, click, keys ---------------------------------------------------

    def describe_at(self, point: QPoint) -> str:
        """The hover text for ``point``: a bar's times and details, or ""."""
        if self.timeline is None or point.x() < GUTTER:
            return ""
        for hit, mark in reversed(self._shot_hits):
            if hit.contains(point):
                when = moment_text(mark.moment_ms, self.timeline.tz)
                return f"Screenshot at {when}\n{mark.detail}"
        moment = self.moment_at(point.x())
        for kind, rect in self.lane_rects():
            if kind is None or not rect.contains(point):
                continue
            bar = self.timeline.lane(kind).at(moment)
            if bar is None:
                return ""
            tz = self.timeline.tz
            span = (
                f"{moment_text(bar.start_ms, tz)}–{moment_text(bar.end_ms, tz)}"
                f" ({duration_text((bar.end_ms - bar.start_ms) / 1000)})"
            )
            return f"{span}\n{bar.detail}"
        return ""

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        point = event.position().toPoint()
        if self._drag_from is not None:
            x, start = self._drag_from
            self.scroll_to(start - round((point.x() - x) * self.ms_per_px))
            return
        text = self.describe_at(point)
        if text != self.hover_text:
            self.hover_text = text
            self.hovered.emit(text)
            if text:
                QToolTip.showText(event.globalPosition().toPoint(), text, self)
            else:
                QToolTip.hideText()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        point = event.position().toPoint()
        if event.button() != Qt.MouseButton.LeftButton:
            return
        for hit, mark in reversed(self._shot_hits):
            if hit.contains(point):
                self.screenshot_clicked.emit(mark.id)
                return
        self._drag_from = (point.x(), self.view_start_ms)
        self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_from = None
        self.unsetCursor()

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta()
        horizontal = delta.x() != 0 or bool(
            event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        )
        steps = (delta.x() or delta.y()) / 120
        if horizontal:
            self.scroll_by_px(round(-steps * self.plot_width / 8))
        elif steps:
            self.zoom(ZOOM_STEP**steps, round(event.position().x()))
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        actions: dict[Qt.Key, Callable[[], object]] = {
            Qt.Key.Key_Plus: lambda: self.zoom(ZOOM_STEP * ZOOM_STEP),
            Qt.Key.Key_Equal: lambda: self.zoom(ZOOM_STEP * ZOOM_STEP),
            Qt.Key.Key_Minus: lambda: self.zoom(1 / (ZOOM_STEP * ZOOM_STEP)),
            Qt.Key.Key_0: self.fit_day,
            Qt.Key.Key_Left: lambda: self.scroll_by_px(-self.plot_width // 8),
            Qt.Key.Key_Right: lambda: self.scroll_by_px(self.plot_width // 8),
            Qt.Key.Key_Home: lambda: self.scroll_to(-(2**62)),
            Qt.Key.Key_End: lambda: self.scroll_to(2**62),
            Qt.Key.Key_PageUp: lambda: self.day_step_requested.emit(-1),
            Qt.Key.Key_PageDown: lambda: self.day_step_requested.emit(1),
        }
        action = actions.get(Qt.Key(key))
        if action is None:
            super().keyPressEvent(event)
            return
        action()

    def resizeEvent(self, event: QResizeEvent) -> None:
        if self.timeline is None:
            return
        if self._focus is not None:
            self.show_range(*self._focus)  # not yet moved: still the opening view
            return
        day_ms = self.timeline.end_ms - self.timeline.start_ms
        old_width = max(event.oldSize().width() - GUTTER - MARGIN, 50)
        if self.ms_per_px * old_width >= day_ms - 1:
            self.fit_day()  # the whole day was shown: keep showing it
            return
        self.ms_per_px = min(self.ms_per_px, day_ms / self.plot_width)
        self._view_moved()
