"""The record (docs/record.md): its entries, the grants of its key, its state.

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


def upgrade() -> None:
    with op.batch_alter_table("summits") as table:
        table.add_column(sa.Column("record_state", sa.String(16), nullable=False, server_default="open"))
    # An entry is kept once, at its position: the primary key refuses a second entry at a seq, so
    # two servers (or a bug) can never fork the stored log. The statement is ciphertext.
    op.create_table(
        "record_entries",
        sa.Column(
            "summit_id", sa.String(32), sa.ForeignKey("summits.summit_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("entry", sa.Text, nullable=False),
        sa.Column("ciphertext", sa.Text, nullable=False),
        sa.Column("certificate", sa.Text, nullable=False),
        sa.Column("kept_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("summit_id", "seq"),
    )
    # The record key sealed to each reader and each delegation: one grant per recipient key.
    op.create_table(
        "record_grants",
        sa.Column(
            "summit_id", sa.String(32), sa.ForeignKey("summits.summit_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("recipient", sa.String(128), nullable=False),
        sa.Column("grant_text", sa.Text, nullable=False),
        sa.Column("kept_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("summit_id", "recipient"),
    )


def downgrade() -> None:
    op.drop_table("record_grants")
    op.drop_table("record_entries")
    with op.batch_alter_table("summits") as table:
        table.drop_column("record_state")
