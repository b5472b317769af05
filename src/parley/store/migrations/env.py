"""Alembic environment: migrations run on the connection `Store` hands over.

The migrations are the one definition of the schema; the store reflects the tables they made.
"""

from __future__ import annotations

from alembic import context

context.configure(connection=context.config.attributes["connection"], render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
