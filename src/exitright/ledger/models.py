"""The ledger's table. Append-only by contract: the service never updates or deletes a row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from exitright.db.base import Base


class LedgerEntry(Base):
    """One hash-chained event. No plaintext personal data: subjects are pseudonyms."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))
    event: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)
    subject: Mapped[str | None] = mapped_column(String(64), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class SigningKey(Base):
    """An Ed25519 key that signs deletion certificates and Security Event Tokens.

    The newest unretired key signs; retired keys stay published in the JWKS so that every
    certificate ever issued remains verifiable. The private key is stored encrypted
    (AES-GCM under a key derived from the deployment's secret key), never in clear.
    """

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[str] = mapped_column(String(32))
    retired_at: Mapped[str | None] = mapped_column(String(32))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    private_enc: Mapped[bytes] = mapped_column(LargeBinary)
