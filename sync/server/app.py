"""The reference server: protocol v1 for agents, and a read API for leads.

``create_app(ServerConfig(...))`` builds the FastAPI application; run it with
``python -m sync.server`` (see ``__main__``). Agents sign in with the
organisation's enrollment key and get a token of their own (stored here only
as a hash); a lead reads with the lead token.
"""

import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from sync import protocol
from sync.server import db
from sync.server.ingest import UnknownTokenError, store_upload
from sync.server.usage import with_usage
from sync.server.web import add_timeline_web

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerConfig:
    database_url: str
    files_dir: Path
    enrollment_key: str
    lead_token: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def create_app(config: ServerConfig, engine: Engine | None = None) -> FastAPI:
    engine = engine or db.make_engine(config.database_url)
    config.files_dir.mkdir(parents=True, exist_ok=True)
    app = FastAPI(title="Punchclock sync server", version=str(protocol.VERSION))
    app.state.engine = engine

    def agent_of(authorization: Annotated[str | None, Header()] = None) -> str:
        token = _bearer(authorization)
        with engine.connect() as connection:
            agent_id = connection.scalar(
                select(db.agents.c.id).where(db.agents.c.token_hash == _hash(token))
            )
        if agent_id is None:
            raise HTTPException(401, "unknown or revoked token; sign in again")
        return str(agent_id)

    def lead(authorization: Annotated[str | None, Header()] = None) -> None:
        token = _bearer(authorization)
        if not hmac.compare_digest(_hash(token), _hash(config.lead_token)):
            raise HTTPException(403, "this read API needs the lead token")

    Agent = Annotated[str, Depends(agent_of)]

    @app.get("/v1/health")
    def health() -> dict[str, object]:
        return {"status": "ok", "protocol": protocol.VERSION}

    @app.post(protocol.REGISTER_PATH)
    async def register(request: Request) -> dict[str, str]:
        body = await _json(request)
        return _register(engine, config, body)

    @app.post(protocol.BATCH_PATH)
    async def upload_batch(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> Response:
        token_hash = _hash(_bearer(authorization))
        raw = await _body(request, protocol.MAX_BATCH_BYTES)
        # At most BATCH_CONCURRENCY batches at once per process, each with
        # its own pooled connection: more would only queue in PostgreSQL
        # and churn connections beyond the pool.
        try:
            results = await anyio.to_thread.run_sync(
                store_upload,
                engine,
                token_hash,
                raw,
                _now_ms(),
                limiter=_batch_limiter(app),
            )
        except UnknownTokenError as error:
            raise HTTPException(
                401, "unknown or revoked token; sign in again"
            ) from error
        except ValueError as error:
            raise HTTPException(400, str(error)) from error
        payload = json.dumps({"results": results}, separators=(",", ":"))
        return Response(payload, media_type="application/json")

    @app.put(protocol.SCREENSHOT_PATH)
    async def upload_screenshot(
        record_id: str, request: Request, agent_id: Agent
    ) -> dict[str, str]:
        content = await _body(request, protocol.MAX_SCREENSHOT_BYTES)
        meta = _screenshot_meta(record_id, request, content)
        stored: dict[str, str] = await _in_thread(
            _store_screenshot, engine, config, agent_id, record_id, meta, content
        )
        return stored

    @app.get(protocol.POLICY_PATH)
    def policy(agent_id: Agent) -> dict[str, Any]:
        return {"policy": _setting(engine, "policy")}

    @app.get(protocol.PROJECTS_PATH)
    def projects(agent_id: Agent) -> dict[str, Any]:
        pushed = _setting(engine, "projects") or []
        # With what the other agents recorded on each (shared budgets).
        return {"projects": with_usage(engine, agent_id, pushed, _now_ms())}

    _add_lead_api(app, engine, lead)
    add_timeline_web(app, engine, lead)
    return app


def _batch_limiter(app: FastAPI) -> anyio.CapacityLimiter:
    """Made on first use, inside the event loop that uses it."""
    limiter: anyio.CapacityLimiter | None = getattr(app.state, "batch_limiter", None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(db.BATCH_CONCURRENCY)
        app.state.batch_limiter = limiter
    return limiter


def app_from_env() -> FastAPI:
    """The app configured from the environment (for uvicorn's ``--factory``,
    which multi-worker servers need)."""
    import os

    return create_app(
        ServerConfig(
            database_url=os.environ["PUNCHCLOCK_SERVER_DATABASE_URL"],
            files_dir=Path(os.environ.get("PUNCHCLOCK_SERVER_FILES", "files")),
            enrollment_key=os.environ["PUNCHCLOCK_SERVER_ENROLLMENT_KEY"],
            lead_token=os.environ["PUNCHCLOCK_SERVER_LEAD_TOKEN"],
        )
    )


# -- agents ----------------------------------------------------------------------


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.startswith("Bearer "):
        raise HTTPException(401, "send Authorization: Bearer TOKEN")
    return authorization[len("Bearer ") :].strip()


def _register(engine: Engine, config: ServerConfig, body: Any) -> dict[str, str]:
    if not isinstance(body, dict):
        raise HTTPException(400, "a registration is a JSON object")
    key = body.get("enrollment_key")
    if not isinstance(key, str) or not hmac.compare_digest(
        key.encode(), config.enrollment_key.encode()
    ):
        raise HTTPException(403, "wrong enrollment key")
    store_id, hostname = body.get("store_id"), body.get("hostname")
    if not isinstance(store_id, str) or not 0 < len(store_id) <= 64:
        raise HTTPException(400, "store_id is required")
    if not isinstance(hostname, str) or len(hostname) > 255:
        raise HTTPException(400, "hostname is required")
    version = str(body.get("agent_version", ""))[:64]

    # Signing in again (a reinstall, a lost token) keeps the agent and its
    # records and replaces the token: the old one stops working.
    token = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        agent_id = connection.scalar(
            select(db.agents.c.id).where(db.agents.c.store_id == store_id)
        )
        if agent_id is None:
            agent_id = str(uuid.uuid4())
            connection.execute(
                db.agents.insert().values(
                    id=agent_id,
                    store_id=store_id,
                    hostname=hostname,
                    agent_version=version,
                    token_hash=_hash(token),
                    created_ms=_now_ms(),
                )
            )
        else:
            connection.execute(
                update(db.agents)
                .where(db.agents.c.id == agent_id)
                .values(token_hash=_hash(token), hostname=hostname)
            )
    log.info("agent %s signed in from %s", agent_id, hostname)
    return {"agent_id": str(agent_id), "token": token}


# -- screenshots -------------------------------------------------------------------


def _screenshot_meta(
    record_id: str, request: Request, content: bytes
) -> dict[str, Any]:
    try:
        meta = json.loads(request.headers.get(protocol.SCREENSHOT_META_HEADER, ""))
    except ValueError as error:
        raise HTTPException(400, "the metadata header is not JSON") from error
    record = {"kind": "screenshot", "id": record_id, "data": meta}
    reason = protocol.check_record(record)
    if reason is not None:
        raise HTTPException(422, reason)
    digest = hashlib.sha256(content).hexdigest()
    claimed = request.headers.get(protocol.SHA256_HEADER)
    if claimed != digest or meta["sha256"] != digest:
        raise HTTPException(422, "the file does not match its SHA-256")
    return dict(meta)


def _store_screenshot(
    engine: Engine,
    config: ServerConfig,
    agent_id: str,
    record_id: str,
    meta: dict[str, Any],
    content: bytes,
) -> dict[str, str]:
    number = protocol.parse_id(record_id)
    path = config.files_dir / agent_id / f"{number}.img"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written before the row, under a temporary name: a row never points at
    # a half-written file, and a resend after a crash just writes it again.
    partial = path.with_suffix(".part")
    partial.write_bytes(content)
    partial.replace(path)

    row = {
        "agent_id": agent_id,
        "record_id": number,
        "taken_ms": meta["taken_ms"],
        "sha256": meta["sha256"],
        "size_bytes": len(content),
        "meta": json.dumps(meta, sort_keys=True),
        "path": str(path),
        "received_ms": _now_ms(),
    }
    with engine.begin() as connection:
        insert = (
            postgresql.insert(db.screenshots)
            if connection.dialect.name == "postgresql"
            else sqlite.insert(db.screenshots)
        )
        result = connection.execute(
            insert.values(**row)
            .on_conflict_do_nothing()
            .returning(db.screenshots.c.record_id)
        ).first()
        kept = result is not None or connection.scalar(
            select(db.screenshots.c.path).where(
                db.screenshots.c.agent_id == agent_id,
                db.screenshots.c.record_id == number,
            )
        )
    if not kept:
        # The worker deleted it and the audit came first (or meanwhile):
        # the server keeps no image of a deleted shot.
        path.unlink(missing_ok=True)
        log.info(
            "screenshot %d of agent %s was deleted; image discarded", number, agent_id
        )
    status = protocol.STORED if result is not None else protocol.DUPLICATE
    return {"status": status}


# -- the lead's read API ---------------------------------------------------------------


def _add_lead_api(app: FastAPI, engine: Engine, lead: Any) -> None:
    Lead = Annotated[None, Depends(lead)]

    @app.get("/v1/lead/agents")
    def list_agents(_: Lead) -> dict[str, Any]:
        with engine.connect() as connection:
            rows = connection.execute(
                select(
                    db.agents.c.id, db.agents.c.hostname, db.agents.c.agent_version
                ).order_by(db.agents.c.hostname)
            ).all()
        return {
            "agents": [
                {"agent_id": r[0], "hostname": r[1], "agent_version": r[2]}
                for r in rows
            ]
        }

    @app.get("/v1/lead/agents/{agent_id}/records")
    def day_records(
        agent_id: str, kind: str, day: date, _: Lead, tz: str = "UTC"
    ) -> dict[str, Any]:
        """Records of ``kind`` (entry, span, slot for activity, ...) that
        start on ``day`` in zone ``tz``."""
        if kind not in protocol.KINDS:
            raise HTTPException(400, f"kind must be one of {sorted(protocol.KINDS)}")
        start, end = _day_ms(day, tz)
        with engine.connect() as connection:
            rows = connection.execute(
                select(db.records.c.record_id, db.records.c.body)
                .where(
                    db.records.c.agent_id == agent_id,
                    db.records.c.kind == kind,
                    db.records.c.start_ms >= start,
                    db.records.c.start_ms < end,
                )
                .order_by(db.records.c.start_ms)
            ).all()
        return {
            "kind": kind,
            "records": [{"id": str(r[0]), "data": json.loads(r[1])} for r in rows],
        }

    @app.get("/v1/lead/agents/{agent_id}/screenshots")
    def day_screenshots(
        agent_id: str, day: date, _: Lead, tz: str = "UTC"
    ) -> dict[str, Any]:
        start, end = _day_ms(day, tz)
        with engine.connect() as connection:
            rows = connection.execute(
                select(db.screenshots.c.record_id, db.screenshots.c.meta)
                .where(
                    db.screenshots.c.agent_id == agent_id,
                    db.screenshots.c.taken_ms >= start,
                    db.screenshots.c.taken_ms < end,
                )
                .order_by(db.screenshots.c.taken_ms)
            ).all()
        return {"screenshots": [{"id": str(r[0]), **json.loads(r[1])} for r in rows]}

    @app.get("/v1/lead/agents/{agent_id}/screenshots/{record_id}")
    def screenshot_file(agent_id: str, record_id: str, _: Lead) -> Response:
        with engine.connect() as connection:
            path = connection.scalar(
                select(db.screenshots.c.path).where(
                    db.screenshots.c.agent_id == agent_id,
                    db.screenshots.c.record_id == _id_or_404(record_id),
                )
            )
        if path is None:
            raise HTTPException(404, "no such screenshot")
        if not path:
            raise HTTPException(404, "the worker deleted this screenshot; no image")
        return Response(Path(path).read_bytes(), media_type="application/octet-stream")

    @app.put("/v1/lead/settings/{key}")
    async def put_setting(key: str, request: Request, _: Lead) -> dict[str, str]:
        if key not in ("policy", "projects"):
            raise HTTPException(404, "settings are policy and projects")
        value = await _json(request)
        with engine.begin() as connection:
            connection.execute(delete(db.settings).where(db.settings.c.key == key))
            connection.execute(
                db.settings.insert().values(key=key, value=json.dumps(value))
            )
        return {"status": "stored"}


def _id_or_404(record_id: str) -> int:
    try:
        return protocol.parse_id(record_id)
    except ValueError as error:
        raise HTTPException(404, "no such record") from error


def _day_ms(day: date, tz: str) -> tuple[int, int]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise HTTPException(400, "unknown time zone") from error
    start = datetime.combine(day, datetime.min.time(), zone)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
    return _ms(start), _ms(end)


def _ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


def _setting(engine: Engine, key: str) -> Any:
    with engine.connect() as connection:
        value = connection.scalar(
            select(db.settings.c.value).where(db.settings.c.key == key)
        )
    return None if value is None else json.loads(value)


# -- request bodies --------------------------------------------------------


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _json(request: Request, limit: int = 64 * 1024) -> Any:
    raw = await _body(request, limit)
    try:
        return json.loads(raw)
    except ValueError as error:
        raise HTTPException(400, "the body is not JSON") from error


async def _in_thread(function: Any, *args: Any) -> Any:
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(function, *args)
