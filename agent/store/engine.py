"""Opening the SQLite file: permissions, pragmas, write transactions.

SQLite is shared by the agent and the CLI. Two habits keep that safe:

- WAL mode, so readers never wait for the writer and the writer never waits
  for readers;
- every write transaction starts with ``BEGIN IMMEDIATE``, so a second writer
  waits on the busy timeout up front instead of failing halfway through with
  "database is locked" when it tries to upgrade a read lock.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import QueuePool

from agent.names import SQL_FOLD, sql_fold

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 15_000


def create_file(path: Path) -> None:
    """Create the database file owner-only before SQLite ever opens it.

    SQLite gives its -wal and -shm files the permissions of the database.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def make_engine(path: Path, *, write: bool) -> Engine:
    """An engine over ``path``; with ``write`` its transactions take the lock."""
    engine = create_engine(
        f"sqlite:///{path}",
        poolclass=QueuePool,
        pool_size=2,
        max_overflow=4,
        connect_args={
            "timeout": BUSY_TIMEOUT_MS / 1000,
            "check_same_thread": False,
            # Transactions are begun explicitly below (pysqlite's own
            # implicit BEGIN would be DEFERRED).
            "isolation_level": None,
        },
    )
    begin = "BEGIN IMMEDIATE" if write else "BEGIN"
    event.listen(engine, "connect", _configure_connection)
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
    return engine


def _configure_connection(dbapi_connection: sqlite3.Connection, _: Any) -> None:
    # Name lookups fold case with full Unicode (SQLite's lower() is ASCII).
    dbapi_connection.create_function(SQL_FOLD, 1, sql_fold, deterministic=True)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()
