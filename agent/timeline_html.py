"""The printable day report: ``punchclock report --format html``.

One self-contained HTML file (no script, no external file: screenshots'
thumbnails are embedded) with, per local day of the range, the timeline
picture as SVG — drawn from the same :class:`~agent.timeline.DayTimeline`
the timeline window paints — and the tables a lead reads: totals per
project, task, app and domain with their share of the day, activity per
slot, idle periods with their resolution, breaks and flags. Each day starts
on a new page when printed (landscape A4).

Everything recorded (titles, notes, app names) is escaped: a window title is
hostile input.
"""

from __future__ import annotations

import base64
import logging
import zlib
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from agent.timeline import (
    Bar,
    DayTimeline,
    Lane,
    LaneKind,
    TimelineSource,
    Total,
    Totals,
    day_bounds_ms,
    duration_text,
    load_day,
    moment_text,
)

log = logging.getLogger(__name__)

WIDTH = 1040
GUTTER = 96
MARGIN = 8
AXIS = 24
LANE_GAP = 3
LANE_HEIGHTS = {
    LaneKind.ENTRIES: 26,
    LaneKind.APPS: 18,
    LaneKind.TITLES: 18,
    LaneKind.DOMAINS: 18,
    LaneKind.ACTIVITY: 34,
    LaneKind.IDLE: 16,
    LaneKind.BREAKS: 16,
    LaneKind.FLAGS: 14,
}
SHOTS_HEIGHT = 52
THUMB = (72, 40)
# As ui/timeline_canvas paints them, so the paper matches the window.
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
# Ranges up to this many days get a page per day with its timeline picture.
PICTURED_DAYS = 7
GROUPS = (
    ("projects", "Project"),
    ("tasks", "Task"),
    ("apps", "App"),
    ("domains", "Domain"),
)

_STYLE = """
body { font: 12px/1.35 system-ui, sans-serif; color: #212121; margin: 16px; }
h1 { font-size: 18px; margin: 0 0 2px; }
h2 { font-size: 14px; margin: 14px 0 4px; }
.meta { color: #616161; margin: 0 0 8px; }
.summary { font-weight: bold; margin: 6px 0; }
section + section { break-before: page; }
.tables { display: grid; grid-template-columns: repeat(2, 1fr); gap: 8px 20px; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #e0e0e0; padding: 2px 5px; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: 9px; height: 9px; margin-right: 5px; }
svg text { font: 10px system-ui, sans-serif; }
svg .lane { fill: #424242; }
svg .hour { fill: #616161; }
@page { size: A4 landscape; margin: 10mm; }
@media print { body { margin: 0; } }
"""


def hsv_hex(hue: int, saturation: int, value: int) -> str:
    """``#rrggbb`` of a Qt-style HSV colour (hue 0..359, the rest 0..255)."""
    s, v = saturation / 255, value / 255
    chroma = v * s
    x = chroma * (1 - abs((hue / 60) % 2 - 1))
    m = v - chroma
    sector = [
        (chroma, x, 0.0),
        (x, chroma, 0.0),
        (0.0, chroma, x),
        (0.0, x, chroma),
        (x, 0.0, chroma),
        (chroma, 0.0, x),
    ][int(hue // 60) % 6]
    return "#" + "".join(f"{round((c + m) * 255):02x}" for c in sector)


def key_colour(key: str, saturation: int = 150, value: int = 215) -> str:
    """The colour ui.timeline_canvas.key_colour gives ``key``, as hex."""
    return hsv_hex(zlib.crc32(key.encode("utf-8")) % 360, saturation, value)


def _colour(kind: LaneKind, key: str) -> str:
    if kind is LaneKind.IDLE:
        return IDLE_COLOURS.get(key, "#e53935")
    if kind is LaneKind.ENTRIES:
        return key_colour(key, 170, 200)
    if key in FIXED_COLOURS:
        return FIXED_COLOURS[key]
    return key_colour(key, 90, 225)


# --- the report ----------------------------------------------------------------


def render_days_html(
    source: TimelineSource,
    tz: ZoneInfo,
    date_from: date,
    date_to: date,
    generated: datetime,
    cost: str = "",
) -> str:
    """The report of ``date_from``..``date_to`` (local days in ``tz``).

    A range of several days opens with its totals and a line per day; each
    day then gets its own page with the timeline picture, up to
    :data:`PICTURED_DAYS` days (a month of pictures is hundreds of pages).
    ``cost`` (``--with-cost``: :func:`cost_section`) comes first.
    """
    days = [
        date_from + timedelta(days=offset)
        for offset in range((date_to - date_from).days + 1)
    ]
    title = (
        f"Day report {date_from.isoformat()}"
        if date_from == date_to
        else f"Report {date_from.isoformat()} to {date_to.isoformat()}"
    )
    parts = [cost] if cost else []
    if len(days) > 1:
        parts.append(_range_section(source, tz, days))
    if len(days) <= PICTURED_DAYS:
        parts += (_day_section(load_day(source, day, tz), source) for day in days)
    sections = "\n".join(parts)
    stamp = generated.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
    return (
        "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
        f"<title>{escape(title)} — Punchclock</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<p class='meta'>Punchclock · recorded on {escape(source.title)} · "
        f"generated {escape(stamp)}</p>\n{sections}\n</body>\n</html>\n"
    )


def cost_section(
    title: str, heads: Sequence[str], rows: Iterable[Sequence[str]], notes: list[str]
) -> str:
    """The cost tables of ``report --with-cost`` (text cells; escaped here).
    The last row is the totals."""
    cells = [[escape(cell) for cell in row] for row in rows]
    body = "".join(f"<p class='meta'>{escape(note)}</p>\n" for note in notes)
    return (
        f"<section class='cost'>\n<h1>{escape(title)}</h1>\n"
        + _table("Cost", heads, cells, "cost", frozenset({1, 2, 3}))
        + f"\n{body}</section>"
    )


def _summary(totals: Totals, screenshots: int | None = None) -> str:
    parts = [
        f"Tracked {duration_text(totals.tracked_seconds)}",
        f"breaks {duration_text(totals.break_seconds)}",
        f"idle {duration_text(totals.idle_seconds)}",
    ]
    if screenshots is not None:
        parts.append(f"{screenshots} screenshots")
    return " · ".join(parts)


def _totals_tables(totals: Totals) -> str:
    return "\n".join(
        _totals_table(group, head, totals.by(group)) for group, head in GROUPS
    )


def _range_section(source: TimelineSource, tz: ZoneInfo, days: list[date]) -> str:
    first_ms, _ = day_bounds_ms(days[0], tz)
    _, last_ms = day_bounds_ms(days[-1], tz)
    totals = source.totals(first_ms, last_ms)
    lines = []
    for day in days:
        start_ms, end_ms = day_bounds_ms(day, tz)
        of_day = source.totals(start_ms, end_ms, apps=False)
        top = of_day.projects[0].key if of_day.projects else ""
        lines.append(
            [
                f"{day:%a %d %b %Y}",
                duration_text(of_day.tracked_seconds),
                f"{of_day.tracked_seconds / totals.tracked_seconds:.1%}"
                if totals.tracked_seconds
                else "",
                duration_text(of_day.break_seconds),
                duration_text(of_day.idle_seconds),
                escape(top),
            ]
        )
    pictured = (
        ""
        if len(days) <= PICTURED_DAYS
        else f"<p class='meta'>Day pages with the timeline picture come with "
        f"ranges of up to {PICTURED_DAYS} days; report a week at a time for "
        "them.</p>\n"
    )
    return (
        f"<section class='range' data-from='{days[0].isoformat()}' "
        f"data-to='{days[-1].isoformat()}'>\n"
        f"<h1>{days[0]:%d %B %Y} to {days[-1]:%d %B %Y} ({len(days)} days, "
        f"{escape(tz.key or str(tz))})</h1>\n"
        f"<p class='summary'>{escape(_summary(totals))}</p>\n{pictured}"
        f"<div class='tables'>\n{_totals_tables(totals)}\n</div>\n"
        + _table(
            "Days",
            ["Day", "Tracked", "Share", "Breaks", "Idle", "Most time on"],
            lines,
            "days",
            frozenset({1, 2, 3, 4}),
        )
        + "\n</section>"
    )


def _day_section(timeline: DayTimeline, source: TimelineSource) -> str:
    totals = timeline.totals
    summary = _summary(totals, len(timeline.screenshots))
    tables = _totals_tables(totals)
    return (
        f"<section class='day' data-day='{timeline.day.isoformat()}'>\n"
        f"<h1>{timeline.day:%A %d %B %Y} "
        f"({timeline.hours:g} h, {escape(timeline.tz_name)})</h1>\n"
        f"{day_svg(timeline, source)}\n"
        f"<p class='summary'>{escape(summary)}</p>\n"
        f"<div class='tables'>\n{tables}\n</div>\n"
        f"{_activity_table(timeline)}\n{_idle_table(timeline)}\n"
        f"{_breaks_table(timeline)}\n{_flags_table(timeline)}\n"
        "</section>"
    )


def _table(
    caption: str,
    heads: Sequence[str],
    rows: Iterable[Sequence[str]],
    name: str,
    numeric: frozenset[int] = frozenset(),
) -> str:
    """A table of cells already escaped; ``numeric`` columns align right."""
    numeric_flags = [index in numeric for index in range(len(heads))]
    head = "".join(
        f"<th class='num'>{escape(h)}</th>" if n else f"<th>{escape(h)}</th>"
        for h, n in zip(heads, numeric_flags, strict=True)
    )
    body = []
    for row in rows:
        cells = "".join(
            f"<td class='num'>{cell}</td>" if n else f"<td>{cell}</td>"
            for cell, n in zip(row, numeric_flags, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    if not body:
        body.append(f"<tr><td colspan='{len(heads)}'>none</td></tr>")
    return (
        f"<div><h2>{escape(caption)}</h2><table id='{name}'><thead><tr>{head}"
        f"</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
    )


def _totals_table(group: str, head: str, rows: Sequence[Total]) -> str:
    def name(row: Total) -> str:
        if group != "projects":
            return escape(row.key)
        colour = key_colour(row.key, 170, 200)
        swatch = f"<span class='swatch' style='background:{colour}'></span>"
        return swatch + escape(row.key)

    return _table(
        f"{head}s",
        [head, "Time", "Share of the day"],
        ([name(row), duration_text(row.seconds), f"{row.share:.1%}"] for row in rows),
        f"totals-{group}",
        frozenset({1, 2}),
    )


def _when(timeline: DayTimeline, bar: Bar) -> str:
    tz = timeline.tz
    return f"{moment_text(bar.start_ms, tz)[:5]}–{moment_text(bar.end_ms, tz)[:5]}"


def _length(bar: Bar) -> str:
    return duration_text((bar.end_ms - bar.start_ms) / 1000)


def _activity_table(timeline: DayTimeline) -> str:
    bars = timeline.lane(LaneKind.ACTIVITY).bars
    return _table(
        "Activity per slot",
        ["Slot", "Activity", "Detail"],
        ([_when(timeline, bar), escape(bar.label), escape(bar.detail)] for bar in bars),
        "activity",
        frozenset({1}),
    )


def _idle_table(timeline: DayTimeline) -> str:
    return _table(
        "Idle periods",
        ["When", "Length", "Resolution", "Detail"],
        (
            [
                _when(timeline, bar),
                _length(bar),
                escape(bar.key),
                escape(bar.detail).replace("\n", "<br>"),
            ]
            for bar in timeline.lane(LaneKind.IDLE).bars
        ),
        "idle",
        frozenset({1}),
    )


def _breaks_table(timeline: DayTimeline) -> str:
    return _table(
        "Breaks",
        ["When", "Length", "Policy", "Paid"],
        (
            [_when(timeline, bar), _length(bar), escape(bar.label), escape(bar.key)]
            for bar in timeline.lane(LaneKind.BREAKS).bars
        ),
        "breaks",
        frozenset({1}),
    )


def _flags_table(timeline: DayTimeline) -> str:
    return _table(
        "Unusual activity",
        ["Slot", "Reason"],
        (
            [_when(timeline, bar), escape(bar.detail).replace("\n", "<br>")]
            for bar in timeline.lane(LaneKind.FLAGS).bars
        ),
        "flags",
    )


# --- the picture ---------------------------------------------------------------------


def day_svg(timeline: DayTimeline, source: TimelineSource | None = None) -> str:
    """The day's lanes as one SVG, the whole day across :data:`WIDTH` pixels.

    Bars narrower than a pixel that fall on a pixel already drawn are left
    out, so a day of 30k spans stays a few thousand shapes.
    """
    plot = WIDTH - GUTTER - MARGIN
    ms_per_px = (timeline.end_ms - timeline.start_ms) / plot
    lanes_height = sum(LANE_HEIGHTS.values()) + LANE_GAP * len(LANE_HEIGHTS)
    height = AXIS + lanes_height + SHOTS_HEIGHT + MARGIN

    def x_of(moment_ms: int) -> float:
        return GUTTER + (moment_ms - timeline.start_ms) / ms_per_px

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' "
        f"height='{height}' viewBox='0 0 {WIDTH} {height}' role='img' "
        f"aria-label='Timeline of {timeline.day.isoformat()}'>",
        "<defs><pattern id='unknown' width='5' height='5' "
        "patternUnits='userSpaceOnUse' patternTransform='rotate(45)'>"
        "<rect width='5' height='5' fill='#eeeeee'/>"
        "<line x1='0' y1='0' x2='0' y2='5' stroke='#9e9e9e' stroke-width='2'/>"
        "</pattern></defs>",
    ]
    parts += _hours(timeline, x_of, height, ms_per_px)
    y = AXIS
    for lane in timeline.lanes:
        lane_height = LANE_HEIGHTS[lane.kind]
        parts.append(
            f"<rect x='{GUTTER}' y='{y}' width='{plot}' height='{lane_height}' "
            "fill='#ffffff' stroke='#eeeeee'/>"
            f"<text class='lane' x='4' y='{y + lane_height / 2 + 3.5:.1f}'>"
            f"{escape(lane.title)}</text>"
        )
        if lane.kind is LaneKind.ACTIVITY:
            parts += _activity(timeline, lane, x_of, y, lane_height)
        else:
            parts += _bars(timeline, lane, x_of, y, lane_height)
        y += lane_height + LANE_GAP
    parts.append(f"<text class='lane' x='4' y='{y + 16}'>Screenshots</text>")
    parts += _screenshots(timeline, source, x_of, y)
    parts.append("</svg>")
    return "\n".join(parts)


def _hours(
    timeline: DayTimeline, x_of: Callable[[int], float], height: int, ms_per_px: float
) -> list[str]:
    every = 1
    while every * 3_600_000 / ms_per_px < 34:
        every *= 2
    parts = []
    moment, index = timeline.start_ms, 0
    while moment < timeline.end_ms:
        if index % every == 0:
            x = x_of(moment)
            label = timeline.local(moment).strftime("%H:%M")
            parts.append(
                f"<line x1='{x:.1f}' y1='{AXIS - 4}' x2='{x:.1f}' "
                f"y2='{height - MARGIN}' stroke='#e0e0e0'/>"
                f"<text class='hour' x='{x + 2:.1f}' y='{AXIS - 8}'>{label}</text>"
            )
        moment += 3_600_000
        index += 1
    return parts


def _tooltip(timeline: DayTimeline, bar: Bar) -> str:
    return escape(f"{_when(timeline, bar)} ({_length(bar)})\n{bar.detail}")


def _bars(
    timeline: DayTimeline,
    lane: Lane,
    x_of: Callable[[int], float],
    y: int,
    lane_height: int,
) -> list[str]:
    parts = []
    covered = -1.0
    for bar in lane.bars:
        x0, x1 = x_of(bar.start_ms), x_of(bar.end_ms)
        if x1 <= covered:
            continue
        left = max(x0, covered) if x1 - x0 < 1 else x0
        width = max(x1 - left, 1.0)
        covered = left + width
        colour = _colour(lane.kind, bar.key)
        parts.append(
            f"<rect x='{left:.1f}' y='{y + 2}' width='{width:.1f}' "
            f"height='{lane_height - 4}' fill='{colour}'>"
            f"<title>{_tooltip(timeline, bar)}</title></rect>"
        )
        room = int((width - 6) / 5.6)
        if room >= 4:
            label = bar.label if len(bar.label) <= room else bar.label[: room - 1] + "…"
            parts.append(
                f"<text x='{left + 3:.1f}' y='{y + lane_height / 2 + 3.5:.1f}'>"
                f"{escape(label)}</text>"
            )
    return parts


def _activity(
    timeline: DayTimeline,
    lane: Lane,
    x_of: Callable[[int], float],
    y: int,
    lane_height: int,
) -> list[str]:
    parts = []
    usable = lane_height - 4
    for bar in lane.bars:
        x0 = x_of(bar.start_ms)
        width = max(x_of(bar.end_ms) - x0 - 0.5, 0.8)
        if bar.value is None:
            shape = (
                f"<rect x='{x0:.1f}' y='{y + 2}' width='{width:.1f}' "
                f"height='{usable}' fill='url(#unknown)'>"
            )
        else:
            bar_height = max(round(usable * bar.value / 100), 1)
            fill = (
                hsv_hex(int(bar.value * 1.2), 170, 200)
                if bar.key == "activity"
                else FIXED_COLOURS["flagged"]
            )
            shape = (
                f"<rect x='{x0:.1f}' y='{y + lane_height - 2 - bar_height}' "
                f"width='{width:.1f}' height='{bar_height}' fill='{fill}'>"
            )
        parts.append(f"{shape}<title>{_tooltip(timeline, bar)}</title></rect>")
    return parts


def _screenshots(
    timeline: DayTimeline,
    source: TimelineSource | None,
    x_of: Callable[[int], float],
    y: int,
) -> list[str]:
    parts = []
    free_from = float(GUTTER)
    for mark in timeline.screenshots:
        x = x_of(mark.moment_ms)
        tick = "#1565c0" if mark.image else "#9e9e9e"
        when = moment_text(mark.moment_ms, timeline.tz)
        title = escape(f"Screenshot at {when}\n{mark.detail}")
        parts.append(
            f"<rect x='{x:.1f}' y='{y + 2}' width='1.5' height='8' fill='{tick}'>"
            f"<title>{title}</title></rect>"
        )
        left = x - THUMB[0] / 2
        data = source.image(mark.thumbnail) if source and mark.thumbnail else None
        if data is None or left < free_from:
            continue
        encoded = base64.b64encode(data).decode("ascii")
        parts.append(
            f"<image x='{left:.1f}' y='{y + 11}' width='{THUMB[0]}' "
            f"height='{THUMB[1]}' preserveAspectRatio='xMidYMid slice' "
            f"href='data:image/jpeg;base64,{encoded}'><title>{title}</title></image>"
        )
        free_from = left + THUMB[0] + 4
    return parts
