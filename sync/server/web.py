"""The lead's timeline in a browser: one agent's day, served by the reference
server.

The page (``GET /timeline``, static files from ``sync/server/static``) is
plain HTML with a small script; it asks for the lead token once (kept in the
tab's session storage, or taken from the URL's ``#token=`` fragment, which
never reaches the server) and reads everything through the lead's read API:

- ``GET /v1/lead/agents`` (in :mod:`sync.server.app`) to choose an agent;
- ``GET /v1/lead/agents/{id}/timeline?day=&tz=`` (here): the day's lanes and
  totals, built by :func:`agent.timeline.build_timeline` — the same model the
  worker's timeline window and the printable report draw, so the browser
  shows the same totals for the same records;
- ``GET /v1/lead/agents/{id}/screenshots/{rid}/thumbnail`` (here) and the full
  image (in :mod:`sync.server.app`).

The server keeps what the protocol carries: no flag reasons, no idle notes,
no screenshots that were never taken, and of a shot the worker deleted only
the audit ("deleted by the worker at 09:12", no image).
"""

import gzip
import io
import json
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Connection, Engine, and_, or_, select

from agent.timeline import (
    BreakRow,
    DayTimeline,
    EntryRow,
    IdleRow,
    Records,
    ScreenshotMark,
    ScreenshotRow,
    SlotRow,
    SpanRow,
    build_timeline,
    day_bounds_ms,
    duration_text,
)
from sync import protocol
from sync.server import db

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
THUMBNAIL_SIZE = (240, 135)
GZIP_OVER_BYTES = 16 * 1024
# The page runs only its own script and styles; images come from blob: URLs
# the script makes from authorised fetches.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "img-src 'self' blob: data:; connect-src 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def add_timeline_web(app: FastAPI, engine: Engine, lead: Any) -> None:
    """Serve the timeline page and its two read endpoints on ``app``.

    ``lead`` is the dependency that checks the lead token.
    """
    Lead = Annotated[None, Depends(lead)]

    @app.get("/timeline", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "timeline.html", headers=_PAGE_HEADERS)

    app.mount(
        "/timeline/static", StaticFiles(directory=STATIC_DIR), name="timeline-static"
    )

    @app.get("/v1/lead/agents/{agent_id}/timeline")
    def timeline(
        agent_id: str,
        request: Request,
        _: Lead,
        day: Annotated[date, Query()],
        tz: Annotated[str, Query(max_length=64)] = "UTC",
    ) -> Response:
        """The lanes and totals of local ``day`` in zone ``tz``."""
        zone = _zone(tz)
        start_ms, end_ms = day_bounds_ms(day, zone)
        with engine.connect() as connection:
            _known_agent(connection, agent_id)
            records = read_server_records(
                connection, agent_id, start_ms, end_ms, _now_ms()
            )
            deleted = deletion_moments(connection, agent_id, start_ms, end_ms)
        body = timeline_json(build_timeline(records, day, zone), agent_id, deleted)
        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        return _json_response(payload.encode(), request)

    @app.get("/v1/lead/agents/{agent_id}/screenshots/{record_id}/thumbnail")
    def thumbnail(agent_id: str, record_id: str, _: Lead) -> Response:
        with engine.connect() as connection:
            path = connection.scalar(
                select(db.screenshots.c.path).where(
                    db.screenshots.c.agent_id == agent_id,
                    db.screenshots.c.record_id == _record_id(record_id),
                )
            )
        if path is None:
            raise HTTPException(404, "no such screenshot")
        if not path:
            raise HTTPException(404, "the worker deleted this screenshot; no image")
        return Response(
            _thumbnail(Path(path)),
            media_type="image/jpeg",
            headers={"Cache-Control": "private, max-age=86400"},
        )


def _json_response(payload: bytes, request: Request) -> Response:
    """JSON, gzipped when the client takes it: a busy day is about 5 MB of
    bars (mostly window titles) and a tenth of that compressed."""
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding"}
    accepted = request.headers.get("accept-encoding", "")
    if len(payload) > GZIP_OVER_BYTES and "gzip" in accepted.lower():
        payload = gzip.compress(payload, compresslevel=5)
        headers["Content-Encoding"] = "gzip"
    return Response(payload, media_type="application/json", headers=headers)


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise HTTPException(
            400, f"unknown time zone {tz[:64]!r}; use an IANA name like Europe/Berlin"
        ) from error


def _record_id(record_id: str) -> int:
    try:
        return protocol.parse_id(record_id)
    except ValueError as error:
        raise HTTPException(404, "no such screenshot") from error


def _known_agent(connection: Connection, agent_id: str) -> None:
    found = connection.scalar(select(db.agents.c.id).where(db.agents.c.id == agent_id))
    if found is None:
        raise HTTPException(404, "no such agent; pick one from /v1/lead/agents")


def _thumbnail(path: Path) -> bytes:
    """A small JPEG of the screenshot at ``path``, made once and kept beside it."""
    from PIL import Image, UnidentifiedImageError

    cached = path.with_suffix(".thumb.jpg")
    if cached.exists():
        return cached.read_bytes()
    try:
        with Image.open(path) as image:
            image.thumbnail(THUMBNAIL_SIZE)
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=70)
    except (OSError, UnidentifiedImageError) as error:
        log.warning("screenshot %s has no usable image: %s", path, error)
        raise HTTPException(404, "the screenshot's file is not an image") from error
    data = out.getvalue()
    partial = cached.with_suffix(".part")
    partial.write_bytes(data)
    partial.replace(cached)
    return data


# --- the server's records as the timeline's rows ----------------------------------


def read_server_records(
    connection: Connection, agent_id: str, start_ms: int, end_ms: int, now_ms: int
) -> Records:
    """Every record of ``agent_id`` that overlaps ``start_ms``..``end_ms``."""
    names = _names(connection, agent_id)
    entries = tuple(
        _entries(
            _bodies(connection, agent_id, "entry", start_ms, end_ms), names, now_ms
        )
    )
    # A span never starts before its entry: look back to the earliest entry.
    lookback = min([start_ms, *(entry.start_ms for entry in entries)])
    spans = tuple(
        _spans(_bodies(connection, agent_id, "span", start_ms, end_ms, lookback))
    )
    slots = tuple(_slots(_bodies(connection, agent_id, "slot", start_ms, end_ms)))
    idle = tuple(_idle(_bodies(connection, agent_id, "idle_period", start_ms, end_ms)))
    breaks = tuple(_breaks(_bodies(connection, agent_id, "break", start_ms, end_ms)))
    shots = tuple(_screenshots(connection, agent_id, start_ms, end_ms))
    return Records(start_ms, end_ms, now_ms, entries, spans, slots, idle, breaks, shots)


def _bodies(
    connection: Connection,
    agent_id: str,
    kind: str,
    start_ms: int,
    end_ms: int,
    lookback: int | None = None,
) -> list[tuple[int, dict[str, Any]]]:
    table = db.records
    lower = table.c.start_ms >= (start_ms if lookback is None else lookback)
    overlap = and_(
        table.c.start_ms < end_ms,
        or_(table.c.end_ms.is_(None), table.c.end_ms > start_ms),
    )
    # Intervals that start before the day and reach into it (an entry from
    # the evening before) are found by the overlap test alone; only spans,
    # tens of thousands a day, are bounded below by their entries.
    condition = and_(lower, overlap) if lookback is not None else overlap
    rows = connection.execute(
        select(table.c.record_id, table.c.body)
        .where(table.c.agent_id == agent_id, table.c.kind == kind, condition)
        .order_by(table.c.start_ms, table.c.record_id)
    ).all()
    return [(int(row[0]), json.loads(row[1])) for row in rows]


def _names(connection: Connection, agent_id: str) -> dict[tuple[str, int], str]:
    rows = connection.execute(
        select(db.records.c.kind, db.records.c.record_id, db.records.c.body).where(
            db.records.c.agent_id == agent_id,
            db.records.c.kind.in_(("project", "task")),
        )
    ).all()
    return {(kind, int(rid)): str(json.loads(body)["name"]) for kind, rid, body in rows}


def _entries(
    rows: Iterable[tuple[int, dict[str, Any]]],
    names: dict[tuple[str, int], str],
    now_ms: int,
) -> Iterable[EntryRow]:
    for record_id, data in rows:
        if data.get("deleted_ms") is not None:
            continue
        start: int = data["start_ms"]
        end: int | None = data.get("end_ms")
        running = end is None
        project = names.get(("project", int(data["project_id"])), "")
        task_id = data.get("task_id")
        task = names.get(("task", int(task_id))) if task_id else None
        yield EntryRow(
            record_id,
            start,
            max(now_ms, start) if end is None else end,
            project,
            task,
            data.get("note"),
            data.get("source", "timer"),
            running,
        )


def _spans(rows: Iterable[tuple[int, dict[str, Any]]]) -> Iterable[SpanRow]:
    for _, data in rows:
        yield SpanRow(
            data["start_ms"],
            data["end_ms"],
            int(data["entry_id"]),
            data.get("app"),
            data.get("title"),
            data.get("url") or data.get("domain"),
            int(data.get("flags") or 0),
        )


def _slots(rows: Iterable[tuple[int, dict[str, Any]]]) -> Iterable[SlotRow]:
    for _, data in rows:
        yield SlotRow(
            data["start_ms"],
            data["end_ms"],
            int(data["entry_id"]),
            float(data["tracked_seconds"]),
            data.get("active_seconds"),
            int(data.get("synthetic_flags") or 0),
            None,
        )


def _idle(rows: Iterable[tuple[int, dict[str, Any]]]) -> Iterable[IdleRow]:
    for record_id, data in rows:
        yield IdleRow(
            record_id,
            data["start_ms"],
            data.get("end_ms"),
            data.get("cause", "idle"),
            data.get("resolution"),
            None,
            None,
        )


def _breaks(rows: Iterable[tuple[int, dict[str, Any]]]) -> Iterable[BreakRow]:
    for record_id, data in rows:
        yield BreakRow(
            record_id,
            data["start_ms"],
            data.get("end_ms"),
            data["policy"],
            bool(data["paid"]),
            data.get("origin", "taken"),
            None,
        )


def _screenshots(
    connection: Connection, agent_id: str, start_ms: int, end_ms: int
) -> Iterable[ScreenshotRow]:
    table = db.screenshots
    rows = connection.execute(
        select(table.c.record_id, table.c.meta)
        .where(
            table.c.agent_id == agent_id,
            table.c.taken_ms >= start_ms,
            table.c.taken_ms < end_ms,
        )
        .order_by(table.c.taken_ms, table.c.record_id)
    ).all()
    for record_id, meta in rows:
        data = json.loads(meta)
        deleted_by = data.get("deleted_by") if data.get("deleted_ms") else None
        # The image key is the record id: the page fetches it by id. A shot
        # the worker deleted has none, only its audit.
        yield ScreenshotRow(
            int(record_id),
            data["taken_ms"],
            int(data.get("monitor", 0)),
            int(data.get("width", 0)),
            int(data.get("height", 0)),
            "" if deleted_by else str(record_id),
            bool(data.get("blurred")),
            None,
            deleted_by,
        )


def deletion_moments(
    connection: Connection, agent_id: str, start_ms: int, end_ms: int
) -> dict[int, int]:
    """When each deleted shot of the range was deleted, by record id."""
    table = db.screenshots
    rows = connection.execute(
        select(table.c.record_id, table.c.meta).where(
            table.c.agent_id == agent_id,
            table.c.taken_ms >= start_ms,
            table.c.taken_ms < end_ms,
            table.c.path == "",
        )
    ).all()
    moments = {int(rid): json.loads(meta).get("deleted_ms") for rid, meta in rows}
    return {rid: int(ms) for rid, ms in moments.items() if isinstance(ms, int)}


# --- the model as the page's JSON ------------------------------------------------


def timeline_json(
    timeline: DayTimeline, agent_id: str, deleted_ms: Mapping[int, int] | None = None
) -> dict[str, Any]:
    """The day as the page draws it: times in UTC ms, labels ready to show.

    ``deleted_ms``: when each deleted shot was deleted, for its label
    ("deleted by the worker at 09:12").
    """
    totals = timeline.totals
    deleted_ms = deleted_ms or {}
    return {
        "agent_id": agent_id,
        "day": timeline.day.isoformat(),
        "previous_day": (timeline.day - timedelta(days=1)).isoformat(),
        "next_day": (timeline.day + timedelta(days=1)).isoformat(),
        "tz": timeline.tz_name,
        "start_ms": timeline.start_ms,
        "end_ms": timeline.end_ms,
        "hours": timeline.hours,
        "hour_marks": _hour_marks(timeline),
        "lanes": [
            {
                "kind": str(lane.kind),
                "title": lane.title,
                "bars": [
                    [b.start_ms, b.end_ms, b.label, b.key, b.detail, b.value]
                    for b in lane.bars
                ],
            }
            for lane in timeline.lanes
        ],
        "screenshots": [
            {
                "id": str(mark.id),
                "moment_ms": mark.moment_ms,
                "time": timeline.local(mark.moment_ms).strftime("%H:%M:%S"),
                "state": mark.state,
                "detail": _shot_detail(timeline, mark, deleted_ms.get(mark.id)),
            }
            for mark in timeline.screenshots
        ],
        "totals": {
            "tracked_seconds": totals.tracked_seconds,
            "tracked": duration_text(totals.tracked_seconds),
            "break_seconds": totals.break_seconds,
            "breaks": duration_text(totals.break_seconds),
            "idle_seconds": totals.idle_seconds,
            "idle": duration_text(totals.idle_seconds),
            **{
                group: _total_rows(totals.by(group))
                for group in ("projects", "tasks", "apps", "domains")
            },
        },
    }


def _shot_detail(
    timeline: DayTimeline, mark: ScreenshotMark, deleted_ms: int | None
) -> str:
    if mark.state != "deleted" or deleted_ms is None:
        return mark.detail
    return f"{mark.detail} at {timeline.local(deleted_ms).strftime('%H:%M')}"


def _total_rows(rows: Sequence[Any]) -> list[dict[str, Any]]:
    return [
        {
            "key": row.key,
            "seconds": row.seconds,
            "time": duration_text(row.seconds),
            "share": row.share,
            "share_text": f"{row.share:.1%}",
        }
        for row in rows
    ]


def _hour_marks(timeline: DayTimeline) -> list[list[Any]]:
    """Each hour's start in elapsed time, with its local label: a 23- or
    25-hour day shows the missing or repeated hour as it happened."""
    marks = []
    moment = timeline.start_ms
    while moment < timeline.end_ms:
        marks.append([moment, timeline.local(moment).strftime("%H:%M")])
        moment += 3_600_000
    return marks
