"""Delegation-certified identities: the organiser's pins, and the documents a summit keeps.

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
    with op.batch_alter_table("delegations") as table:
        table.add_column(sa.Column("pin", sa.String(30), nullable=True))
    # Certificates, revocation lists and pin sets: public, signed, and kept so that a restart
    # forgets none. One per kind and owner (a device's user id, an issuing key, a delegation).
    op.create_table(
        "identity_documents",
        sa.Column(
            "summit_id", sa.String(32), sa.ForeignKey("summits.summit_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("kept_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("summit_id", "kind", "owner"),
    )


def downgrade() -> None:
    op.drop_table("identity_documents")
    with op.batch_alter_table("delegations") as table:
        table.drop_column("pin")
