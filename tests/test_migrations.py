"""Schema migrations: empty file to head, the previous schema with data, drift."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from agent.clock import ManualClock
from agent.store import (
    SCHEMA_HEAD,
    Store,
    _foreign_keys_off,
    alembic_config,
    migrate,
)
from agent.store import engine as engines
from agent.store.models import Base
from agent.timer import Timer

TABLES = {
    "alembic_version",
    "meta",
    "projects",
    "tasks",
    "entries",
    "apps",
    "titles",
    "urls",
    "spans",
    "slots",
    "idle_periods",
    "breaks",
    "screenshots",
    "policies",
    "outbox",
    "budget_alerts",
    "outside_shift",
    "value_baselines",
    "value_units",
}


def _revision(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(
            conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        )


def test_schema_head_is_the_newest_migration() -> None:
    script = ScriptDirectory.from_config(alembic_config())

    assert script.get_heads() == [SCHEMA_HEAD]


def test_migrations_form_one_line_from_the_first() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    revisions = [rev.revision for rev in script.walk_revisions()]

    assert revisions[-1] == "0001"
    assert revisions[0] == SCHEMA_HEAD
    assert len(revisions) == len(set(revisions))


def test_empty_file_is_migrated_to_head(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    path.touch()

    store = Store.open(path)
    tables = set(inspect(store._engines[0]).get_table_names())
    store.close()

    assert _revision(path) == SCHEMA_HEAD
    assert tables == TABLES
    assert store.kept_aside is None


def test_missing_file_is_created_at_head(tmp_path: Path) -> None:
    path = tmp_path / "deeper" / "store.db"

    Store.open(path).close()

    assert _revision(path) == SCHEMA_HEAD


def test_previous_schema_with_data_is_migrated_and_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    engines.create_file(path)
    engine = engines.make_engine(path, write=True)
    migrate(engine, "0001")
    engine.dispose()
    assert _revision(path) == "0001"

    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO projects (id, name, created_at) VALUES (7, 'Acme', 1000)"
        )
        conn.execute(
            "INSERT INTO tasks (id, project_id, name, created_at) "
            "VALUES (8, 7, 'Design', 1000)"
        )
        conn.execute(
            "INSERT INTO entries (id, project_id, task_id, note, source, start_ms, "
            "end_ms, updated_at) VALUES "
            "(9, 7, 8, 'kept', 'manual', 1767600000000, 1767603600000, 1000)"
        )

    store = Store.open(path)
    entry = Timer(store, ManualClock()).get(9)
    tables = set(inspect(store._engines[0]).get_table_names())
    store_id = store.store_id
    store.close()

    assert _revision(path) == SCHEMA_HEAD
    assert tables == TABLES
    assert store_id
    assert (entry.project, entry.task, entry.note, entry.source) == (
        "Acme",
        "Design",
        "kept",
        "manual",
    )
    assert entry.end is not None
    assert (entry.end - entry.start).total_seconds() == 3600


@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_models_match_the_migrated_schema(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    Store.open(path).close()
    engine = create_engine(f"sqlite:///{path}")

    with engine.connect() as conn:
        context = MigrationContext.configure(conn)
        differences = [
            diff for diff in compare_metadata(context, Base.metadata) if _real(diff)
        ]
    engine.dispose()

    assert differences == []


def _real(diff: Any) -> bool:
    """False for what SQLite cannot reflect: the one-running-entry index.

    An index on an expression (``(1)``) comes back without columns, so
    autogenerate always sees it as missing from the database.
    """
    if isinstance(diff, tuple) and diff[0] in ("add_index", "remove_index"):
        return bool(diff[1].name != "ix_entries_one_running")
    return True


def test_one_running_entry_index_exists_after_migration(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    Store.open(path).close()

    with sqlite3.connect(path) as conn:
        sql = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'ix_entries_one_running'"
        ).fetchone()[0]

    assert "UNIQUE" in sql
    assert "end_ms IS NULL" in sql


def test_corrupt_file_is_kept_aside_and_a_new_store_started(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    garbage = b"this is not a database, just some bytes\x00\xff" * 200
    path.write_bytes(garbage)

    store = Store.open(path)

    assert store.kept_aside is not None
    assert store.kept_aside != path
    assert store.kept_aside.read_bytes() == garbage
    assert store.integrity_check() == []
    assert _revision(path) == SCHEMA_HEAD
    store.close()


def test_truncated_database_is_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    Store.open(path).close()
    whole = path.read_bytes()
    damaged = whole[:100] + b"\xde\xad\xbe\xef" * ((len(whole) - 100) // 4)
    path.write_bytes(damaged)

    store = Store.open(path)

    assert store.kept_aside is not None
    assert store.kept_aside.read_bytes() == damaged
    assert store.integrity_check() == []
    store.close()


def test_cli_says_where_a_corrupt_database_went(tmp_path: Path) -> None:
    from agent.paths import Paths

    paths = Paths.from_env()
    paths.ensure()
    paths.database.write_bytes(b"garbage" * 100)

    from agent.cli import main

    assert main(["projects", "add", "Acme"]) == 0
    aside = [p for p in paths.data_dir.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1
    assert aside[0].read_bytes() == b"garbage" * 100


def _store_at(path: Path, revision: str) -> None:
    engines.create_file(path)
    engine = engines.make_engine(path, write=True)
    migrate(engine, revision)
    engine.dispose()
    assert _revision(path) == revision


def _with_a_browser_span(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO projects (id, name, created_at) VALUES (7, 'A', 1)")
        conn.execute(
            "INSERT INTO entries (id, project_id, source, start_ms, end_ms, "
            "updated_at) VALUES (9, 7, 'timer', 1767600000000, 1767603600000, 1)"
        )
        conn.execute("INSERT INTO apps (id, name) VALUES (3, 'firefox')")
        conn.execute(
            "INSERT INTO urls (id, url, domain) "
            "VALUES (4, 'https://github.com/x', 'github.com')"
        )
        conn.execute(
            "INSERT INTO spans (start_ms, id, entry_id, end_ms, app_id, url_id, "
            "flags) VALUES (1767600000000, 11, 9, 1767600060000, 3, 4, 0)"
        )


def test_pages_from_0006_keep_their_spans_and_domains_can_stand_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    _store_at(path, "0006")
    _with_a_browser_span(path)

    store = Store.open(path)
    with store.write() as session:
        # The migration's connection goes back to the pool checking references.
        enforced = session.execute(text("PRAGMA foreign_keys")).scalar()
    store.close()

    assert enforced == 1
    assert _revision(path) == SCHEMA_HEAD
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        assert conn.execute("SELECT id, url, domain FROM urls").fetchall() == [
            (4, "https://github.com/x", "github.com")
        ]
        assert conn.execute("SELECT id, url_id FROM spans").fetchall() == [(11, 4)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        # A domain without a URL now has a row, and only one per domain.
        conn.execute("INSERT INTO urls (url, domain) VALUES (NULL, 'github.com')")
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO urls (url, domain) VALUES (NULL, 'github.com')")
        conn.execute("INSERT INTO urls (url, domain) VALUES ('https://a.b/', 'a.b')")
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO urls (url, domain) VALUES ('https://a.b/', 'c')")


def test_0007_goes_back_to_0006_keeping_domain_only_pages_as_hosts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    _store_at(path, "0006")
    _with_a_browser_span(path)
    Store.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO urls (id, domain) VALUES (5, 'gitlab.com')")
        conn.execute(
            "INSERT INTO spans (start_ms, id, entry_id, end_ms, app_id, url_id, "
            "flags) VALUES (1767600060000, 12, 9, 1767600120000, 3, 5, 0)"
        )

    engine = engines.make_engine(path, write=True)
    with engine.connect() as connection, _foreign_keys_off(connection):
        from alembic import command

        with connection.begin():
            command.downgrade(alembic_config(connection), "0006")
    engine.dispose()

    assert _revision(path) == "0006"
    with sqlite3.connect(path) as conn:
        assert conn.execute(
            "SELECT s.id, u.url FROM spans s JOIN urls u ON u.id = s.url_id "
            "ORDER BY s.id"
        ).fetchall() == [(11, "https://github.com/x"), (12, "gitlab.com")]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO urls (url, domain) VALUES (NULL, 'x.org')")
