"""Operators of the admin console and their sign-in attempts (SQLAlchemy 2, ``Mapped``).

An operator has a role (viewer, operator, admin), a password kept only as an scrypt hash, and a
``session_epoch`` that every signed-in cookie carries: signing out or disabling the operator bumps
it, so a copied cookie stops working at once although the session itself is a signed cookie.
Sign-in attempts are kept per keyed hash of the name and of the client address (never either in
clear: a name may be an e-mail address, an address is personal data) for the rate limit.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from exitright.db.base import Base

__all__ = ["Operator", "Role", "SignInAttempt"]


class Role(StrEnum):
    """What an operator may do; each role includes the ones before it."""

    VIEWER = "viewer"  # reads the queue, requests (no identifiers) and health
    OPERATOR = "operator"  # also verifies and rejects requests; sees masked identifiers
    ADMIN = "admin"  # also manages operators

    @property
    def rank(self) -> int:
        """Position in the order viewer < operator < admin."""
        return list(Role).index(self)

    def includes(self, other: Role) -> bool:
        """Whether this role may do everything ``other`` may."""
        return self.rank >= other.rank


class Operator(Base):
    """A person who signs in to the admin console."""

    __tablename__ = "admin_operators"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInAttempt(Base):
    """One failed sign-in, under the keyed hash of the name or of the client address."""

    __tablename__ = "admin_sign_in_attempts"
    __table_args__ = (Index("ix_admin_sign_in_attempts_key_at", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
