"""The tables of Security Event Tokens in and out: outbox, attempts, received events, poll tokens.

No plaintext personal data at rest: an outgoing SET is stored AES-GCM encrypted (its ``sub_id``
may carry a phone or e-mail for a recipient that has nothing else) and erased once the
recipient has answered; incoming subjects are kept only as keyed hashes; poll tokens only as
SHA-256 digests. All times are UTC (SQLite hands them back naive; see :func:`aware`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from exitright.db.base import Base

__all__ = [
    "DeliveryAttempt",
    "OutboxNotice",
    "PollToken",
    "ReceivedEvent",
    "RecycledIdentifierNotice",
    "aware",
]


def aware(value: datetime | None) -> datetime | None:
    """``value`` as an aware UTC datetime (SQLite returns naive ones; every value stored is UTC)."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class OutboxNotice(Base):
    """One SET to one recipient, from enqueue to acknowledgement (or rejection, or giving up).

    ``state``: ``pending`` (to push, or waiting to be polled), ``acknowledged`` (202, or acked
    in a poll), ``rejected`` (400 with an ``err`` code, or a poll ``setErrs`` entry) or
    ``failed`` (no answer after the retry policy's last attempt). ``escalated_at`` is set once
    when the recipient is still silent after its deadline.
    """

    __tablename__ = "security_event_outbox"
    __table_args__ = (UniqueConstraint("request_id", "recipient", "event_type"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    recipient: Mapped[str] = mapped_column(String(100), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(500))
    delivery: Mapped[str] = mapped_column(String(8))
    endpoint: Mapped[str | None] = mapped_column(String(500))
    sub_format: Mapped[str] = mapped_column(String(16))
    token_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    err: Mapped[str | None] = mapped_column(String(64))
    err_description: Mapped[str | None] = mapped_column(String(500))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeliveryAttempt(Base):
    """One push (or one poll hand-out) of a SET and what came back."""

    __tablename__ = "security_event_attempts"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    jti: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16))  # acknowledged | rejected | retry | polled
    http_status: Mapped[int | None] = mapped_column(Integer)
    err: Mapped[str | None] = mapped_column(String(64))
    duration_ms: Mapped[int | None] = mapped_column(Integer)


class ReceivedEvent(Base):
    """A SET accepted from a trusted issuer: deduplicated by (issuer, jti), subject hashed."""

    __tablename__ = "security_events_received"
    __table_args__ = (UniqueConstraint("issuer", "jti"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    issuer: Mapped[str] = mapped_column(String(500))
    jti: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(200))
    subject_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(64))


class RecycledIdentifierNotice(Base):
    """An ``identifier-recycled`` event kept for the recycled-number guard to pick up.

    Only the keyed hash of the identifier (purpose ``recycled-identifier``) is stored: the guard
    hashes an account's phone or e-mail the same way to ask "was this one recycled?".
    """

    __tablename__ = "recycled_identifier_notices"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    issuer: Mapped[str] = mapped_column(String(500))
    jti: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # phone | email
    identifier_hash: Mapped[str] = mapped_column(String(64), index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PollToken(Base):
    """The bearer token a poll-delivery recipient authenticates with; only its SHA-256 is kept."""

    __tablename__ = "recipient_poll_tokens"

    recipient: Mapped[str] = mapped_column(String(100), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
