"""The local store: one SQLite file shared by the agent and the CLI.

Open it with :meth:`Store.open`; it creates the file owner-only, applies the
schema migrations in order and checks the file. Read with :meth:`Store.read`,
write with :meth:`Store.write`; both hand out an ORM session whose
transaction ends with the ``with`` block.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agent.errors import StoreBusyError, StoreCorruptError, StoreError
from agent.store import engine as engines
from agent.store.models import Meta

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

# The newest migration. Kept here so that a store already at this revision
# opens without importing Alembic (the CLI's start-up time depends on it);
# tests check it against the migrations directory.
SCHEMA_HEAD = "0007"

MIGRATIONS = Path(__file__).parent / "migrations"

# How long a writer keeps retrying when another process holds the lock
# beyond SQLite's own busy timeout.
WRITE_PATIENCE_S = 60.0


class Store:
    """The SQLite store. Thread-safe; share one instance per process."""

    def __init__(self, path: Path, reader: Engine, writer: Engine) -> None:
        self.path = path
        self._reader = sessionmaker(reader, expire_on_commit=False)
        self._writer = sessionmaker(writer, expire_on_commit=False)
        self._engines = (reader, writer)
        self._write_lock = threading.Lock()
        self._probe: sqlite3.Connection | None = None
        self._probe_lock = threading.Lock()
        # The write session this thread has open, for nested writes.
        self._local = threading.local()

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating and migrating as needed) the store at ``path``.

        A file that is not a database or fails its quick check is moved aside
        and a new one is started; ``kept_aside`` on the returned store then
        says where the old file went, for the caller to tell the worker.
        """
        kept_aside: Path | None = None
        try:
            store = cls._open_checked(path)
        except StoreCorruptError:
            kept_aside = _move_aside(path)
            store = cls._open_checked(path)

        if kept_aside is not None:
            store.kept_aside = kept_aside
        return store

    kept_aside: Path | None = None

    @classmethod
    def _open_checked(cls, path: Path) -> Store:
        engines.create_file(path)
        reader = engines.make_engine(path, write=False)
        writer = engines.make_engine(path, write=True)
        store = cls(path, reader, writer)
        try:
            store._check()
            store._migrate()
        except DatabaseError as error:
            store.close()
            if _is_corruption(error):
                raise StoreCorruptError(
                    f"the database {path} is damaged ({error.orig})"
                ) from error
            raise StoreError(f"cannot open the database {path}: {error}") from error
        return store

    def close(self) -> None:
        with self._probe_lock:
            if self._probe is not None:
                self._probe.close()
                self._probe = None
        for engine in self._engines:
            engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; it sees one consistent snapshot."""
        with self._reader() as session, session.begin():
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction holds the write lock and commits at the end.

        Another process holding the lock is waited out (SQLite's busy
        timeout, then retries) for up to a minute before
        :class:`StoreBusyError`; nothing is written half-way.

        A write inside another write on the same thread joins it: one
        transaction, committed (or rolled back) by the outermost block. The
        agent's flush writes the timer, spans and slots that way, in one
        commit instead of three.
        """
        joined = getattr(self._local, "session", None)
        if joined is not None:
            yield joined
            return
        deadline = time.monotonic() + WRITE_PATIENCE_S
        with self._write_lock:
            session = self._begin_write(deadline)
            self._local.session = session
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                self._local.session = None
                session.close()

    def _begin_write(self, deadline: float) -> Session:
        delay = 0.05
        while True:
            session = self._writer()
            try:
                session.connection()
                return session
            except OperationalError as error:
                session.close()
                if not _is_locked(error) or time.monotonic() > deadline:
                    raise StoreBusyError(
                        "another Punchclock process kept the store locked for "
                        f"over {WRITE_PATIENCE_S:.0f} s; try again"
                    ) from error
                log.warning("store locked by another process; waiting")
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def meta(self, key: str) -> str | None:
        with self.read() as session:
            return session.scalar(select(Meta.value).where(Meta.key == key))

    @property
    def store_id(self) -> str:
        """This store's own id; with a record's id it makes the upload key."""
        value = self.meta("store_id")
        if value is None:
            raise StoreError(f"the database {self.path} has no store id")
        return value

    def data_version(self) -> int:
        """Changes whenever another connection commits: a cheap change probe.

        SQLite keeps the counter per connection, so the probe has one of its
        own.
        """
        with self._probe_lock:
            if self._probe is None:
                self._probe = sqlite3.connect(self.path, check_same_thread=False)
            row = self._probe.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def integrity_check(self) -> list[str]:
        """SQLite's full integrity check; an empty list means the file is sound."""
        with self._engines[0].connect() as conn:
            rows = conn.exec_driver_sql("PRAGMA integrity_check").scalars().all()
        return [] if rows == ["ok"] else [str(row) for row in rows]

    def _check(self) -> None:
        with self._engines[0].connect() as conn:
            result = conn.exec_driver_sql("PRAGMA quick_check").scalar_one()
        if result != "ok":
            raise StoreCorruptError(f"the database {self.path} is damaged: {result}")

    def _migrate(self) -> None:
        if self._revision() == SCHEMA_HEAD:
            return
        migrate(self._engines[1])
        with self.write() as session:
            if session.get(Meta, "store_id") is None:
                session.add(Meta(key="store_id", value=str(uuid.uuid4())))
                created = datetime.now().astimezone().isoformat()
                session.add(Meta(key="created_at", value=created))

    def _revision(self) -> str | None:
        with self._engines[0].connect() as conn:
            exists = conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'"
            ).first()
            if exists is None:
                return None
            return conn.execute(
                text("SELECT version_num FROM alembic_version")
            ).scalar()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Apply the schema migrations in order, up to ``revision``."""
    from alembic import command

    log.info("migrating the store to schema %s", revision)
    with (
        engine.connect() as connection,
        _foreign_keys_off(connection),
        connection.begin(),
    ):
        command.upgrade(alembic_config(connection), revision)
        _warn_of_broken_references(connection)


@contextmanager
def _foreign_keys_off(connection: Connection) -> Iterator[None]:
    """SQLite changes a column by rebuilding its table, which drops a table
    that others point at: foreign keys are off while migrations run (the
    pragma only takes effect outside a transaction) and checked after."""
    driver = connection.connection.driver_connection
    if not isinstance(driver, sqlite3.Connection):
        raise TypeError(f"the store is a SQLite file, not {type(driver)}")
    driver.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys = ON")


def _warn_of_broken_references(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        log.warning("after migrating, %d rows point at rows gone", len(broken))


def alembic_config(connection: object = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _is_locked(error: OperationalError) -> bool:
    return isinstance(error.orig, sqlite3.OperationalError) and (
        "locked" in str(error.orig) or "busy" in str(error.orig)
    )


def _is_corruption(error: DatabaseError) -> bool:
    message = str(error.orig)
    return "not a database" in message or "malformed" in message


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{path}{suffix}")
        if source.exists():
            source.rename(Path(f"{target}{suffix}"))
    log.error("damaged database moved aside to %s", target)
    return target
