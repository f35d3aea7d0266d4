"""What screenshots need beyond their first table: who deleted one and how
much slot time went with it (the audit record), and when an uploaded image's
file was pruned for the disk budget.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns only: SQLite adds them without rebuilding the table.
    op.add_column("screenshots", sa.Column("deleted_by", sa.String(16)))
    op.add_column("screenshots", sa.Column("removed_seconds", sa.Float()))
    op.add_column("screenshots", sa.Column("pruned_at", sa.BigInteger()))


def downgrade() -> None:
    with op.batch_alter_table("screenshots") as batch:
        batch.drop_column("pruned_at")
        batch.drop_column("removed_seconds")
        batch.drop_column("deleted_by")
