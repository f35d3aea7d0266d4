"""The timer's tables: store facts, projects, tasks and entries.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    # INTEGER PRIMARY KEY is SQLite's rowid itself: no second index.
    return sa.Column("id", sa.Integer(), primary_key=True)


def _ms(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "projects",
        _id(),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        _ms("created_at"),
        _ms("archived_at", nullable=True),
    )
    op.create_table(
        "tasks",
        _id(),
        sa.Column(
            "project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False
        ),
        sa.Column("name", sa.String(200), nullable=False),
        _ms("created_at"),
        _ms("archived_at", nullable=True),
        sa.UniqueConstraint("project_id", "name"),
    )
    op.create_table(
        "entries",
        _id(),
        sa.Column(
            "project_id", sa.Integer(), sa.ForeignKey("projects.id"), nullable=False
        ),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("tasks.id")),
        sa.Column("note", sa.Text()),
        sa.Column("source", sa.String(16), nullable=False),
        _ms("start_ms"),
        _ms("end_ms", nullable=True),
        _ms("flushed_at", nullable=True),
        _ms("updated_at"),
        _ms("deleted_at", nullable=True),
    )
    op.create_index("ix_entries_start_ms", "entries", ["start_ms"])
    # At most one entry runs at a time, whichever process started it.
    op.execute(
        "CREATE UNIQUE INDEX ix_entries_one_running ON entries ((1)) "
        "WHERE end_ms IS NULL AND deleted_at IS NULL"
    )


def downgrade() -> None:
    for table in ("entries", "tasks", "projects", "meta"):
        op.drop_table(table)
