"""Push delivery (RFC 8935): POST each due SET, settle it by the answer, or schedule a retry.

One round (:func:`deliver_due`): escalate overdue notices; claim due ones under a lease (``FOR
UPDATE SKIP LOCKED`` on PostgreSQL, SQLite's write lock otherwise) and commit; POST each with
no transaction open; record each answer in its own transaction. ``202`` acknowledges; ``400``
with ``{"err", "description"}`` rejects for good; anything else (a refused connection, a
timeout, ``5xx``, ``429``, ``401``…) schedules the next attempt with exponential backoff and
full jitter (``Retry-After`` honoured), kept in ``next_attempt_at`` so it survives restarts.
After the policy's last attempt the notice is ``failed`` (and escalated at its deadline).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Final, Literal

import httpx
from sqlalchemy import Engine, select, update

from exitright.clock import Clock, as_utc
from exitright.protocols import outbox
from exitright.protocols import set as sets
from exitright.protocols.config import RetrySettings, Transmitter
from exitright.protocols.outbox import OUTBOX

__all__ = ["Claim", "Outcome", "Report", "RetryPolicy", "deliver_due", "interpret", "post"]

log = logging.getLogger("exitright.protocols.push")

LEASE: Final = timedelta(minutes=2)  # longer than a push's timeout; a dead worker's claim expires


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: attempt n waits up to min(cap, base·2ⁿ⁻¹)."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=6)
    max_attempts: int = 40

    @classmethod
    def from_settings(cls, retry: RetrySettings) -> RetryPolicy:
        """The policy of the protocols file."""
        return cls(
            timedelta(seconds=retry.base_seconds),
            timedelta(seconds=retry.cap_seconds),
            retry.max_attempts,
        )

    def delay(self, attempt: int, rng: random.Random) -> timedelta:
        """How long to wait after failed attempt number ``attempt`` (1-based).

        Half the exponential step is fixed and half is random, so retries of many notices
        spread out (no thundering herd after an outage) but never come back at once.
        """
        step = min(self.cap.total_seconds(), self.base.total_seconds() * 2 ** (attempt - 1))
        return timedelta(seconds=step / 2 + rng.uniform(0, step / 2))


@dataclass(frozen=True)
class Claim:
    """A notice claimed for one push."""

    jti: str
    recipient: str
    endpoint: str
    token: str
    attempts: int  # attempts before this one


@dataclass(frozen=True)
class Outcome:
    """What one push came to."""

    kind: Literal["acknowledged", "rejected", "retry"]
    http_status: int | None = None
    err: str | None = None
    description: str | None = None
    retry_after: timedelta | None = None
    duration_ms: int | None = None


@dataclass
class Report:
    """What one round did."""

    claimed: int = 0
    acknowledged: int = 0
    rejected: int = 0
    retried: int = 0
    failed: int = 0
    escalated: int = 0
    jtis: list[str] = field(default_factory=list)


def claim_due(
    engine: Engine, clock: Clock, worker: str, transmitter: Transmitter, *, limit: int = 50
) -> list[Claim]:
    """Lease up to ``limit`` due push notices to ``worker`` and commit the lease."""
    now = as_utc(clock.now())
    with engine.begin() as conn:
        query = (
            select(
                OUTBOX.c.jti,
                OUTBOX.c.recipient,
                OUTBOX.c.endpoint,
                OUTBOX.c.token_enc,
                OUTBOX.c.attempts,
            )
            .where(outbox.due_filter(now))
            .order_by(OUTBOX.c.next_attempt_at)
            .limit(limit)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = conn.execute(query).all()
        claims: list[Claim] = []
        for r in rows:
            conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.jti == r.jti)
                .values(lease_owner=worker, lease_until=now + LEASE)
            )
            token = outbox.open_token(transmitter.body_key, r.jti, r.token_enc)
            claims.append(Claim(r.jti, r.recipient, r.endpoint, token, r.attempts))
    return claims


def _retry_after(value: str | None, now: datetime) -> timedelta | None:
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=int(value.strip()))
    try:
        return max(as_utc(parsedate_to_datetime(value)) - now, timedelta(0))
    except (TypeError, ValueError):
        return None


def interpret(response: httpx.Response, now: datetime, duration_ms: int | None = None) -> Outcome:
    """Read an RFC 8935 answer: 202 acknowledged, 400 rejected (with its err), else retry."""
    status = response.status_code
    if status == 202:
        return Outcome("acknowledged", status, duration_ms=duration_ms)
    if status == 400:
        err, description = "invalid_request", None
        try:
            body = json.loads(response.content)
            if isinstance(body, dict) and isinstance(body.get("err"), str):
                err = body["err"]
                description = str(body.get("description") or "") or None
        except ValueError:
            pass
        return Outcome("rejected", status, err, description, duration_ms=duration_ms)
    return Outcome(
        "retry",
        status,
        f"http_{status}",
        retry_after=_retry_after(response.headers.get("retry-after"), now),
        duration_ms=duration_ms,
    )


def post(
    client: httpx.Client,
    claim: Claim,
    now: datetime,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> Outcome:
    """POST one SET as ``application/secevent+jwt`` and interpret the answer."""
    started = time.monotonic()
    try:
        response = client.post(
            claim.endpoint,
            content=claim.token.encode("ascii"),
            headers={
                "Content-Type": sets.MEDIA_TYPE,
                "Accept": "application/json",
                **(headers or {}),
            },
            timeout=timeout,
        )
    except httpx.HTTPError as exc:
        return Outcome(
            "retry",
            None,
            type(exc).__name__[:64],
            duration_ms=int((time.monotonic() - started) * 1000),
        )
    return interpret(response, now, int((time.monotonic() - started) * 1000))


def record(
    engine: Engine,
    clock: Clock,
    worker: str,
    claim: Claim,
    outcome: Outcome,
    policy: RetryPolicy,
    rng: random.Random,
) -> str:
    """Settle or reschedule ``claim`` by ``outcome``; returns what happened to the notice."""
    now = as_utc(clock.now())
    with engine.begin() as conn:
        outbox.record_attempt(
            conn,
            clock,
            claim.jti,
            outcome.kind,
            http_status=outcome.http_status,
            err=outcome.err,
            duration_ms=outcome.duration_ms,
        )
        if outcome.kind == "acknowledged":
            outbox.acknowledge(conn, clock, claim.jti)
            return "acknowledged"
        if outcome.kind == "rejected":
            outbox.reject(
                conn, clock, claim.jti, outcome.err or "invalid_request", outcome.description
            )
            return "rejected"
        attempts = claim.attempts + 1
        error = outcome.err or "retry"
        if attempts >= policy.max_attempts:
            conn.execute(update(OUTBOX).where(OUTBOX.c.jti == claim.jti).values(attempts=attempts))
            outbox.give_up(conn, clock, claim.jti, worker, error)
            return "failed"
        wait = max(policy.delay(attempts, rng), outcome.retry_after or timedelta(0))
        conn.execute(
            update(OUTBOX)
            .where(
                OUTBOX.c.jti == claim.jti,
                OUTBOX.c.state == "pending",
                OUTBOX.c.lease_owner == worker,
            )
            .values(
                attempts=attempts,
                last_attempt_at=now,
                last_error=error[:200],
                next_attempt_at=now + min(wait, policy.cap * 4),
                lease_owner=None,
                lease_until=None,
            )
        )
        return "retried"


def deliver_due(
    engine: Engine,
    clock: Clock,
    transmitter: Transmitter,
    client: httpx.Client,
    *,
    worker: str,
    policy: RetryPolicy | None = None,
    headers_for: Callable[[str], Mapping[str, str]] | None = None,
    timeout_for: Callable[[str], float] | None = None,
    limit: int = 50,
    rng: random.Random | None = None,
) -> Report:
    """One round: escalate the overdue, push what is due, record every answer."""
    policy = policy or RetryPolicy()
    rng = rng or random.SystemRandom()
    report = Report()
    with engine.begin() as conn:
        report.escalated = len(outbox.escalate_overdue(conn, clock))
    claims = claim_due(engine, clock, worker, transmitter, limit=limit)
    report.claimed = len(claims)
    for claim in claims:
        outcome = post(
            client,
            claim,
            as_utc(clock.now()),
            headers_for(claim.recipient) if headers_for else None,
            timeout_for(claim.recipient) if timeout_for else 10.0,
        )
        what = record(engine, clock, worker, claim, outcome, policy, rng)
        setattr(report, what, getattr(report, what) + 1)
        report.jtis.append(claim.jti)
        if what == "retried":
            log.info("notice %s to %s: %s, will retry", claim.jti, claim.recipient, outcome.err)
    return report
