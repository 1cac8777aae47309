"""The engine's tables for erasure plans and their steps (SQLAlchemy 2, ``Mapped``).

A plan is written with all its steps before any store is touched; a step records what it did as
counts per table, never values. ``identifiers`` holds the subject's identifiers (and the pinned
keys of reverse-linked tables) only while the plan is open, sealed with AES-GCM (``sealing.py``);
completion replaces them by NULL (the pseudonym stays).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exitright.db.base import Base


class ErasurePlan(Base):
    """One subject's erasure under one data map."""

    __tablename__ = "erasure_plans"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subject_pseudonym: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[str | None] = mapped_column(String(64), index=True)
    platform: Mapped[str] = mapped_column(String(100))
    map_digest: Mapped[str] = mapped_column(String(64))
    identifiers: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    subject_found: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)

    steps: Mapped[list[ErasureStep]] = relationship(
        back_populates="plan", order_by="ErasureStep.seq", cascade="all, delete-orphan"
    )


class ErasureStep(Base):
    """One persisted step of a plan."""

    __tablename__ = "erasure_steps"
    __table_args__ = (UniqueConstraint("plan_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(
        ForeignKey("erasure_plans.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    store: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(255))
    idx: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    matched: Mapped[int | None] = mapped_column(Integer)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    plan: Mapped[ErasurePlan] = relationship(back_populates="steps")


class ResidueHash(Base):
    """A keyed hash of an erased subject's identifier, kept for the residual sweep until expiry.

    The sweep streams free text once, hashes every identifier it detects with the same key, and
    looks the hash up here: thousands of subjects are checked in one pass, and no plaintext
    identifier is kept to do it.
    """

    __tablename__ = "erasure_residue_hashes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    plan_id: Mapped[str] = mapped_column(String(36), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


@dataclass
class Step:
    """A step as the engine works with it in memory (plain: no ORM bookkeeping per attribute).

    Written with the plan, read back by ``run_plan`` (:meth:`of`); the executor updates it as
    steps run and writes the records in batches.
    """

    seq: int
    kind: str
    store: str
    target: str
    idx: int | None = None
    status: str = "pending"
    matched: int | None = None
    counts: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    attempts: int = 0
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    id: int = 0
    plan_id: str = ""

    @classmethod
    def of(cls, row: ErasureStep) -> Step:
        """The in-memory form of a stored step."""
        return cls(
            seq=row.seq,
            kind=row.kind,
            store=row.store,
            target=row.target,
            idx=row.idx,
            status=row.status,
            matched=row.matched,
            counts=row.counts,
            result=row.result,
            attempts=row.attempts,
            error=row.error,
            started_at=row.started_at,
            finished_at=row.finished_at,
            id=row.id,
            plan_id=row.plan_id,
        )
