"""Poll delivery (RFC 8936) for recipients that cannot receive pushes, and their bearer tokens.

A recipient POSTs ``{"maxEvents", "returnImmediately", "ack": [jti…], "setErrs": {jti: {err,
description}}}`` and gets ``{"sets": {jti: SET}, "moreAvailable": bool}``. Acknowledged jtis are
settled (exactly once, with a ledger entry) and never handed out again; ``setErrs`` are recorded
as rejections; a SET handed out but not acknowledged is handed out again on the next poll.
Each recipient authenticates with its own bearer token (``ep_`` + 43 characters), of which only
the SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, cast

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, Select, Table, delete, func, insert, select, update

from exitright.clock import Clock, as_utc
from exitright.protocols import outbox
from exitright.protocols.config import Transmitter
from exitright.protocols.models import PollToken
from exitright.protocols.outbox import OUTBOX

__all__ = [
    "PollRequest",
    "PollResult",
    "SetErr",
    "authenticate",
    "issue_token",
    "poll",
    "revoke_token",
]

TOKENS = cast(Table, PollToken.__table__)
TOKEN_PREFIX: Final = "ep_"  # noqa: S105  # the public prefix of poll tokens, not a secret
MAX_EVENTS: Final = 1000  # the most SETs one poll hands out, whatever maxEvents says
DEFAULT_MAX_EVENTS: Final = 100


class SetErr(BaseModel):
    """A recipient's reason for refusing one SET (RFC 8936 §2.2, the RFC 8935 codes)."""

    model_config = ConfigDict(extra="ignore")

    err: str = Field(max_length=64)
    description: str | None = Field(None, max_length=2000)


class PollRequest(BaseModel):
    """The body of a poll (RFC 8936 §2.1); every member optional."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    max_events: int | None = Field(None, alias="maxEvents", ge=0)
    return_immediately: bool = Field(False, alias="returnImmediately")
    ack: list[str] = Field(default_factory=list, max_length=MAX_EVENTS)
    set_errs: dict[str, SetErr] = Field(default_factory=dict, alias="setErrs")


@dataclass
class PollResult:
    """The answer of one poll, and what it settled."""

    sets: dict[str, str] = field(default_factory=dict)
    more_available: bool = False
    acknowledged: int = 0
    rejected: int = 0

    def body(self) -> dict[str, Any]:
        """The RFC 8936 response body."""
        out: dict[str, Any] = {"sets": self.sets}
        if self.more_available:
            out["moreAvailable"] = True
        return out


def digest(token: str) -> str:
    """The SHA-256 under which a poll token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def select_recipient_by_digest(token_digest: str) -> Select[tuple[str]]:
    """The query finding the recipient a token digest belongs to."""
    return select(TOKENS.c.recipient).where(TOKENS.c.token_hash == token_digest)


def issue_token(conn: Connection, clock: Clock, recipient: str) -> str:
    """Create (or replace) ``recipient``'s poll token; the token is shown this once only."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(delete(TOKENS).where(TOKENS.c.recipient == recipient))
    conn.execute(
        insert(TOKENS).values(
            recipient=recipient,
            token_hash=digest(token),
            prefix=token[:10],
            created_at=as_utc(clock.now()),
            last_used_at=None,
        )
    )
    return token


def revoke_token(conn: Connection, recipient: str) -> bool:
    """Remove ``recipient``'s poll token."""
    return conn.execute(delete(TOKENS).where(TOKENS.c.recipient == recipient)).rowcount == 1


def authenticate(conn: Connection, clock: Clock, token: str | None) -> str | None:
    """The recipient whose token this is, or None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    wanted = digest(token)
    row = conn.execute(
        select(TOKENS.c.recipient, TOKENS.c.token_hash).where(TOKENS.c.token_hash == wanted)
    ).first()
    if row is None or not secrets.compare_digest(row.token_hash, wanted):
        return None
    conn.execute(
        update(TOKENS)
        .where(TOKENS.c.recipient == row.recipient)
        .values(last_used_at=as_utc(clock.now()))
    )
    return str(row.recipient)


def poll(
    conn: Connection,
    clock: Clock,
    recipient: str,
    request: PollRequest,
    transmitter: Transmitter,
) -> PollResult:
    """Settle the acks and errors ``recipient`` sends, then hand out its pending SETs."""
    result = PollResult()
    for jti in request.ack:
        if outbox.acknowledge(conn, clock, jti, recipient=recipient, how="poll"):
            outbox.record_attempt(conn, clock, jti, "acknowledged")
            result.acknowledged += 1
    for jti, problem in request.set_errs.items():
        if outbox.reject(conn, clock, jti, problem.err, problem.description, recipient=recipient):
            outbox.record_attempt(conn, clock, jti, "rejected", err=problem.err[:64])
            result.rejected += 1
    wanted = DEFAULT_MAX_EVENTS if request.max_events is None else request.max_events
    wanted = min(wanted, MAX_EVENTS)
    pending = (
        OUTBOX.c.recipient == recipient,
        OUTBOX.c.delivery == "poll",
        OUTBOX.c.state == "pending",
    )
    if wanted == 0:
        return result
    rows = conn.execute(
        select(OUTBOX.c.jti, OUTBOX.c.token_enc)
        .where(*pending)
        .order_by(OUTBOX.c.created_at, OUTBOX.c.jti)
        .limit(wanted)
    ).all()
    now = as_utc(clock.now())
    for r in rows:
        result.sets[r.jti] = outbox.open_token(transmitter.body_key, r.jti, r.token_enc)
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.jti == r.jti)
            .values(attempts=OUTBOX.c.attempts + 1, last_attempt_at=now)
        )
        outbox.record_attempt(conn, clock, r.jti, "polled")
    total = conn.execute(select(func.count()).select_from(OUTBOX).where(*pending)).scalar_one()
    result.more_available = int(total) > len(rows)
    return result


def has_pending(conn: Connection, recipient: str) -> bool:
    """Whether ``recipient`` has anything to fetch (for long polling)."""
    return (
        conn.execute(
            select(OUTBOX.c.jti)
            .where(
                OUTBOX.c.recipient == recipient,
                OUTBOX.c.delivery == "poll",
                OUTBOX.c.state == "pending",
            )
            .limit(1)
        ).first()
        is not None
    )


def summary(conn: Connection) -> Mapping[str, str]:
    """Recipients with a poll token, and the token's public prefix (for ``events status``)."""
    return {
        r.recipient: r.prefix for r in conn.execute(select(TOKENS.c.recipient, TOKENS.c.prefix))
    }
