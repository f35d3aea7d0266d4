"""A break's allotted length, as the policy gave it when the break began, so
a countdown in any process and a later report agree on the overrun.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: breaks recorded before this (idle answers) had no allotment.
    op.add_column("breaks", sa.Column("allotted_seconds", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("breaks") as batch:
        batch.drop_column("allotted_seconds")
