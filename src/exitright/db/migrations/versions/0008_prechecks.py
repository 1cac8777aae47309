"""Submission rate limits: accepted submissions per keyed hash of address, identifier or key.

Revision ID: 0008_prechecks
Revises: 0007_request_kinds
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_prechecks"
down_revision = "0007_request_kinds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_hits",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bucket", sa.String(length=32), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_hits")),
    )
    op.create_index(op.f("ix_rate_limit_hits_at"), "rate_limit_hits", ["at"])
    op.create_index(
        "ix_rate_limit_hits_bucket_key_at", "rate_limit_hits", ["bucket", "key_hash", "at"]
    )


def downgrade() -> None:
    op.drop_table("rate_limit_hits")
