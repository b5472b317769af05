"""Interpretation: a summit's language channels and its ducking level; an interpreter's language.

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
    with op.batch_alter_table("summits") as table:
        table.add_column(sa.Column("languages", sa.JSON, nullable=False, server_default="[]"))
        table.add_column(sa.Column("ducking", sa.Float, nullable=False, server_default="0.2"))
    with op.batch_alter_table("invitations") as table:
        table.add_column(sa.Column("language", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("invitations") as table:
        table.drop_column("language")
    with op.batch_alter_table("summits") as table:
        table.drop_column("ducking")
        table.drop_column("languages")
