"""Security Event Tokens: the outbox, delivery attempts, received events, poll tokens.

Revision ID: 0004_security_events
Revises: 0003_requests
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_security_events"
down_revision = "0003_requests"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "security_event_outbox",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=64), nullable=True),
        sa.Column("audience", sa.String(length=500), nullable=False),
        sa.Column("delivery", sa.String(length=8), nullable=False),
        sa.Column("endpoint", sa.String(length=500), nullable=True),
        sa.Column("sub_format", sa.String(length=16), nullable=False),
        sa.Column("token_enc", sa.LargeBinary(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("err", sa.String(length=64), nullable=True),
        sa.Column("err_description", sa.String(length=500), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_security_event_outbox")),
        sa.UniqueConstraint(
            "request_id",
            "recipient",
            "event_type",
            name=op.f("uq_security_event_outbox_request_id"),
        ),
    )
    op.create_index(
        op.f("ix_security_event_outbox_recipient"), "security_event_outbox", ["recipient"]
    )
    op.create_index(
        op.f("ix_security_event_outbox_request_id"), "security_event_outbox", ["request_id"]
    )
    op.create_index(op.f("ix_security_event_outbox_state"), "security_event_outbox", ["state"])
    op.create_index(
        op.f("ix_security_event_outbox_next_attempt_at"),
        "security_event_outbox",
        ["next_attempt_at"],
    )
    op.create_table(
        "security_event_attempts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("err", sa.String(length=64), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_event_attempts")),
    )
    op.create_index(op.f("ix_security_event_attempts_jti"), "security_event_attempts", ["jti"])
    op.create_table(
        "security_events_received",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("subject_hash", sa.String(length=64), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_events_received")),
        sa.UniqueConstraint("issuer", "jti", name=op.f("uq_security_events_received_issuer")),
    )
    op.create_index(
        op.f("ix_security_events_received_subject_hash"),
        "security_events_received",
        ["subject_hash"],
    )
    op.create_table(
        "recycled_identifier_notices",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("jti", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("identifier_hash", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recycled_identifier_notices")),
    )
    op.create_index(
        op.f("ix_recycled_identifier_notices_identifier_hash"),
        "recycled_identifier_notices",
        ["identifier_hash"],
    )
    op.create_table(
        "recipient_poll_tokens",
        sa.Column("recipient", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("recipient", name=op.f("pk_recipient_poll_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_recipient_poll_tokens_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("recipient_poll_tokens")
    op.drop_index(
        op.f("ix_recycled_identifier_notices_identifier_hash"),
        table_name="recycled_identifier_notices",
    )
    op.drop_table("recycled_identifier_notices")
    op.drop_index(
        op.f("ix_security_events_received_subject_hash"), table_name="security_events_received"
    )
    op.drop_table("security_events_received")
    op.drop_index(op.f("ix_security_event_attempts_jti"), table_name="security_event_attempts")
    op.drop_table("security_event_attempts")
    for column in ("next_attempt_at", "state", "request_id", "recipient"):
        op.drop_index(
            op.f(f"ix_security_event_outbox_{column}"), table_name="security_event_outbox"
        )
    op.drop_table("security_event_outbox")
