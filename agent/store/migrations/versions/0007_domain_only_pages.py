"""A page known only by its domain: the host a browser shows in its window
title, without a URL (no extension, title level "domain-only"). Such a row in
``urls`` has no ``url``, only ``domain``, and each domain has at most one.

The table is rebuilt to drop NOT NULL from ``url`` (with foreign keys off, as
:func:`agent.store.migrate` runs every migration); ids are kept, so the spans
still point at their pages.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_INDEX = "ix_urls_domain_only"


def upgrade() -> None:
    with op.batch_alter_table("urls", recreate="always") as batch:
        batch.alter_column("url", existing_type=sa.Text(), nullable=True)
    op.create_index(
        _INDEX,
        "urls",
        ["domain"],
        unique=True,
        sqlite_where=sa.text("url IS NULL"),
    )


def downgrade() -> None:
    # A domain-only row becomes the bare host, which reports read as that
    # domain, rather than losing the spans' page.
    op.drop_index(_INDEX, table_name="urls")
    op.execute(
        "UPDATE urls SET url = domain WHERE url IS NULL AND domain IS NOT NULL "
        "AND domain NOT IN (SELECT url FROM urls WHERE url IS NOT NULL)"
    )
    op.execute(
        "UPDATE spans SET url_id = NULL WHERE url_id IN "
        "(SELECT id FROM urls WHERE url IS NULL)"
    )
    op.execute("DELETE FROM urls WHERE url IS NULL")
    with op.batch_alter_table("urls", recreate="always") as batch:
        batch.alter_column("url", existing_type=sa.Text(), nullable=False)
