"""Alembic environment: migrations run in-process on the store's connection.

The agent applies them at start-up (:func:`agent.store.migrate`); the
connection arrives through ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from agent.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "Punchclock's migrations run from the agent (agent.store.migrate), "
        "not from the alembic command line"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
