"""The summit's course: admission and end settings, phase, lock, overrun; the summit's log.

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


def upgrade() -> None:
    with op.batch_alter_table("summits") as table:
        table.add_column(sa.Column("admission", sa.String(24), nullable=False, server_default="host"))
        table.add_column(sa.Column("at_end", sa.String(16), nullable=False, server_default="hard_stop"))
        table.add_column(sa.Column("phase", sa.String(16), nullable=False, server_default="scheduled"))
        table.add_column(sa.Column("locked", sa.Boolean, nullable=False, server_default=sa.false()))
        table.add_column(sa.Column("overrun", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "summit_log",
        sa.Column("entry", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "summit_id", sa.String(32), sa.ForeignKey("summits.summit_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("summit_log")
    with op.batch_alter_table("summits") as table:
        for column in ("overrun", "locked", "phase", "at_end", "admission"):
            table.drop_column(column)
