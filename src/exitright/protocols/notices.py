"""Reading the outbox: who was told what, who acknowledged, what is escalated.

For certificates (:func:`notices_for_request`), the status page and ``GET /v1/requests/{id}``
(:func:`for_request`, :func:`for_requests`, each notice's :attr:`Notice.shown_state` and
:attr:`Notice.shown_at`), the admin console and ``exitright events status`` (:func:`status`,
:func:`notices`). Never the SET body, never an identifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import Connection, Engine, func, select

from exitright.protocols.models import aware
from exitright.protocols.outbox import OUTBOX

__all__ = [
    "SHOWN_STATES",
    "Notice",
    "RecipientStatus",
    "for_request",
    "for_requests",
    "notices",
    "notices_for_request",
    "status",
]

# What a person is shown of a notice (see Notice.shown_state).
SHOWN_STATES: Final = ("pending", "acknowledged", "rejected", "failed", "escalated")


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
    escalated_at: datetime | None = None

    @property
    def shown_state(self) -> str:
        """One word for people: the answer if there is one, else ``escalated`` once it is.

        ``pending`` (queued, no answer yet), ``acknowledged``, ``rejected`` (``err`` says why),
        ``escalated`` (no answer by its deadline: an operator follows it up) or ``failed`` (every
        retry used up, not yet escalated).
        """
        if self.state in ("acknowledged", "rejected"):
            return self.state
        return "escalated" if self.escalated else self.state

    @property
    def shown_at(self) -> datetime:
        """When the notice reached :attr:`shown_state` (queued, answered, given up, escalated)."""
        if self.shown_state == "escalated" and self.escalated_at is not None:
            return self.escalated_at
        return self.resolved_at or self.created_at


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
        escalated_at=aware(r.escalated_at),
    )


def notices_for_request(conn: Connection, request_id: str) -> list[Notice]:
    """Every notice of one request (for its certificate: who was told, who acknowledged)."""
    rows = conn.execute(
        select(OUTBOX)
        .where(OUTBOX.c.request_id == request_id)
        .order_by(OUTBOX.c.created_at, OUTBOX.c.recipient)
    ).all()
    return [_notice(r) for r in rows]


def for_request(engine: Engine, request_id: str) -> list[Notice]:
    """:func:`notices_for_request` in a read-only transaction of its own (for pages and API)."""
    return for_requests(engine, [request_id]).get(request_id, [])


def for_requests(engine: Engine, request_ids: Sequence[str]) -> dict[str, list[Notice]]:
    """The notices of several requests (one page of a listing) in one query, by request id."""
    found: dict[str, list[Notice]] = {}
    if not request_ids:
        return found
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        rows = conn.execute(
            select(OUTBOX)
            .where(OUTBOX.c.request_id.in_(list(dict.fromkeys(request_ids))))
            .order_by(OUTBOX.c.created_at, OUTBOX.c.recipient)
        ).all()
    for r in rows:
        found.setdefault(str(r.request_id), []).append(_notice(r))
    return found


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
