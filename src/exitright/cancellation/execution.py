"""Carrying out a request that is executing: the erasure of a cancellation, or a kind's executor.

Nothing here runs inside a transaction while it touches the platform's stores: the request was
committed as "executing" first; the work (idempotent, resumable) runs; then the outcome is
recorded in a new transaction, guarded by the record's version so only one worker ever
completes a request. A cancellation ends with a signed deletion certificate; access, delete and
correct end with a ledger entry carrying what their executor counted (never a value).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, Final

from exitright.cancellation.journal import load, log_steps, schedule
from exitright.cancellation.model import Actor, RequestKind, State
from exitright.cancellation.ports import (
    EraserBusyError,
    ErasureOutcome,
    KindJob,
    KindOutcome,
    Ports,
    RecipientNotice,
    RequestRecord,
    TableCounts,
    UnitOfWork,
)
from exitright.clock import as_utc
from exitright.errors import ErrorCode, ExitRightError

__all__ = ["BUSY_RETRY_SECONDS", "certificate_claims", "execute"]

# When a plan is busy in another worker, look again after this long (its lease is renewed per step).
BUSY_RETRY_SECONDS: Final = 60


def _busy(uow: UnitOfWork, ports: Ports, request_id: str) -> RequestRecord:
    with uow:
        record = load(uow, request_id, None)
        record.next_run_at = as_utc(ports.clock.now()) + timedelta(seconds=BUSY_RETRY_SECONDS)
        uow.requests.save(record)
        uow.commit()
    return record


def _execute_kind(
    record: RequestRecord, actor: Actor, uow: UnitOfWork, ports: Ports, worker: str
) -> RequestRecord:
    request = record.request
    outcome: KindOutcome | None = None
    failure: str | None = None
    try:
        executor = ports.executors.get(request.kind)
        if executor is None or record.identifiers is None:
            raise ExitRightError(ErrorCode.INVALID_CONFIG, message_id="api.error.no_executor")
        job = KindJob(
            request_id=request.id,
            kind=request.kind,
            subject_ref=request.subject_ref,
            identifiers=record.identifiers,
            scope=request.scope,
            values=dict(record.values or {}),
        )
        outcome = executor.run(job, worker)
    except EraserBusyError:
        return _busy(uow, ports, request.id)
    except ExitRightError as exc:
        failure = exc.msgid  # a catalog key: never a driver message, which may quote values
    if outcome is not None and outcome.status != "completed":
        failure = outcome.failure or f"{request.kind.value}_failed"
    if failure is not None or outcome is None:
        return _record_outcome(uow, ports, request.id, actor, failure or "unknown", None)
    done = outcome

    def complete(uow: UnitOfWork, record: RequestRecord, since: int) -> None:
        request = record.request
        counts = {k: int(v) for k, v in sorted(done.counts.items())}
        if done.event:
            uow.ledger.append(
                done.event, request_id=request.id, subject=request.subject_ref, data=counts
            )
        request.complete(actor, ports.clock)
        log_steps(uow, record, since, **{request.kind.value: counts})

    return _record_outcome(uow, ports, request.id, actor, None, complete)


# Completes the request inside the outcome's transaction: (uow, record, history length before).
Complete = Callable[[UnitOfWork, RequestRecord, int], None]


def _record_outcome(
    uow: UnitOfWork,
    ports: Ports,
    request_id: str,
    actor: Actor,
    failure: str | None,
    complete: Complete | None,
) -> RequestRecord:
    """Record an execution's end in a new transaction: ``complete`` it, or fail with backoff.

    Only a request still executing is touched, so a worker whose request was rejected or
    finished meanwhile changes nothing.
    """
    with uow:
        record = load(uow, request_id, None)
        request = record.request
        if request.state is not State.EXECUTING:
            return record  # rejected or finished meanwhile
        since = len(request.history)
        now = as_utc(ports.clock.now())
        if complete is not None:
            complete(uow, record, since)
            schedule(record, now)
        else:
            request.fail(failure or "unknown", actor, ports.clock)
            log_steps(uow, record, since, attempt=request.attempts)
            record.next_run_at = now + ports.retry.delay(request.attempts, ports.jitter())
        uow.requests.save(record)
        uow.commit()
    return record


def execute(
    record: RequestRecord, actor: Actor, uow: UnitOfWork, ports: Ports, worker: str
) -> RequestRecord:
    """Carry out an executing request outside any transaction, then record the outcome."""
    if record.request.kind is not RequestKind.CANCEL:
        return _execute_kind(record, actor, uow, ports, worker)
    return _execute_cancel(record, actor, uow, ports, worker)


def _execute_cancel(
    record: RequestRecord, actor: Actor, uow: UnitOfWork, ports: Ports, worker: str
) -> RequestRecord:
    request_id = record.request.id
    outcome: ErasureOutcome | None = None
    failure: str | None = None
    try:
        if ports.eraser is None or record.identifiers is None:
            raise ExitRightError(ErrorCode.INVALID_CONFIG, message_id="api.error.no_executor")
        plan_id = record.plan_id
        if plan_id is None:
            plan_id = ports.eraser.plan(request_id, record.identifiers)
            with uow:
                record = load(uow, request_id, None)
                record.plan_id = plan_id
                uow.requests.save(record)
                uow.commit()
        outcome = ports.eraser.run(plan_id, worker)
    except EraserBusyError:
        return _busy(uow, ports, request_id)
    except ExitRightError as exc:
        failure = exc.msgid  # a catalog key: never a driver message, which may quote values
    if outcome is not None and outcome.status != "completed":
        failure = f"erasure_failed:{outcome.failed_step or 'unknown'}"
    if failure is not None or outcome is None:
        return _record_outcome(uow, ports, request_id, actor, failure or "unknown", None)
    done = outcome

    def complete(uow: UnitOfWork, record: RequestRecord, since: int) -> None:
        record.request.complete(actor, ports.clock)
        # The notices' ledger entries go first, so the completion entry (the certificate's
        # ledger_entry) is the request's last one and chains over them.
        recipients = _notify_purged(uow, ports, record)
        tables = [_table_entry(t) for t in done.tables]
        entry = log_steps(uow, record, since, tables=tables, residual_hits=done.residual_hits)
        record.certificate = uow.signer.sign(
            certificate_claims(record, done, entry, ports, recipients=recipients)
        )

    return _record_outcome(uow, ports, request_id, actor, None, complete)


def _notify_purged(uow: UnitOfWork, ports: Ports, record: RequestRecord) -> list[RecipientNotice]:
    """Queue account-purged in the completing transaction; every notice of the request, for the
    certificate (the ones just queued are ``pending``: answers come after it is signed)."""
    if ports.notifier is None:
        return []
    purged = ports.notifier.account_purged(uow, record.request, record.identifiers)
    listed = list(ports.notifier.notices(uow, record.request.id))
    listed += [n for n in purged if n.jti is None]  # not queued, so not in the outbox
    return listed


def _table_entry(t: TableCounts) -> dict[str, Any]:
    entry: dict[str, Any] = {"store": t.store, "table": t.table}
    entry.update({k: int(v) for k, v in sorted(t.counts.items()) if v})
    if t.legal_basis:
        entry["legal_basis"] = t.legal_basis
    if t.retain_until:
        entry["retain_until"] = t.retain_until
    return entry


def certificate_claims(
    record: RequestRecord,
    outcome: ErasureOutcome,
    ledger_entry: str,
    ports: Ports,
    *,
    recipients: Sequence[RecipientNotice] = (),
) -> dict[str, Any]:
    """The claims of a completed request's deletion certificate (issue 5): no personal data.

    ``recipients`` lists every third-party notice of the request (recipient, event, jti and its
    state when signing); acknowledgements that come later are in the ledger under the same jti.
    """
    request = record.request
    completed_at = request.history[-1].at
    return {
        "iss": ports.issuer,
        "iat": int(completed_at.timestamp()),
        "jti": request.id,
        "sub": request.subject_ref,
        "request_id": request.id,
        "kind": request.kind.value,
        "regime": request.regime.value,
        "submitted_at": request.received_at.isoformat(),
        "completed_at": completed_at.isoformat(),
        "erasure": [_table_entry(t) for t in outcome.tables],
        "residual": {
            "result": "clean" if outcome.residual_hits == 0 else "found",
            "hits": outcome.residual_hits,
        },
        "recipients": [n.to_claim() for n in recipients],
        "ledger_entry": ledger_entry,
    }
