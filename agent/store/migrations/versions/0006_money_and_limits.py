"""What rates, budgets, work limits and the value report keep: budget
thresholds already told (once per period, across restarts), entries started
outside a shift, and the value report's baselines and delivered units.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budget_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("budget", sa.String(250), nullable=False),
        sa.Column("period_start", sa.String(10), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("used_percent", sa.Float(), nullable=False),
        sa.Column("notified_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_budget_alerts"),
        sa.UniqueConstraint(
            "budget",
            "period_start",
            "threshold",
            name="uq_budget_alerts_budget_period_start_threshold",
        ),
    )
    op.create_table(
        "outside_shift",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name="fk_outside_shift_entry_id_entries"
        ),
        sa.PrimaryKeyConstraint("entry_id", name="pk_outside_shift"),
    )
    op.create_table(
        "value_baselines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind_key", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(200), nullable=False),
        sa.Column("minutes_per_unit", sa.Float(), nullable=False),
        sa.Column("cost_per_hour", sa.String(32), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_value_baselines"),
        sa.UniqueConstraint("kind_key", name="uq_value_baselines_kind_key"),
    )
    op.create_table(
        "value_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind_key", sa.String(200), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("units", sa.Float(), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_value_units"),
    )
    op.create_index("ix_value_units_kind_key_day", "value_units", ["kind_key", "day"])


def downgrade() -> None:
    op.drop_index("ix_value_units_kind_key_day", table_name="value_units")
    op.drop_table("value_units")
    op.drop_table("value_baselines")
    op.drop_table("outside_shift")
    op.drop_table("budget_alerts")
