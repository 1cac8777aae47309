"""The bookkeeping every request use case shares: load, ledger the steps taken, schedule.

Split out of :mod:`exitright.cancellation.services` so that the execution of each kind
(:mod:`exitright.cancellation.execution`) records its outcome exactly as the other use cases do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from exitright.cancellation.model import TERMINAL_STATES, Actor, ActorKind, State
from exitright.cancellation.ports import RequestNotFoundError, RequestRecord, UnitOfWork

__all__ = ["actor_data", "load", "log_steps", "schedule"]


def load(uow: UnitOfWork, request_id: str, owner: str | None) -> RequestRecord:
    """The stored request, as ``owner`` (None: anyone) may see it; else RequestNotFoundError."""
    record = uow.requests.get(request_id)
    # Another key's request is "not found": an API key never learns that it exists.
    if record is None or (owner is not None and record.owner != owner):
        raise RequestNotFoundError("no such request", request_id=request_id)
    return record


def actor_data(actor: Actor) -> dict[str, Any]:
    """How the ledger names an actor (operator ids are left out)."""
    # Operator ids are kept out of the ledger: in some deployments they are e-mail addresses.
    keep_id = actor.kind in (ActorKind.API_KEY, ActorKind.SYSTEM)
    return {"kind": actor.kind.value, **({"id": actor.id} if keep_id and actor.id else {})}


def log_steps(uow: UnitOfWork, record: RequestRecord, since: int, **extra: Any) -> str:
    """Append a ledger entry for every history step from ``since``; returns the last hash."""
    request = record.request
    last = ""
    for step in request.history[since:]:
        data: dict[str, Any] = {
            "state": step.target.value,
            "from": step.source.value if step.source else None,
            "actor": actor_data(step.actor),
        }
        if step.reason:
            data["reason"] = step.reason
        if step is request.history[-1]:
            data.update(extra)
        last = uow.ledger.append(
            f"request.{step.action.value}",
            request_id=request.id,
            subject=request.subject_ref,
            data=data,
        )
    return last


def schedule(record: RequestRecord, now: datetime) -> None:
    """When the worker should look at the request next, from its state."""
    request = record.request
    if request.state in TERMINAL_STATES:
        record.next_run_at = None
        # DESIGN.md: identifiers are held only while a request is open.
        record.identifiers = None
        record.values = None  # a correction's new values go with them
    elif request.state in (State.VERIFIED, State.EXECUTING):
        record.next_run_at = now
    elif request.state is State.COOLING_OFF:
        record.next_run_at = request.cooling_off_until
    elif request.state in (State.SUBMITTED, State.BLOCKED):
        record.next_run_at = None  # waits for verification, or for a pre-check to clear
    # FAILED keeps the backoff set when the attempt failed.
