"""What idle resolutions and unusual-activity flags need: the worker's reason,
who resolved a period, how it was split, and the flags' readable reasons.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns only: SQLite adds them without rebuilding the tables.
    op.add_column("idle_periods", sa.Column("note", sa.Text()))
    op.add_column("idle_periods", sa.Column("resolved_by", sa.String(16)))
    op.add_column("idle_periods", sa.Column("detail", sa.Text()))
    op.add_column("slots", sa.Column("flag_reasons", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("slots") as batch:
        batch.drop_column("flag_reasons")
    with op.batch_alter_table("idle_periods") as batch:
        batch.drop_column("detail")
        batch.drop_column("resolved_by")
        batch.drop_column("note")
