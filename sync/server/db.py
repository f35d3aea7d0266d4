"""The reference server's tables (SQLAlchemy Core), on SQLite or PostgreSQL.

Records are kept as their protocol JSON, keyed by (agent, kind, id) — the
idempotency key — with the interval columns the read API filters on. The
server does not interpret records beyond validating them, so a newer agent's
fields are a protocol change, not a schema change.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)

log = logging.getLogger(__name__)

metadata = MetaData()

agents = Table(
    "agents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("store_id", String(64), nullable=False, unique=True),
    Column("hostname", String(255), nullable=False),
    Column("agent_version", String(64), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_ms", BigInteger, nullable=False),
)

records = Table(
    "records",
    metadata,
    Column("agent_id", String(36), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("record_id", BigInteger, primary_key=True, autoincrement=False),
    Column("start_ms", BigInteger),
    Column("end_ms", BigInteger),
    Column("digest", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("received_ms", BigInteger, nullable=False),
    Index("ix_records_agent_kind_start", "agent_id", "kind", "start_ms"),
)

screenshots = Table(
    "screenshots",
    metadata,
    Column("agent_id", String(36), primary_key=True),
    Column("record_id", BigInteger, primary_key=True, autoincrement=False),
    Column("taken_ms", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("meta", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("received_ms", BigInteger, nullable=False),
    Index("ix_screenshots_agent_taken", "agent_id", "taken_ms"),
)

# What the organisation sets for its agents: "policy" (an object) and
# "projects" (a list), as JSON.
settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


# Batches stored at once per server process (see app.upload_batch); the
# pool keeps that many connections open for them, plus a few for the rest.
BATCH_CONCURRENCY = 8


def make_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://``)."""
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        # Connections are kept, never made per request: an overflow connection
        # is closed when returned, and a new PostgreSQL connection is a new
        # server process (it showed as a fifth of a loaded worker's time).
        kwargs.update(
            pool_size=BATCH_CONCURRENCY + 8, max_overflow=8, pool_pre_ping=True
        )
    engine = create_engine(url, **kwargs)

    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    metadata.create_all(engine)
    log.info("server database ready (%s)", engine.dialect.name)
    return engine


def _sqlite_pragmas(connection: Any, _: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
