"""Requests (the workflow's aggregate, its queue columns and lease) and API keys.

Revision ID: 0003_requests
Revises: 0002_ledger
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_requests"
down_revision = "0002_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("regime", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("identifiers_enc", sa.LargeBinary(), nullable=True),
        sa.Column("plan_id", sa.String(length=36), nullable=True),
        sa.Column("certificate", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
        sa.UniqueConstraint("owner", "idempotency_key", name="uq_requests_owner_idempotency_key"),
    )
    op.create_index(op.f("ix_requests_state"), "requests", ["state"])
    op.create_index(op.f("ix_requests_subject"), "requests", ["subject"])
    op.create_index(op.f("ix_requests_due_at"), "requests", ["due_at"])
    op.create_index(op.f("ix_requests_next_run_at"), "requests", ["next_run_at"])
    op.create_index("ix_requests_owner_created", "requests", ["owner", "created_at", "id"])
    op.create_index("ix_requests_created", "requests", ["created_at", "id"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_keys_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_index("ix_requests_created", table_name="requests")
    op.drop_index("ix_requests_owner_created", table_name="requests")
    op.drop_index(op.f("ix_requests_next_run_at"), table_name="requests")
    op.drop_index(op.f("ix_requests_due_at"), table_name="requests")
    op.drop_index(op.f("ix_requests_subject"), table_name="requests")
    op.drop_index(op.f("ix_requests_state"), table_name="requests")
    op.drop_table("requests")
