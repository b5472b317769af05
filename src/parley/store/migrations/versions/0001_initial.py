"""Summits, delegations, invitations.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "summits",
        sa.Column("summit_id", sa.String(32), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("scheduled_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer, nullable=False),
        sa.Column("channel_id", sa.BigInteger, nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "delegations",
        sa.Column("delegation_id", sa.String(32), primary_key=True),
        sa.Column(
            "summit_id", sa.String(32), sa.ForeignKey("summits.summit_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("working_language", sa.String(16), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
    )
    op.create_table(
        "invitations",
        sa.Column("invitation_id", sa.String(32), primary_key=True),
        sa.Column(
            "summit_id", sa.String(32), sa.ForeignKey("summits.summit_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "delegation_id",
            sa.String(32),
            sa.ForeignKey("delegations.delegation_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("invitations")
    op.drop_table("delegations")
    op.drop_table("summits")
