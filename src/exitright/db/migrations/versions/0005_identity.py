"""Identity: one-time-code challenges, the per-identifier send log, recycled marks, freezes.

Revision ID: 0005_identity
Revises: 0004_security_events
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_identity"
down_revision = "0004_security_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "identity_challenges",
        sa.Column("id", sa.String(length=48), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sends", sa.JSON(), nullable=False),
        sa.Column("account_ref", sa.String(length=128), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_challenges")),
    )
    op.create_index(
        op.f("ix_identity_challenges_subject_hash"), "identity_challenges", ["subject_hash"]
    )
    op.create_index(
        op.f("ix_identity_challenges_expires_at"), "identity_challenges", ["expires_at"]
    )
    op.create_index(
        op.f("ix_identity_challenges_request_id"), "identity_challenges", ["request_id"]
    )
    op.create_table(
        "identity_sends",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_sends")),
    )
    op.create_index(op.f("ix_identity_sends_sent_at"), "identity_sends", ["sent_at"])
    op.create_index("ix_identity_sends_subject_sent", "identity_sends", ["subject_hash", "sent_at"])
    op.create_table(
        "identity_recycled_marks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("identifier_hash", sa.String(length=64), nullable=False),
        sa.Column("recycled_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("noted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_recycled_marks")),
        sa.UniqueConstraint(
            "identifier_hash", "recycled_on", "source", name="uq_identity_recycled_marks_key"
        ),
    )
    op.create_index(
        op.f("ix_identity_recycled_marks_identifier_hash"),
        "identity_recycled_marks",
        ["identifier_hash"],
    )
    op.create_table(
        "identity_account_freezes",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_ref", sa.String(length=128), nullable=False),
        sa.Column("identifier_hash", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("recycled_on", sa.Date(), nullable=True),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_via", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_account_freezes")),
    )
    op.create_index(
        op.f("ix_identity_account_freezes_account_ref"),
        "identity_account_freezes",
        ["account_ref"],
    )
    op.create_index(
        op.f("ix_identity_account_freezes_identifier_hash"),
        "identity_account_freezes",
        ["identifier_hash"],
    )


def downgrade() -> None:
    op.drop_table("identity_account_freezes")
    op.drop_table("identity_recycled_marks")
    op.drop_table("identity_sends")
    op.drop_table("identity_challenges")
