"""Submission rate limits: how many requests one client address, identifier or API key may open.

A sliding window per (bucket, key): every accepted submission is a row of
``rate_limit_hits`` under the keyed hash of its key (HMAC with a key derived from the deployment
secret, so the table holds no address, phone number or e-mail address in clear), and a
submission that would pass a limit is refused with 429 ``rate_limited`` (message
``prechecks.error.rate_limited``, ``Retry-After`` in ``details``) before anything is written.
The same shape as the one-time-code send log and the admin sign-in limits; on PostgreSQL an
advisory lock per key serializes two submissions at once, SQLite's write lock already does.
"""

from __future__ import annotations

import hashlib
import hmac
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, cast

from sqlalchemy import DateTime, Engine, Index, Integer, String, Table, delete, func, insert, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from exitright.clock import Clock
from exitright.config import Settings
from exitright.db.base import Base
from exitright.errors import ErrorCode, ExitRightError
from exitright.keys import load_key

__all__ = [
    "RATE_LIMITED_MESSAGE",
    "Limit",
    "RateLimitHit",
    "SubmissionLimiter",
    "api_limits",
    "page_limits",
    "submission_limiter",
]

RATE_LIMITED_MESSAGE: Final = "prechecks.error.rate_limited"


class RateLimitHit(Base):
    """One accepted submission, under the keyed hash of who or what it counts against."""

    __tablename__ = "rate_limit_hits"
    __table_args__ = (Index("ix_rate_limit_hits_bucket_key_at", "bucket", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bucket: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


_HITS: Final = cast(Table, RateLimitHit.__table__)


class Limit:
    """One limit to pass: ``count`` submissions per window in ``bucket`` for ``value``."""

    __slots__ = ("bucket", "count", "value")

    def __init__(self, bucket: str, value: str, count: int) -> None:
        self.bucket = bucket[:32]
        self.value = value
        self.count = count


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SubmissionLimiter:
    """Checks and records submissions against their limits, in the engine database."""

    def __init__(self, engine: Engine, clock: Clock, secret: bytes, window: timedelta) -> None:
        self.engine = engine
        self.clock = clock
        self.window = window
        self._key = hmac.new(secret, b"exitright submission limits v1", hashlib.sha256).digest()

    def key_hash(self, bucket: str, value: str) -> str:
        """The keyed hash a value is counted under (never the value itself)."""
        return hmac.new(self._key, f"{bucket}\x00{value}".encode(), hashlib.sha256).hexdigest()

    def hit(self, limits: Sequence[Limit]) -> None:
        """Count one submission against every limit, or raise 429 without counting it."""
        now = self.clock.now()
        since = now - self.window
        keyed = [(lim, self.key_hash(lim.bucket, lim.value)) for lim in limits]
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                for lim, digest in sorted(keyed, key=lambda k: k[1]):
                    lock = zlib.crc32(f"{lim.bucket}:{digest}".encode()) | (0x2A << 32)
                    conn.execute(sql_text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock})
            retry_at: datetime | None = None
            for lim, digest in keyed:
                count, oldest = conn.execute(
                    select(func.count(), func.min(_HITS.c.at)).where(
                        _HITS.c.bucket == lim.bucket,
                        _HITS.c.key_hash == digest,
                        _HITS.c.at > since,
                    )
                ).one()
                if count >= lim.count:
                    at = (_aware(oldest) or now) + self.window
                    retry_at = at if retry_at is None else max(retry_at, at)
            if retry_at is not None:
                seconds = max(1, int((retry_at - now).total_seconds()) + 1)
                raise ExitRightError(
                    ErrorCode.RATE_LIMITED,
                    details={"retry_after": seconds},
                    message_id=RATE_LIMITED_MESSAGE,
                    params={"retry_after": seconds},
                )
            conn.execute(delete(_HITS).where(_HITS.c.at <= since))
            conn.execute(
                insert(_HITS),
                [{"bucket": lim.bucket, "key_hash": digest, "at": now} for lim, digest in keyed],
            )


def submission_limiter(settings: Settings, engine: Engine, clock: Clock) -> SubmissionLimiter:
    """The deployment's limiter (window from settings, key derived from the secret)."""
    window = timedelta(minutes=settings.submit_limit_window_minutes)
    return SubmissionLimiter(engine, clock, load_key(settings, "secret"), window)


def page_limits(settings: Settings, address: str, kind: str, value: str) -> list[Limit]:
    """The limits of a submission from a page: per client address and per identifier."""
    return [
        Limit("page-address", address or "unknown", settings.submit_limit_per_ip),
        Limit(
            "identifier", f"{kind}:{value.strip().lower()}", settings.submit_limit_per_identifier
        ),
    ]


def api_limits(settings: Settings, key_id: str) -> list[Limit]:
    """The limit of a submission through the API: per API key."""
    return [Limit("api-key", key_id, settings.submit_limit_per_key)]
