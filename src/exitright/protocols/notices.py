"""Reading the outbox: who was told what, who acknowledged, what is escalated.

For certificates (:func:`notices_for_request`), the admin console and ``exitright events
status`` (:func:`status`, :func:`notices`). Never the SET body, never an identifier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, func, select

from exitright.protocols.models import aware
from exitright.protocols.outbox import OUTBOX

__all__ = ["Notice", "RecipientStatus", "notices", "notices_for_request", "status"]


@dataclass(frozen=True)
class Notice:
    """One notice as operators and certificates see it (no SET body, no identifier)."""

    jti: str
    recipient: str
    event: str
    request_id: str | None
    delivery: str
    state: str
    attempts: int
    created_at: datetime
    deadline_at: datetime
    resolved_at: datetime | None
    err: str | None
    escalated: bool


@dataclass(frozen=True)
class RecipientStatus:
    """Counts per state of one recipient's notices, and how many are escalated."""

    recipient: str
    pending: int
    acknowledged: int
    rejected: int
    failed: int
    escalated: int
    oldest_pending: datetime | None


def _notice(r: Any) -> Notice:
    return Notice(
        jti=r.jti,
        recipient=r.recipient,
        event=r.event_type,
        request_id=r.request_id,
        delivery=r.delivery,
        state=r.state,
        attempts=r.attempts,
        created_at=cast(datetime, aware(r.created_at)),
        deadline_at=cast(datetime, aware(r.deadline_at)),
        resolved_at=aware(r.resolved_at),
        err=r.err,
        escalated=r.escalated_at is not None,
    )


def notices_for_request(conn: Connection, request_id: str) -> list[Notice]:
    """Every notice of one request (for its certificate: who was told, who acknowledged)."""
    rows = conn.execute(
        select(OUTBOX)
        .where(OUTBOX.c.request_id == request_id)
        .order_by(OUTBOX.c.created_at, OUTBOX.c.recipient)
    ).all()
    return [_notice(r) for r in rows]


def notices(
    conn: Connection, *, state: str | None = None, escalated: bool | None = None, limit: int = 100
) -> list[Notice]:
    """Notices for the admin console and ``events status --list``, newest first."""
    query = select(OUTBOX).order_by(OUTBOX.c.created_at.desc()).limit(limit)
    if state is not None:
        query = query.where(OUTBOX.c.state == state)
    if escalated is not None:
        query = query.where(
            OUTBOX.c.escalated_at.is_not(None) if escalated else OUTBOX.c.escalated_at.is_(None)
        )
    return [_notice(r) for r in conn.execute(query).all()]


def status(conn: Connection) -> list[RecipientStatus]:
    """Per recipient: how many notices are pending, acknowledged, rejected, failed, escalated."""
    rows = conn.execute(
        select(
            OUTBOX.c.recipient,
            OUTBOX.c.state,
            func.count().label("n"),
            func.count(OUTBOX.c.escalated_at).label("esc"),
            func.min(OUTBOX.c.created_at).label("oldest"),
        ).group_by(OUTBOX.c.recipient, OUTBOX.c.state)
    ).all()
    by: dict[str, dict[str, Any]] = {}
    for r in rows:
        entry = by.setdefault(
            r.recipient,
            {"pending": 0, "acknowledged": 0, "rejected": 0, "failed": 0, "esc": 0, "old": None},
        )
        entry[r.state] = int(r.n)
        entry["esc"] += int(r.esc or 0)
        if r.state == "pending":
            entry["old"] = aware(r.oldest)
    return [
        RecipientStatus(
            recipient=name,
            pending=e["pending"],
            acknowledged=e["acknowledged"],
            rejected=e["rejected"],
            failed=e["failed"],
            escalated=e["esc"],
            oldest_pending=e["old"],
        )
        for name, e in sorted(by.items())
    ]
