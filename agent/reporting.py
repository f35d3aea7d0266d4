"""Feeding the report builder from the store.

Entries answer "by day, project, task": a range holds few of them, and
:func:`agent.report.build_report` totals them as intervals. Spans answer "by
app, title, domain": a month holds a million of them, so they are summed in
SQLite per entry and per key (one row per app, title or page of the entry),
never read one by one, and the memory used does not grow with the spans.

Both ways count time the same: spans are clipped to their entry and to the
range; within an entry, time two spans share counts once, for the one that
starts first; tracked time no span covers (capture off, or a timer run from
the CLI with no agent) counts without an app, so every grouping of the same
range adds up to the same total. Activity is shared out by
:class:`agent.report.ActivityGrid`, as :func:`~agent.report.build_report`
shares it. Breaks are handed in apart.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from agent.breaks import break_totals
from agent.report import (
    NO_APP,
    NO_DOMAIN,
    NO_TITLE,
    PER_PROJECT,
    ActivityGrid,
    ActivitySlot,
    BreakRow,
    Grid,
    GroupBy,
    Interval,
    KeyTotal,
    Report,
    build_break_report,
    build_key_report,
    build_report,
    domain_of,
    idle_key,
    micros,
    project_key,
)
from agent.report import day_start as local_day_start
from agent.store import Store
from agent.store.models import from_millis

log = logging.getLogger(__name__)

ONE_DAY_GROUPINGS = {GroupBy.DAY, GroupBy.PROJECT, GroupBy.TASK}


def collect_report(
    store: Store,
    by: str,
    tz: ZoneInfo,
    date_from: date,
    date_to: date,
    now: datetime,
) -> Report:
    """The report of ``date_from``..``date_to`` (local days in ``tz``) by ``by``."""
    group = GroupBy(by)
    start = local_day_start(date_from, tz)
    end = local_day_start(date_to + timedelta(days=1), tz)
    breaks = [
        BreakRow(total.policy, total.paid, total.seconds)
        for total in break_totals(store, start, end, now)
    ]
    if group is GroupBy.BREAK:
        return build_break_report(breaks, tz=tz, date_from=date_from, date_to=date_to)

    with store.read() as session:
        connection = _driver(session)
        if group is GroupBy.IDLE:
            idle = _idle_totals(connection, start, end, now)
            return build_key_report(
                idle, by=group, tz=tz, date_from=date_from, date_to=date_to
            )
        entries = _entries(connection, start, end, now)
        activity = _activity(connection, start, end)
        if group in ONE_DAY_GROUPINGS:
            return build_report(
                [entry.interval for entry in entries],
                by=group,
                tz=tz,
                date_from=date_from,
                date_to=date_to,
                activity=activity,
                breaks=breaks,
            )
        window = (micros(start), micros(end))
        # Slots are shared among all the time the entries fill, in range or not.
        tracked = (entry.bounds for entry in entries)
        grid = ActivityGrid(activity, tracked, window)
        # Where each entry's spans start: scanned among all the entries.
        lookbacks = _lookbacks(connection, entries)
        if group in PER_PROJECT:
            totals = _per_project(connection, entries, group, grid, window, lookbacks)
        else:
            totals = _span_totals(connection, entries, group, grid, window, lookbacks)
    return build_key_report(
        totals,
        by=group,
        tz=tz,
        date_from=date_from,
        date_to=date_to,
        breaks=breaks,
    )


def today_seconds(store: Store, tz: ZoneInfo, now: datetime) -> float:
    today = now.astimezone(tz).date()
    return collect_report(store, "day", tz, today, today, now).total_seconds


# --- entries and slots ----------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """An entry of the range; a running one ends at now (never before its
    start). Bounds in microseconds since the epoch."""

    id: int
    start: int
    end: int
    interval: Interval

    @property
    def bounds(self) -> tuple[int, int]:
        return self.start, self.end


_ENTRIES_SQL = """
    SELECT e.id, e.start_ms, e.end_ms, p.name, t.name
    FROM entries e
    JOIN projects p ON p.id = e.project_id
    LEFT JOIN tasks t ON t.id = e.task_id
    WHERE e.deleted_at IS NULL AND e.start_ms < :end
      AND (e.end_ms IS NULL OR e.end_ms > :start)
    ORDER BY e.start_ms
"""

_SLOTS_SQL = """
    SELECT start_ms, end_ms, active_seconds, tracked_seconds
    FROM slots
    WHERE start_ms < :end AND end_ms > :start AND active_seconds IS NOT NULL
"""


def _driver(session: Session) -> sqlite3.Connection:
    # Straight through the driver: SQLAlchemy's per-row processing is the
    # cost the plain rows here avoid (as agent.timeline does).
    connection = session.connection().connection.driver_connection
    if not isinstance(connection, sqlite3.Connection):
        raise TypeError(f"reports read a SQLite store, not {type(connection)}")
    return connection


def _bounds_ms(start: datetime, end: datetime) -> dict[str, int]:
    # Rows whose stored milliseconds reach into [start, end): a bound with
    # microseconds is widened to the millisecond that holds it.
    return {"start": micros(start) // 1000, "end": -(-micros(end) // 1000)}


def _entries(
    connection: sqlite3.Connection, start: datetime, end: datetime, now: datetime
) -> list[_Entry]:
    """Entries (not deleted) overlapping the range, oldest first."""
    entries = []
    for ident, start_ms, end_ms, project, task in connection.execute(
        _ENTRIES_SQL, _bounds_ms(start, end)
    ):
        began = from_millis(start_ms)
        ended = from_millis(end_ms) if end_ms is not None else max(now, began)
        interval = Interval(began, ended, project, task)
        entries.append(_Entry(ident, micros(began), micros(ended), interval))
    return entries


def _activity(
    connection: sqlite3.Connection, start: datetime, end: datetime
) -> list[ActivitySlot]:
    rows = connection.execute(_SLOTS_SQL, _bounds_ms(start, end))
    return [
        ActivitySlot(from_millis(a), from_millis(b), active, tracked)
        for a, b, active, tracked in rows
    ]


# --- spans, summed per entry and key ----------------------------------------------

_KEY_COLUMNS = {
    GroupBy.APP: "app_id",
    GroupBy.TITLE: "title_id",
    GroupBy.DOMAIN: "url_id",
}

# One entry's spans as the pieces a report counts, in microseconds: each is
# clipped to the entry and the range (:lo..:hi), and starts no earlier than
# every span of the entry before it ended, so time two spans share counts
# once. The clustered key bounds the scan.
_PIECES = """
    SELECT {key} AS key,
           MAX(start_ms * 1000, COALESCE(MAX(end_ms) OVER earlier * 1000, :lo), :lo)
             AS a,
           MIN(end_ms * 1000, :hi) AS b
    FROM spans
    WHERE start_ms >= :lookback AND start_ms < :scan_end AND entry_id = :entry
    WINDOW earlier AS (
      ORDER BY start_ms, id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
    )
"""

# The pieces summed per key: time, active and covered time. A piece inside
# one cell of the grid takes the cell's rate; one across cells, the
# difference of the grid's running integrals at its ends. Kept in a
# temporary table until every entry is in.
_ADD_ENTRY_SUMS = """
    INSERT INTO temp.report_sums
    WITH pieces AS ({pieces})
    SELECT key, SUM(b - a), {active}, {covered}
    FROM pieces JOIN temp.report_grid c ON c.idx = (a - :origin) / :width
    WHERE b > a
    GROUP BY key
"""

_PIECE_SUMS = {
    column: f"""SUM(CASE WHEN (b - 1 - :origin) / :width = c.idx
               THEN c.{rate} * (b - a)
               ELSE (SELECT {total} + {rate} * (b - :origin - idx * :width)
                     FROM temp.report_grid WHERE idx = (b - :origin) / :width)
                    - c.{total} - c.{rate} * (a - :origin - c.idx * :width) END)"""
    for column, rate, total in (
        ("active", "rate", "active"),
        ("covered", "flag", "covered"),
    )
}

# The same sums for a grouping with few keys (apps): the pieces grouped per
# key and the cells their ends fall in first, then two lookups per group
# instead of one or two per piece. With many keys (titles, pages) there are
# nearly as many groups as pieces, and this would be the slower way.
_ADD_ENTRY_SUMS_FEW_KEYS = """
    INSERT INTO temp.report_sums
    WITH pieces AS ({pieces}),
    cells AS (
      SELECT key, a, b, (a - :origin) / :width AS c0, (b - :origin) / :width AS c1
      FROM pieces WHERE b > a
    ),
    groups AS (
      SELECT key, c0, c1, COUNT(*) AS n, SUM(b - a) AS length,
             SUM(a - :origin - c0 * :width) AS into_a,
             SUM(b - :origin - c1 * :width) AS into_b
      FROM cells GROUP BY key, c0, c1
    )
    SELECT key, SUM(length), {active}, {covered}
    FROM groups
    JOIN temp.report_grid ca ON ca.idx = c0
    JOIN temp.report_grid cb ON cb.idx = c1
    GROUP BY key
"""

_GROUP_SUMS = {
    column: f"SUM(n * (cb.{total} - ca.{total}) + cb.{rate} * into_b"
    f" - ca.{rate} * into_a)"
    for column, rate, total in (
        ("active", "rate", "active"),
        ("covered", "flag", "covered"),
    )
}


def _sums_query(group: GroupBy, coverage: Coverage) -> str:
    """The statement adding one entry's sums; where slot data covers all of
    the entries' time or none of it, coverage needs no lookup (and without
    any, activity is nothing)."""
    few = group is GroupBy.APP
    template = _ADD_ENTRY_SUMS_FEW_KEYS if few else _ADD_ENTRY_SUMS
    per_piece = _GROUP_SUMS if few else _PIECE_SUMS
    time = "SUM(length)" if few else "SUM(b - a)"
    active, covered = {
        Coverage.FULL: (per_piece["active"], time),
        Coverage.NONE: ("0.0", "0"),
        Coverage.PART: (per_piece["active"], per_piece["covered"]),
    }[coverage]
    pieces = _PIECES.format(key=_KEY_COLUMNS[group])
    return template.format(pieces=pieces, active=active, covered=covered)


_SUMS = """
    SELECT key, SUM(micros), SUM(active), SUM(covered)
    FROM temp.report_sums GROUP BY key
"""

_ENTRY_PIECES = "SELECT key, a, b FROM ({pieces}) WHERE b > a"

# Spans of other entries inside [:start, :end): one that starts before its
# own entry (an entry whose start was edited later) still counts from there.
_EARLY_SPANS = """
    SELECT entry_id, MIN(start_ms) FROM spans
    WHERE start_ms >= :start AND start_ms < :end AND entry_id != :entry
    GROUP BY entry_id
"""

_Sums = dict[int | None, list[float]]


def _span_totals(
    connection: sqlite3.Connection,
    entries: Sequence[_Entry],
    group: GroupBy,
    activity: ActivityGrid,
    window: tuple[int, int],
    lookbacks: dict[int, int],
) -> list[KeyTotal]:
    """Per key of ``group``: the entries' time inside ``window``.

    Within an entry the pieces never overlap, so the entries' time no span
    covers (under the key None) is their whole time less all the pieces.
    """
    sums: _Sums = defaultdict(lambda: [0, 0.0, 0])
    if entries:
        params = list(_entry_params(entries, window, lookbacks))
        grid = activity.grid()
        if grid is None:
            log.info("slot bounds share no usable grid: spans summed in Python")
            _sum_in_python(connection, params, group, activity, sums)
        else:
            coverage = _coverage(entries, activity, window)
            _sum_in_sql(connection, params, group, grid, coverage, sums)

    uncovered = _uncovered(entries, activity, window, sums.values())
    if uncovered[0] > 0:
        for index, value in enumerate(uncovered):
            sums[None][index] += value

    names = _names(connection, group, [key for key in sums if key is not None])
    return [
        KeyTotal(_label(group, key, names), int(micro), active, int(covered))
        for key, (micro, active, covered) in sums.items()
    ]


def _per_project(
    connection: sqlite3.Connection,
    entries: Sequence[_Entry],
    group: GroupBy,
    activity: ActivityGrid,
    window: tuple[int, int],
    lookbacks: dict[int, int],
) -> list[KeyTotal]:
    """As :func:`_span_totals` by app or domain, for each project's entries
    apart; the keys name the project. Activity is shared among all the
    entries, and their spans found among all, as in the other groupings."""
    projects: dict[str | None, list[_Entry]] = defaultdict(list)
    for entry in entries:
        projects[entry.interval.project].append(entry)
    inner = PER_PROJECT[group]
    return [
        replace(total, key=project_key(project, total.key))
        for project, own in projects.items()
        for total in _span_totals(connection, own, inner, activity, window, lookbacks)
    ]


class Coverage(Enum):
    """How much of the entries' time in range slot data covers."""

    FULL = "full"
    NONE = "none"
    PART = "part"


def _coverage(
    entries: Sequence[_Entry], activity: ActivityGrid, window: tuple[int, int]
) -> Coverage:
    covered = tracked = 0
    for entry in entries:
        low, high = max(entry.start, window[0]), min(entry.end, window[1])
        if high > low:
            covered += activity.measure(low, high)[1]
            tracked += high - low
    if covered == tracked:
        return Coverage.FULL
    return Coverage.NONE if covered == 0 else Coverage.PART


def _uncovered(
    entries: Sequence[_Entry],
    activity: ActivityGrid,
    window: tuple[int, int],
    pieces: Iterable[list[float]],
) -> tuple[int, float, int]:
    """The entries' time, active and covered time that no piece holds."""
    micro, active, covered = 0, 0.0, 0
    for entry in entries:
        low, high = max(entry.start, window[0]), min(entry.end, window[1])
        if high > low:
            entry_active, entry_covered = activity.measure(low, high)
            micro, active, covered = (
                micro + high - low,
                active + entry_active,
                covered + entry_covered,
            )
    for piece_micros, piece_active, piece_covered in pieces:
        micro -= int(piece_micros)
        active -= piece_active
        covered -= int(piece_covered)
    return micro, max(active, 0.0), covered


def _sum_in_sql(
    connection: sqlite3.Connection,
    entry_params: Sequence[dict[str, int]],
    group: GroupBy,
    grid: Grid,
    coverage: Coverage,
    sums: _Sums,
) -> None:
    _create_temp_tables(connection, grid)
    try:
        log.debug(
            "report by %s: slot data covers %s of the entries' time",
            group.value,
            coverage.value,
        )
        query = _sums_query(group, coverage)
        extra = {"origin": grid.origin, "width": grid.width}
        for params in entry_params:
            connection.execute(query, params | extra)
        for key, micro, active, covered in connection.execute(_SUMS):
            sums[key] = [micro, active / 1e6, covered]
    finally:
        connection.execute("DROP TABLE IF EXISTS temp.report_grid")
        connection.execute("DROP TABLE IF EXISTS temp.report_sums")


def _create_temp_tables(connection: sqlite3.Connection, grid: Grid) -> None:
    connection.execute("DROP TABLE IF EXISTS temp.report_grid")
    connection.execute("DROP TABLE IF EXISTS temp.report_sums")
    connection.execute(
        "CREATE TEMP TABLE report_grid (idx INTEGER PRIMARY KEY, rate REAL,"
        " active REAL, flag INTEGER, covered INTEGER)"
    )
    connection.execute(
        "CREATE TEMP TABLE report_sums (key INTEGER, micros INTEGER, active REAL,"
        " covered INTEGER)"
    )
    connection.executemany(
        "INSERT INTO temp.report_grid VALUES (?, ?, ?, ?, ?)", grid.cells
    )


def _sum_in_python(
    connection: sqlite3.Connection,
    entry_params: Sequence[dict[str, int]],
    group: GroupBy,
    activity: ActivityGrid,
    sums: _Sums,
) -> None:
    """As :func:`_sum_in_sql`, each piece read and measured one by one: for
    slots whose bounds share no grid fine enough for a table."""
    pieces = _PIECES.format(key=_KEY_COLUMNS[group])
    query = _ENTRY_PIECES.format(pieces=pieces)
    for params in entry_params:
        for key, start, end in connection.execute(query, params):
            active, covered = activity.measure(start, end)
            total = sums[key]
            total[0] += end - start
            total[1] += active
            total[2] += covered


def _entry_params(
    entries: Sequence[_Entry],
    window: tuple[int, int],
    lookbacks: dict[int, int],
) -> Iterator[dict[str, int]]:
    """The bounds of each entry's pieces and of the scan for its spans."""
    for entry in entries:
        low, high = max(entry.start, window[0]), min(entry.end, window[1])
        if high <= low:
            continue
        yield {
            "lo": low,
            "hi": high,
            "lookback": lookbacks[entry.id],
            "scan_end": -(-entry.end // 1000),
            "entry": entry.id,
        }


def _lookbacks(
    connection: sqlite3.Connection, entries: Sequence[_Entry]
) -> dict[int, int]:
    """Where each entry's spans start, in ms: its own start, or earlier.

    The range from the first entry's start is scanned once, in pieces
    between entries' starts; a span found before its own entry's start
    moves that entry's scan back to it.
    """
    if not entries:
        return {}
    starts = [entry.start // 1000 for entry in entries]
    lookbacks = dict(zip((entry.id for entry in entries), starts, strict=True))
    last_end = max(-(-entry.end // 1000) for entry in entries)
    for index, entry in enumerate(entries):
        piece_end = starts[index + 1] if index + 1 < len(entries) else last_end
        params = {"start": starts[index], "end": piece_end, "entry": entry.id}
        for entry_id, first_ms in connection.execute(_EARLY_SPANS, params):
            if entry_id in lookbacks and first_ms < lookbacks[entry_id]:
                lookbacks[entry_id] = first_ms
    return lookbacks


# --- keys -----------------------------------------------------------------------

_NAME_TABLES = {
    GroupBy.APP: ("apps", "name"),
    GroupBy.TITLE: ("titles", "text"),
    # A page known only by its domain has no URL; domain_of reads the host.
    GroupBy.DOMAIN: ("urls", "COALESCE(url, domain)"),
}


def _names(
    connection: sqlite3.Connection, group: GroupBy, ids: list[int]
) -> dict[int, str]:
    table, column = _NAME_TABLES[group]
    names: dict[int, str] = {}
    for first in range(0, len(ids), 500):
        chunk = ids[first : first + 500]
        marks = ",".join("?" * len(chunk))
        names.update(
            connection.execute(
                f"SELECT id, {column} FROM {table} WHERE id IN ({marks})", chunk
            ).fetchall()
        )
    return names


def _label(group: GroupBy, key: int | None, names: dict[int, str]) -> str:
    text = names.get(key) if key is not None else None
    if group is GroupBy.DOMAIN:
        return domain_of(text) or NO_DOMAIN
    placeholder = NO_APP if group is GroupBy.APP else NO_TITLE
    return text if text and text.strip() else placeholder


# --- idle periods -----------------------------------------------------------------

_IDLE_SQL = """
    SELECT start_ms, end_ms, resolution, resolved_by, detail
    FROM idle_periods
    WHERE start_ms < :end AND (end_ms IS NULL OR end_ms > :start)
"""


def _idle_totals(
    connection: sqlite3.Connection, start: datetime, end: datetime, now: datetime
) -> list[KeyTotal]:
    """Idle time in range per resolution, in microseconds; an idle period
    still going on counts up to now. Activity is none of it."""
    low, high = micros(start), micros(end)
    sums: dict[str, int] = defaultdict(int)
    for start_ms, end_ms, resolution, resolved_by, detail in connection.execute(
        _IDLE_SQL, _bounds_ms(start, end)
    ):
        began = start_ms * 1000
        ended = end_ms * 1000 if end_ms is not None else max(micros(now), began)
        for key, a, b in _idle_parts(began, ended, resolution, resolved_by, detail):
            length = min(b, high, ended) - max(a, low, began)
            if length > 0:
                sums[key] += length
    return [KeyTotal(key, micro, 0.0, 0) for key, micro in sums.items()]


def _idle_parts(
    began: int,
    ended: int,
    resolution: str | None,
    resolved_by: str | None,
    detail: str | None,
) -> list[tuple[str, int, int]]:
    """The period as (key, start, end) pieces: a split answer by its parts
    (agent.idle writes them to ``detail``), any other as a whole."""
    whole = [(idle_key(resolution, resolved_by), began, ended)]
    if resolution != "split" or not detail:
        return whole
    try:
        parts = json.loads(detail)["parts"]
        return [
            (
                idle_key(str(part["action"]), resolved_by),
                micros(datetime.fromisoformat(part["from"])),
                micros(datetime.fromisoformat(part["to"])),
            )
            for part in parts
        ]
    except (ValueError, TypeError, KeyError) as error:
        log.warning("idle period with unreadable parts, counted whole: %s", error)
        return whole
