"""Admin console: operators (roles, scrypt password hashes) and failed sign-in attempts.

Revision ID: 0006_operators
Revises: 0005_identity
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_operators"
down_revision = "0005_identity"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_operators",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("session_epoch", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_operators")),
        sa.UniqueConstraint("name", name=op.f("uq_admin_operators_name")),
    )
    op.create_table(
        "admin_sign_in_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_sign_in_attempts")),
    )
    op.create_index(op.f("ix_admin_sign_in_attempts_at"), "admin_sign_in_attempts", ["at"])
    op.create_index(
        "ix_admin_sign_in_attempts_key_at", "admin_sign_in_attempts", ["key_hash", "at"]
    )


def downgrade() -> None:
    op.drop_table("admin_sign_in_attempts")
    op.drop_table("admin_operators")
