"""What the console reads: the queue, one request's surroundings, and the health strip.

Read-only queries on the engine database. The queue reads the ``requests`` table's queried
columns and the aggregate's JSON, never ``identifiers_enc``; plan steps are shown as counts and
error codes, never values; notices and ledger entries come from their own modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, cast

from sqlalchemy import Connection, Engine, Table, case, func, or_, select

from exitright.admin.figures import Figures, figures
from exitright.cancellation.deadlines import is_overdue
from exitright.cancellation.model import TERMINAL_STATES, Request, RequestKind, State
from exitright.db.requests import RequestRow
from exitright.erasure.models import ErasurePlan, ErasureStep
from exitright.ledger import service as ledger
from exitright.ledger.chain import Entry
from exitright.protocols import notices
from exitright.protocols.outbox import OUTBOX

__all__ = [
    "PAGE_SIZE",
    "Detail",
    "FailingRequest",
    "Health",
    "PlanStep",
    "PlanView",
    "QueueFilter",
    "QueueItem",
    "QueuePage",
    "RecipientHealth",
    "detail",
    "health",
    "queue",
]

PAGE_SIZE: Final = 50
_REQUESTS = cast(Table, RequestRow.__table__)
_PLANS = cast(Table, ErasurePlan.__table__)
_STEPS = cast(Table, ErasureStep.__table__)
_OPEN: Final = tuple(s.value for s in State if s not in TERMINAL_STATES)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _read(engine: Engine) -> Connection:
    # Deferred on SQLite: the console's reads never queue behind (or block) a writer.
    return engine.connect().execution_options(sqlite_begin="DEFERRED")


# The queue --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    """What the queue shows: ``state`` is a state, ``open`` (default) or ``all``."""

    state: str = "open"
    kind: str = ""
    q: str = ""
    page: int = 1


@dataclass(frozen=True)
class QueueItem:
    """One row of the queue (no identifiers: the subject is its pseudonym)."""

    id: str
    kind: RequestKind
    state: State
    regime: str
    subject: str
    received_at: datetime
    due_at: datetime
    due_last_day: str
    provisional: bool
    overdue: bool
    attempts: int
    next_run_at: datetime | None


@dataclass(frozen=True)
class QueuePage:
    """A page of the queue, and whether another follows."""

    items: Sequence[QueueItem]
    page: int
    has_next: bool


def queue(engine: Engine, now: datetime, flt: QueueFilter) -> QueuePage:
    """Open requests first; among them overdue first, then soonest due (``due_at`` ascending).

    Overdue requests are exactly the open ones whose due instant has passed, so ordering open
    requests by due instant puts them first. Offset paging: the queue is for reading, and a
    page that shifts while an operator works is acceptable there (the API uses cursors).
    """
    query = select(
        _REQUESTS.c.id,
        _REQUESTS.c.state,
        _REQUESTS.c.next_run_at,
        _REQUESTS.c.data,
    )
    if flt.state == "open":
        query = query.where(_REQUESTS.c.state.in_(_OPEN))
    elif flt.state != "all":
        query = query.where(_REQUESTS.c.state == flt.state)
    if flt.kind:
        query = query.where(_REQUESTS.c.kind == flt.kind)
    q = flt.q.strip()
    if q:
        query = query.where(or_(_REQUESTS.c.id == q, _REQUESTS.c.subject == q))
    closed_last = case((_REQUESTS.c.state.in_(_OPEN), 0), else_=1)
    page = max(flt.page, 1)
    query = (
        query.order_by(closed_last, _REQUESTS.c.due_at, _REQUESTS.c.id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    with _read(engine) as conn:
        rows = conn.execute(query).all()
    items = [_item(r, now) for r in rows[:PAGE_SIZE]]
    return QueuePage(items, page, len(rows) > PAGE_SIZE)


def _item(row: Any, now: datetime) -> QueueItem:
    r = Request.from_dict(row.data)
    return QueueItem(
        id=r.id,
        kind=r.kind,
        state=r.state,
        regime=r.regime.value,
        subject=r.subject_ref,
        received_at=r.received_at,
        due_at=r.deadline.final_due_at,
        due_last_day=r.deadline.final_last_day.isoformat(),
        provisional=r.deadline.provisional,
        overdue=is_overdue(r, now),
        attempts=r.attempts,
        next_run_at=_aware(row.next_run_at),
    )


# One request's surroundings ---------------------------------------------------------------------


@dataclass(frozen=True)
class PlanStep:
    """One erasure step: what it targets, how it went, counts only."""

    seq: int
    kind: str
    store: str
    target: str
    status: str
    matched: int | None
    counts: dict[str, int]
    attempts: int
    error: str | None
    finished_at: datetime | None


@dataclass(frozen=True)
class PlanView:
    """An erasure plan of the request."""

    id: str
    status: str
    error: str | None
    created_at: datetime | None
    finished_at: datetime | None
    steps: Sequence[PlanStep] = field(default_factory=tuple)


@dataclass(frozen=True)
class Detail:
    """What surrounds a request: its erasure plans, its third-party notices, its ledger entries."""

    plans: Sequence[PlanView]
    notices: Sequence[notices.Notice]
    ledger: Sequence[Entry]


def detail(engine: Engine, request_id: str) -> Detail:
    """Plans (with steps), notices and ledger entries of one request."""
    with _read(engine) as conn:
        plan_rows = conn.execute(
            select(_PLANS.c.id, _PLANS.c.status, _PLANS.c.error, _PLANS.c.created_at,
                   _PLANS.c.finished_at)
            .where(_PLANS.c.request_id == request_id)
            .order_by(_PLANS.c.created_at)
        ).all()  # fmt: skip
        plans = []
        for p in plan_rows:
            steps = conn.execute(
                select(_STEPS).where(_STEPS.c.plan_id == p.id).order_by(_STEPS.c.seq)
            ).all()
            plans.append(
                PlanView(
                    id=p.id,
                    status=p.status,
                    error=p.error,
                    created_at=_aware(p.created_at),
                    finished_at=_aware(p.finished_at),
                    steps=tuple(_step(s) for s in steps),
                )
            )
        told = notices.notices_for_request(conn, request_id)
        entries = ledger.for_request(conn, request_id)
    return Detail(tuple(plans), tuple(told), tuple(entries))


def _step(s: Any) -> PlanStep:
    counts = {str(k): int(v) for k, v in (s.counts or {}).items() if isinstance(v, int)}
    return PlanStep(
        seq=s.seq,
        kind=s.kind,
        store=s.store,
        target=s.target,
        status=s.status,
        matched=s.matched,
        counts=counts,
        attempts=s.attempts,
        error=s.error,
        finished_at=_aware(s.finished_at),
    )


# The health strip -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailingRequest:
    """A request whose execution failed and is being retried with back-off."""

    id: str
    reason: str
    attempts: int
    next_run_at: datetime | None


@dataclass(frozen=True)
class RecipientHealth:
    """One third party: its notices by state, escalations and the next delivery attempt."""

    recipient: str
    pending: int
    acknowledged: int
    rejected: int
    failed: int
    escalated: int
    oldest_pending: datetime | None
    next_attempt_at: datetime | None
    max_attempts: int


@dataclass(frozen=True)
class Health:
    """The console's health strip."""

    by_state: dict[str, int]
    overdue: int
    failing: Sequence[FailingRequest]
    recipients: Sequence[RecipientHealth]
    escalated: Sequence[notices.Notice]
    figures: Figures | None = None  # what /metrics shows (admin/figures.py)


def health(engine: Engine, now: datetime, *, limit: int = 20) -> Health:
    """Counts by state, overdue count, failing requests and every recipient's delivery health."""
    with _read(engine) as conn:
        by_state = {s.value: 0 for s in State}
        for state, n in conn.execute(
            select(_REQUESTS.c.state, func.count()).group_by(_REQUESTS.c.state)
        ).all():
            by_state[state] = int(n)
        overdue = int(
            conn.execute(
                select(func.count()).where(_REQUESTS.c.state.in_(_OPEN), _REQUESTS.c.due_at <= now)
            ).scalar_one()
        )
        failed_rows = conn.execute(
            select(_REQUESTS.c.next_run_at, _REQUESTS.c.data)
            .where(_REQUESTS.c.state == State.FAILED.value)
            .order_by(_REQUESTS.c.next_run_at)
            .limit(limit)
        ).all()
        backoff = {
            r.recipient: (_aware(r.next_at), int(r.attempts or 0))
            for r in conn.execute(
                select(
                    OUTBOX.c.recipient,
                    func.min(OUTBOX.c.next_attempt_at).label("next_at"),
                    func.max(OUTBOX.c.attempts).label("attempts"),
                )
                .where(OUTBOX.c.state == "pending")
                .group_by(OUTBOX.c.recipient)
            ).all()
        }
        statuses = notices.status(conn)
        escalated = notices.notices(conn, escalated=True, state="pending", limit=limit)
        shown = figures(conn, now)
    failing = []
    for row in failed_rows:
        r = Request.from_dict(row.data)
        failing.append(
            FailingRequest(
                id=r.id,
                reason=r.failure.reason if r.failure else "",
                attempts=r.attempts,
                next_run_at=_aware(row.next_run_at),
            )
        )
    recipients = [
        RecipientHealth(
            recipient=s.recipient,
            pending=s.pending,
            acknowledged=s.acknowledged,
            rejected=s.rejected,
            failed=s.failed,
            escalated=s.escalated,
            oldest_pending=s.oldest_pending,
            next_attempt_at=backoff.get(s.recipient, (None, 0))[0],
            max_attempts=backoff.get(s.recipient, (None, 0))[1],
        )
        for s in statuses
    ]
    return Health(
        by_state, overdue, tuple(failing), tuple(recipients), tuple(escalated), figures=shown
    )
