"""What capture and sync need: focus spans, slots, idle, breaks, screenshots,
policies and the outbox.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _ms(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def _ref(name: str, table: str, nullable: bool = True) -> sa.Column[int]:
    return sa.Column(
        name, sa.Integer(), sa.ForeignKey(f"{table}.id"), nullable=nullable
    )


def upgrade() -> None:
    _dictionaries()
    # Clustered by start time: no rowid and no second index, which keeps a
    # span under 60 bytes on disk.
    op.create_table(
        "spans",
        _ms("start_ms"),
        sa.Column("id", sa.Integer(), nullable=False),
        _ref("entry_id", "entries", nullable=False),
        _ms("end_ms"),
        _ref("app_id", "apps"),
        _ref("title_id", "titles"),
        _ref("url_id", "urls"),
        sa.Column("flags", sa.Integer(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("start_ms", "id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "slots",
        _id(),
        _ref("entry_id", "entries", nullable=False),
        _ms("start_ms"),
        _ms("end_ms"),
        sa.Column("tracked_seconds", sa.Float(), nullable=False),
        sa.Column("active_seconds", sa.Float()),
        sa.Column("keyboard_seconds", sa.Float()),
        sa.Column("mouse_seconds", sa.Float()),
        sa.Column("passive_seconds", sa.Float(), nullable=False),
        sa.Column("synthetic_flags", sa.Integer(), nullable=False),
        sa.UniqueConstraint("start_ms", "entry_id"),
    )
    _idle_and_breaks()
    _screenshots_policies_outbox()


def _dictionaries() -> None:
    op.create_table(
        "apps", _id(), sa.Column("name", sa.Text(), nullable=False, unique=True)
    )
    op.create_table(
        "titles", _id(), sa.Column("text", sa.Text(), nullable=False, unique=True)
    )
    op.create_table(
        "urls",
        _id(),
        sa.Column("url", sa.Text(), nullable=False, unique=True),
        sa.Column("domain", sa.Text()),
    )


def _idle_and_breaks() -> None:
    op.create_table(
        "idle_periods",
        _id(),
        _ref("entry_id", "entries"),
        _ms("start_ms"),
        _ms("end_ms", nullable=True),
        sa.Column("cause", sa.String(16), nullable=False),
        sa.Column("resolution", sa.String(16)),
        _ms("resolved_at", nullable=True),
    )
    op.create_table(
        "breaks",
        _id(),
        _ref("entry_id", "entries"),
        sa.Column("policy", sa.String(100), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        _ms("start_ms"),
        _ms("end_ms", nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
    )


def _screenshots_policies_outbox() -> None:
    op.create_table(
        "screenshots",
        _id(),
        _ref("entry_id", "entries"),
        _ms("taken_at"),
        _ms("slot_start"),
        sa.Column("monitor", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("blurred", sa.Boolean(), nullable=False),
        sa.Column("skipped_reason", sa.Text()),
        _ms("uploaded_at", nullable=True),
        _ms("deleted_at", nullable=True),
    )
    op.create_table(
        "policies",
        _id(),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        _ms("received_at"),
    )
    op.create_table(
        "outbox",
        _id(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("record_id", sa.BigInteger(), nullable=False),
        _ms("created_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ms("next_attempt_ms", nullable=True),
        sa.Column("last_error", sa.Text()),
        _ms("quarantined_at", nullable=True),
        sa.UniqueConstraint("kind", "record_id"),
    )
    op.create_index("ix_outbox_next_attempt_ms", "outbox", ["next_attempt_ms"])


def downgrade() -> None:
    for table in (
        "outbox",
        "policies",
        "screenshots",
        "breaks",
        "idle_periods",
        "slots",
        "spans",
        "urls",
        "titles",
        "apps",
    ):
        op.drop_table(table)
