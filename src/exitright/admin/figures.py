"""The operator's figures: what ``/metrics`` exposes, read for the console's health page.

The same aggregates as :class:`exitright.observability.metrics.EngineCollector`, from the same
tables, so the page and a Prometheus dashboard never disagree: requests by kind and state,
overdue requests by kind, time to completion, erasure steps and failed attempts per store,
recipient acknowledgement lag, and the vault by legal basis. Counts, durations, store and
recipient names and legal bases only — never a subject; names pass the same
:func:`~exitright.observability.metrics.safe_label` as the metrics' labels (``*``, the residual
check's "every store", shows as ``other`` in both).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, case, func, select

from exitright.cancellation.model import RequestKind, State
from exitright.db.requests import REQUESTS
from exitright.observability.metrics import (
    OUTBOX,
    STEPS,
    TERMINAL,
    VAULT,
    safe_label,
    seconds_between,
)

__all__ = [
    "AckFigure",
    "CompletionFigure",
    "Figures",
    "StoreFigure",
    "VaultFigure",
    "figures",
]

STEP_STATUSES: Final = ("pending", "running", "done", "failed")


@dataclass(frozen=True)
class CompletionFigure:
    """Completed requests of one kind and how long they took (seconds)."""

    kind: str
    completed: int
    mean_seconds: float
    max_seconds: float


@dataclass(frozen=True)
class StoreFigure:
    """One store's erasure steps by status, failed attempts, mean duration of finished steps."""

    store: str
    steps: dict[str, int]
    failures: int
    mean_seconds: float | None


@dataclass(frozen=True)
class AckFigure:
    """One recipient's acknowledgements: how many, their lag, the oldest still unanswered."""

    recipient: str
    acknowledged: int
    mean_lag_seconds: float | None
    max_lag_seconds: float | None
    oldest_open_seconds: float | None


@dataclass(frozen=True)
class VaultFigure:
    """Retained records and their encrypted bytes under one legal basis."""

    legal_basis: str
    records: int
    bytes: int


@dataclass(frozen=True)
class Figures:
    """Everything ``/metrics`` shows about the engine, for one page."""

    kinds: Sequence[str]
    states: Sequence[str]
    requests: dict[tuple[str, str], int]
    overdue: dict[str, int]
    completion: Sequence[CompletionFigure]
    stores: Sequence[StoreFigure]
    acks: Sequence[AckFigure]
    vault: Sequence[VaultFigure]


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _float(value: Any) -> float | None:
    return None if value is None else max(float(value), 0.0)


def figures(conn: Connection, now: datetime) -> Figures:
    """The figures as of ``now``, read on ``conn`` (a read-only connection of the console)."""
    engine: Any = conn.engine
    r = REQUESTS.c
    requests = {
        (str(kind), str(state)): int(n)
        for kind, state, n in conn.execute(
            select(r.kind, r.state, func.count()).group_by(r.kind, r.state)
        )
    }
    known = [k.value for k in RequestKind]
    kinds = known + sorted({k for k, _ in requests} - set(known))
    overdue = {
        str(kind): int(n)
        for kind, n in conn.execute(
            select(r.kind, func.count())
            .where(r.state.not_in(TERMINAL), r.due_at < now)
            .group_by(r.kind)
        )
    }
    took = seconds_between(engine, r.created_at, r.updated_at)
    completion = [
        CompletionFigure(str(kind), int(n), _float(mean) or 0.0, _float(most) or 0.0)
        for kind, n, mean, most in conn.execute(
            select(r.kind, func.count(), func.avg(took), func.max(took))
            .where(r.state == State.COMPLETED.value)
            .group_by(r.kind)
            .order_by(r.kind)
        )
    ]
    return Figures(
        kinds=kinds,
        states=[s.value for s in State],
        requests=requests,
        overdue=overdue,
        completion=completion,
        stores=_stores(conn, engine),
        acks=_acks(conn, engine, now),
        vault=[
            VaultFigure(safe_label(basis), int(n), int(total or 0))
            for basis, n, total in conn.execute(
                select(VAULT.c.legal_basis, func.count(), func.sum(func.length(VAULT.c.ciphertext)))
                .group_by(VAULT.c.legal_basis)
                .order_by(VAULT.c.legal_basis)
            )
        ],
    )


def _stores(conn: Connection, engine: Any) -> list[StoreFigure]:
    s = STEPS.c
    # As /metrics counts them: attempts are starts; a running or done step's last is no failure.
    failed = s.attempts - case((s.status.in_(("done", "running")), 1), else_=0)
    took = seconds_between(engine, s.started_at, s.finished_at)
    finished = case(
        (
            (s.status == "done") & s.started_at.is_not(None) & s.finished_at.is_not(None),
            took,
        ),
        else_=None,
    )
    stores: dict[str, tuple[dict[str, int], int, float, int]] = {}
    for store, status, n, f, total, count in conn.execute(
        select(
            s.store,
            s.status,
            func.count(),
            func.sum(case((failed > 0, failed), else_=0)),
            func.sum(finished),
            func.count(finished),
        ).group_by(s.store, s.status)
    ):
        name = safe_label(store)
        steps, fails, seconds, timed = stores.get(name, ({}, 0, 0.0, 0))
        steps = {**steps, str(status): steps.get(str(status), 0) + int(n)}
        stores[name] = (
            steps,
            fails + int(f or 0),
            seconds + max(float(total or 0), 0.0),
            timed + int(count or 0),
        )
    return [
        StoreFigure(name, steps, fails, seconds / timed if timed else None)
        for name, (steps, fails, seconds, timed) in sorted(stores.items())
    ]


def _acks(conn: Connection, engine: Any, now: datetime) -> list[AckFigure]:
    o = OUTBOX.c
    lag = seconds_between(engine, o.created_at, o.resolved_at)
    acked = {
        safe_label(recipient): (int(n), _float(mean), _float(most))
        for recipient, n, mean, most in conn.execute(
            select(o.recipient, func.count(), func.avg(lag), func.max(lag))
            .where(o.state == "acknowledged", o.resolved_at.is_not(None))
            .group_by(o.recipient)
        )
    }
    oldest: dict[str, float] = {}
    for recipient, first in conn.execute(
        select(o.recipient, func.min(o.created_at))
        .where(o.state.in_(("pending", "failed")))
        .group_by(o.recipient)
    ):
        at = _aware(first)
        if at is not None:
            oldest[safe_label(recipient)] = max((now - at).total_seconds(), 0.0)
    return [
        AckFigure(
            name,
            acked.get(name, (0, None, None))[0],
            acked.get(name, (0, None, None))[1],
            acked.get(name, (0, None, None))[2],
            oldest.get(name),
        )
        for name in sorted(set(acked) | set(oldest))
    ]
