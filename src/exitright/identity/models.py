"""The identity tables: challenges, the send log, recycled marks and account freezes.

No column holds a phone number, an e-mail address or a code: identifiers are keyed hashes
(:func:`exitright.identity.identifiers.identifier_hash`), codes are HMACs bound to their
challenge (:func:`exitright.identity.otp.hash_code`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from exitright.db.base import Base

__all__ = ["AccountFreeze", "IdentityChallenge", "IdentitySend", "RecycledMark"]


class IdentityChallenge(Base):
    """One one-time-code verification in progress (see :class:`exitright.identity.otp.Challenge`).

    ``account_ref`` is the platform's opaque account reference (None: no account was found, and
    no code was sent); ``request_id`` links a request verification to its request.
    """

    __tablename__ = "identity_challenges"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))
    subject_hash: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    code_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    failed_attempts: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sends: Mapped[list[Any]] = mapped_column(JSON)
    account_ref: Mapped[str | None] = mapped_column(String(128))
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IdentitySend(Base):
    """One code sent (or, for an unknown identifier, pretended): the per-identifier rate log."""

    __tablename__ = "identity_sends"
    __table_args__ = (Index("ix_identity_sends_subject_sent", "subject_hash", "sent_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_hash: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class RecycledMark(Base):
    """The carrier reissued this identifier to someone else on ``recycled_on`` (a local date).

    ``source`` is ``operator``, ``carrier-file``, ``lookup`` or ``risc-event``; ``reference``
    says where it came from (a file name, an event id) and never holds personal data.
    """

    __tablename__ = "identity_recycled_marks"
    __table_args__ = (
        UniqueConstraint(
            "identifier_hash", "recycled_on", "source", name="uq_identity_recycled_marks_key"
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    identifier_hash: Mapped[str] = mapped_column(String(64), index=True)
    recycled_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str | None] = mapped_column(String(200))
    noted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AccountFreeze(Base):
    """An account frozen because its identifier changed hands; lifted through another factor."""

    __tablename__ = "identity_account_freezes"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_ref: Mapped[str] = mapped_column(String(128), index=True)
    identifier_hash: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    recycled_on: Mapped[date | None] = mapped_column(Date)
    frozen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lifted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lifted_via: Mapped[str | None] = mapped_column(String(16))
