"""The pre-check gate and the closing of never-verified requests, as `advance` uses them.

After verification a cancellation passes the declared pre-checks
(:class:`~exitright.cancellation.precheck_run.PreCheckRunner`) before its cooling-off starts:

1. :func:`run_if_due` reads the request and, when its checks are due (just verified; blocked
   and the re-check interval is over; or the user pressed "check again"), runs them — outside
   any engine transaction, because the checks read the platform's stores and a resolver (a
   refund) writes to them. Resolvers are idempotent, so a run repeated after a crash is harmless.
2. :func:`gate`, inside the advancing transaction, applies the run: the platform's resolutions
   go to the ledger (``request.precheck.resolved``); checks that still block move the request to
   ``blocked`` (again only when the set of blockers changed, so a re-check that finds the same
   does not grow the timeline); a check that could not be asked makes the request wait. It says
   when to look again, or that the request may go on.

:func:`close_if_never_verified` rejects a request nobody verified in time (reason
``identity_not_verified``, whose text invites a new request); its identifiers are dropped by the
schedule like those of any ended request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from exitright.cancellation.journal import actor_data, load
from exitright.cancellation.model import Actor, Request, RequestKind, State
from exitright.cancellation.outcomes import RejectionReason
from exitright.cancellation.ports import Ports, RequestRecord, UnitOfWork
from exitright.cancellation.precheck_run import PreCheckRun
from exitright.clock import as_utc

__all__ = [
    "NOT_VERIFIED_NOTE",
    "RESOLVED_EVENT",
    "Checked",
    "Gate",
    "close_if_never_verified",
    "gate",
    "run_if_due",
]

RESOLVED_EVENT: Final = "request.precheck.resolved"
NOT_VERIFIED_NOTE: Final = "closed by the engine: not verified in time"


@dataclass(frozen=True)
class Checked:
    """A pre-check run, and the version of the request it was run for."""

    run: PreCheckRun
    row_version: int


@dataclass(frozen=True)
class Gate:
    """What the gate decided: go on now (``wait_until`` None), or look again then."""

    wait_until: datetime | None
    ledgered: bool = False  # entries were appended: the transaction must be committed


def _gated(request: Request, ports: Ports) -> bool:
    # Pre-checks are about closing an account (open orders, a balance): other kinds pass.
    return ports.prechecks is not None and request.kind is RequestKind.CANCEL


def run_if_due(
    uow: UnitOfWork, ports: Ports, request_id: str, owner: str | None, *, force: bool = False
) -> Checked | None:
    """Run the request's pre-checks if they are due (``force``: the user asked to check again).

    Returns None when nothing was run. Never inside a transaction: the checks read the platform.
    """
    if ports.prechecks is None:
        return None
    with uow:
        record = load(uow, request_id, owner)
    request = record.request
    if (
        not _gated(request, ports)
        or request.state not in (State.VERIFIED, State.BLOCKED)
        or record.identifiers is None
    ):
        return None
    now = as_utc(ports.clock.now())
    if (
        request.state is State.BLOCKED
        and not force
        and record.next_run_at is not None
        and now < record.next_run_at
    ):
        return None
    return Checked(ports.prechecks.run(record.identifiers), record.row_version)


def gate(
    uow: UnitOfWork,
    record: RequestRecord,
    checked: Checked | None,
    ports: Ports,
    actor: Actor,
    now: datetime,
) -> Gate:
    """Apply a pre-check run to a verified or blocked request (inside the transaction)."""
    request = record.request
    if not _gated(request, ports):
        return Gate(None)
    later = now + ports.precheck_interval
    if checked is None:
        # Not due (a blocked request looked at early), or not run: wait as scheduled.
        if request.state is State.BLOCKED:
            return Gate(record.next_run_at or later)
        return Gate(now)
    if checked.row_version != record.row_version:
        return Gate(now)  # the request changed while its checks ran: run them again
    run = checked.run
    for check_id in run.resolved:
        declared = {c.id: c for c in ports.prechecks.checks} if ports.prechecks else {}
        resolution = declared[check_id].resolution.value if check_id in declared else None
        uow.ledger.append(
            RESOLVED_EVENT,
            request_id=request.id,
            subject=request.subject_ref,
            data={"check": check_id, "resolution": resolution, "actor": actor_data(actor)},
        )
    ledgered = bool(run.resolved)
    if run.blocking:
        if request.state is State.VERIFIED or request.blockers != run.blocking:
            request.block(run.blocking, actor, ports.clock)
        return Gate(later, ledgered)
    if run.unavailable:
        return Gate(later, ledgered)
    return Gate(None, ledgered)


def close_if_never_verified(
    request: Request, ports: Ports, actor: Actor, now: datetime, *, within: timedelta | None = None
) -> bool:
    """Reject a request still unverified ``within`` (default: the ports') of its receipt."""
    limit = within if within is not None else ports.verify_within
    if request.state is not State.SUBMITTED or now < as_utc(request.received_at) + limit:
        return False
    request.reject(RejectionReason.IDENTITY_NOT_VERIFIED, actor, ports.clock, NOT_VERIFIED_NOTE)
    return True
