"""The vault's tables: wrapped data keys, encrypted records, and the log of operator reads.

One data key per subject and expiry date: every record of a key expires on the same day, so
purging destroys the key exactly when its records expire (crypto-shredding their backups too).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from exitright.db.base import Base


class VaultKey(Base):
    """A subject's data key for one expiry date, wrapped by the master key."""

    __tablename__ = "vault_keys"
    __table_args__ = (UniqueConstraint("subject_pseudonym", "retain_until"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    retain_until: Mapped[date] = mapped_column(Date, index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VaultRecord(Base):
    """One retained row (or the personal columns of a row kept in place), encrypted."""

    __tablename__ = "vault_records"
    __table_args__ = (UniqueConstraint("plan_id", "store", "table_name", "row_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("vault_keys.id", ondelete="CASCADE"), index=True)
    plan_id: Mapped[str] = mapped_column(String(36), index=True)
    subject_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    store: Mapped[str] = mapped_column(String(100))
    table_name: Mapped[str] = mapped_column(String(100))
    row_key: Mapped[str] = mapped_column(String(255))
    legal_basis: Mapped[str] = mapped_column(String(32), index=True)
    retain_until: Mapped[date] = mapped_column(Date, index=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class VaultAccess(Base):
    """An operator's read of a subject's vault records, with the reason given."""

    __tablename__ = "vault_access"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    operator: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    subject_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    records: Mapped[int] = mapped_column(Integer)
