"""The request use cases: ``(command, uow, ports) -> result``, and the one table of handlers.

Each use case loads the aggregate in a unit of work, calls one of its methods, appends a ledger
entry for every step it took (``request.<action>`` with the target state and the pseudonym, never
an identifier) and saves it — all in one engine-database transaction. Erasure touches the
platform's stores, so :func:`advance` never runs it inside a transaction: it commits
"executing", runs the (idempotent, resumable) plan, then records the outcome in a new
transaction, guarded by the record's version so only one worker ever completes a request.
Third parties are told through the ``Notifier`` port inside the same transactions: when
cooling-off starts (``account-disabled``), when it is revoked (``account-enabled``) and on
completion (``account-purged``, listed in the certificate's ``recipients``).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final

from exitright.cancellation.commands import (
    RejectRequest,
    RetryRequest,
    RevokeRequest,
    VerifyRequest,
)
from exitright.cancellation.deadlines import Regime
from exitright.cancellation.errors import ActorNotAllowedError, DomainError
from exitright.cancellation.model import (
    TERMINAL_STATES,
    Actor,
    ActorKind,
    Request,
    RequestKind,
    State,
)
from exitright.cancellation.ports import (
    DuplicateIdempotencyKeyError,
    EraserBusyError,
    ErasureOutcome,
    Identifiers,
    Page,
    Ports,
    RecipientNotice,
    RequestNotFoundError,
    RequestRecord,
    TableCounts,
    UnitOfWork,
)
from exitright.clock import as_utc
from exitright.errors import ErrorCode, ExitRightError

__all__ = [
    "HANDLERS",
    "AdvanceRequest",
    "CertificateNotReadyError",
    "IdempotencyKeyReusedError",
    "KindNotSupportedError",
    "OpenRequest",
    "Opened",
    "RegimeNotSupportedError",
    "advance",
    "certificate",
    "certificate_claims",
    "get_request",
    "handle",
    "list_requests",
    "reject",
    "retry",
    "revoke",
    "submit",
    "verify",
]

# When a plan is busy in another worker, look again after this long (its lease is renewed per step).
BUSY_RETRY_SECONDS: Final = 60


# Commands this module adds to exitright.cancellation.commands -----------------------------------


@dataclass(frozen=True)
class OpenRequest:
    """Accept a request for the account named by ``identifiers`` (idempotent per key and owner)."""

    kind: RequestKind
    identifiers: Identifiers
    actor: Actor
    scope: tuple[str, ...] = ()
    regime: Regime | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class AdvanceRequest:
    """Do whatever is due for one request (the worker's command)."""

    request_id: str
    worker: str = "worker"


@dataclass(frozen=True)
class Opened:
    """The request that a submission created, or found under its idempotency key."""

    record: RequestRecord
    created: bool


# Errors of the use cases ----------------------------------------------------------------------


class KindNotSupportedError(DomainError):
    """This deployment has no executor for the kind asked for."""

    code: ClassVar[ErrorCode] = ErrorCode.INVALID_REQUEST
    message_id: ClassVar[str] = "api.error.kind_not_supported"


class RegimeNotSupportedError(DomainError):
    """The regime asked for is not configured in this deployment."""

    code: ClassVar[ErrorCode] = ErrorCode.INVALID_REQUEST
    message_id: ClassVar[str] = "api.error.regime_not_supported"


class IdempotencyKeyReusedError(DomainError):
    """The idempotency key was used before for a different request."""

    code: ClassVar[ErrorCode] = ErrorCode.INVALID_REQUEST
    message_id: ClassVar[str] = "api.error.idempotency_key_reused"


class CertificateNotReadyError(DomainError):
    """The request has no certificate (it has not completed)."""

    code: ClassVar[ErrorCode] = ErrorCode.CONFLICT
    message_id: ClassVar[str] = "api.error.certificate_not_ready"


# Helpers --------------------------------------------------------------------------------------


def new_request_id() -> str:
    """A fresh, unguessable request id (``req_`` + 24 base32 characters)."""
    return "req_" + base64.b32encode(secrets.token_bytes(15)).decode().lower()


def _load(uow: UnitOfWork, request_id: str, owner: str | None) -> RequestRecord:
    record = uow.requests.get(request_id)
    # Another key's request is "not found": an API key never learns that it exists.
    if record is None or (owner is not None and record.owner != owner):
        raise RequestNotFoundError("no such request", request_id=request_id)
    return record


def _actor_data(actor: Actor) -> dict[str, Any]:
    # Operator ids are kept out of the ledger: in some deployments they are e-mail addresses.
    keep_id = actor.kind in (ActorKind.API_KEY, ActorKind.SYSTEM)
    return {"kind": actor.kind.value, **({"id": actor.id} if keep_id and actor.id else {})}


def _log(uow: UnitOfWork, record: RequestRecord, since: int, **extra: Any) -> str:
    """Append a ledger entry for every history step from ``since``; returns the last hash."""
    request = record.request
    last = ""
    for step in request.history[since:]:
        data: dict[str, Any] = {
            "state": step.target.value,
            "from": step.source.value if step.source else None,
            "actor": _actor_data(step.actor),
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


def _schedule(record: RequestRecord, now: datetime) -> None:
    """When the worker should look at the request next, from its state."""
    request = record.request
    if request.state in TERMINAL_STATES:
        record.next_run_at = None
        # DESIGN.md: identifiers are held only while a request is open.
        record.identifiers = None
    elif request.state in (State.VERIFIED, State.EXECUTING):
        record.next_run_at = now
    elif request.state is State.COOLING_OFF:
        record.next_run_at = request.cooling_off_until
    elif request.state in (State.SUBMITTED, State.BLOCKED):
        record.next_run_at = None  # waits for verification, or for a pre-check to clear
    # FAILED keeps the backoff set when the attempt failed.


# After a move, inside its transaction: (uow, record, state before, identifiers before).
AfterMove = Callable[[UnitOfWork, RequestRecord, State, Identifiers | None], None]


def _transition(
    uow: UnitOfWork,
    ports: Ports,
    request_id: str,
    owner: str | None,
    move: Callable[[Request], None],
    after: AfterMove | None = None,
) -> RequestRecord:
    with uow:
        record = _load(uow, request_id, owner)
        since = len(record.request.history)
        source = record.request.state
        identifiers = record.identifiers  # _schedule erases them when the request ends
        move(record.request)
        _schedule(record, as_utc(ports.clock.now()))
        _log(uow, record, since)
        if after is not None:
            after(uow, record, source, identifiers)
        uow.requests.save(record)
        uow.commit()
    return record


# Use cases ------------------------------------------------------------------------------------


def submit(
    command: OpenRequest, uow: UnitOfWork, ports: Ports, *, owner: str | None = None
) -> Opened:
    """Accept a request; a repeat with the same idempotency key returns the first one."""
    if command.kind not in ports.supported_kinds() or ports.eraser is None:
        raise KindNotSupportedError("no executor for this kind", kind=command.kind.value)
    regime = command.regime or ports.default_regime
    policy = ports.deadlines.get(regime)
    if policy is None:
        raise RegimeNotSupportedError("regime not configured", regime=regime.value)
    key = command.idempotency_key if owner is not None else None
    if key is not None:
        with uow:
            existing = uow.requests.by_idempotency_key(owner or "", key)
        if existing is not None:
            return Opened(_same_request(existing, command, regime), created=False)
    # Outside the transaction: finding the subject reads the platform's store.
    subject = ports.eraser.subject_ref(command.identifiers)
    try:
        with uow:
            request = Request.submit(
                request_id=new_request_id(),
                kind=command.kind,
                subject_ref=subject,
                actor=command.actor,
                clock=ports.clock,
                deadlines=policy,
                scope=command.scope,
            )
            record = RequestRecord(
                request=request,
                identifiers=command.identifiers,
                owner=owner,
                idempotency_key=key,
                created_at=request.received_at,
            )
            _schedule(record, request.received_at)
            uow.requests.add(record)
            _log(
                uow,
                record,
                0,
                kind=request.kind.value,
                regime=request.regime.value,
                due_at=request.deadline.final_due_at.isoformat(),
                provisional=request.deadline.provisional,
            )
            uow.commit()
    except DuplicateIdempotencyKeyError:
        # The same key was submitted twice at once and the other one won: answer with it.
        with uow:
            existing = uow.requests.by_idempotency_key(owner or "", key or "")
        if existing is None:
            raise
        return Opened(_same_request(existing, command, regime), created=False)
    return Opened(record, created=True)


def _same_request(existing: RequestRecord, command: OpenRequest, regime: Regime) -> RequestRecord:
    request = existing.request
    same = (
        request.kind is command.kind
        and request.scope == tuple(command.scope)
        and request.regime is regime
        and (existing.identifiers is None or existing.identifiers == command.identifiers)
    )
    if not same:
        raise IdempotencyKeyReusedError("idempotency key reused for a different request")
    return existing


def verify(
    command: VerifyRequest, uow: UnitOfWork, ports: Ports, *, owner: str | None = None
) -> RequestRecord:
    """The requester proved control of the account (one-time code, or the platform's own sign-in).

    The one-time-code flow calls this with ``Actor.system("otp")`` once a code matched.
    """
    return _transition(
        uow, ports, command.request_id, owner, lambda r: r.verify(command.actor, ports.clock)
    )


def revoke(
    command: RevokeRequest, uow: UnitOfWork, ports: Ports, *, owner: str | None = None
) -> RequestRecord:
    """The subject withdraws the request (any time before execution starts).

    Revoked during cooling-off, the recipients told ``account-disabled`` then are told
    ``account-enabled`` now, in the same transaction.
    """

    def undo_disable(
        uow: UnitOfWork, record: RequestRecord, source: State, identifiers: Identifiers | None
    ) -> None:
        if source is State.COOLING_OFF and ports.notifier is not None:
            ports.notifier.account_enabled(uow, record.request, identifiers)

    return _transition(
        uow,
        ports,
        command.request_id,
        owner,
        lambda r: r.revoke(command.actor, ports.clock, command.reason),
        undo_disable,
    )


def reject(
    command: RejectRequest, uow: UnitOfWork, ports: Ports, *, owner: str | None = None
) -> RequestRecord:
    """An operator refuses the request with a reason; the regime's appeal route is recorded."""
    return _transition(
        uow,
        ports,
        command.request_id,
        owner,
        lambda r: r.reject(command.reason, command.actor, ports.clock, command.note),
    )


def retry(
    command: RetryRequest, uow: UnitOfWork, ports: Ports, *, owner: str | None = None
) -> RequestRecord:
    """An operator sends a failed request back to execution now, without waiting for the backoff.

    failed → executing, due at once: the next worker round runs (resumes) the erasure plan.
    """
    if command.actor.kind is not ActorKind.OPERATOR:
        raise ActorNotAllowedError(
            "only an operator retries a request by hand",
            action="retry",
            actor=command.actor.kind.value,
        )
    return _transition(
        uow, ports, command.request_id, owner, lambda r: r.retry(command.actor, ports.clock)
    )


def advance(
    command: AdvanceRequest, uow: UnitOfWork, ports: Ports, *, owner: str | None = None
) -> RequestRecord:
    """Do what is due: start cooling-off, execute when it ends, run the erasure, record the end.

    Safe to call at any time and from any number of workers: what is not due changes nothing,
    and only one caller's outcome is ever saved (the others get ConcurrentUpdateError).
    """
    actor = Actor.system(command.worker)
    with uow:
        record = _load(uow, command.request_id, owner)
        request = record.request
        since = len(request.history)
        now = as_utc(ports.clock.now())
        identifiers = record.identifiers
        if request.state is State.VERIFIED and request.kind is RequestKind.CANCEL:
            request.start_cooling_off(ports.cooling_off, actor, ports.clock)
        elif request.state is State.VERIFIED:
            request.execute(actor, ports.clock)
        if request.state is State.COOLING_OFF and (
            request.cooling_off_until is None
            or as_utc(ports.clock.now()) >= request.cooling_off_until
        ):
            request.execute(actor, ports.clock)
        if request.state is State.FAILED and (
            record.next_run_at is None or now >= record.next_run_at
        ):
            request.retry(actor, ports.clock)
        if len(request.history) > since:
            _schedule(record, now)
            _log(uow, record, since)
            # A cooling-off that is already over (0 days) freezes nothing worth announcing: the
            # account-purged of the execution follows at once.
            if request.state is State.COOLING_OFF and ports.notifier is not None:
                ports.notifier.account_disabled(uow, request, identifiers)
            uow.requests.save(record)
            uow.commit()
        elif request.state is not State.EXECUTING:
            # Nothing was due: make sure the worker is not sent here again before it is.
            before = record.next_run_at
            _schedule(record, now)
            if record.next_run_at != before:
                uow.requests.save(record)
                uow.commit()
    if request.state is not State.EXECUTING:
        return record
    return _execute(record, actor, uow, ports, command.worker)


def _execute(
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
                record = _load(uow, request_id, None)
                record.plan_id = plan_id
                uow.requests.save(record)
                uow.commit()
        outcome = ports.eraser.run(plan_id, worker)
    except EraserBusyError:
        with uow:
            record = _load(uow, request_id, None)
            record.next_run_at = as_utc(ports.clock.now()) + timedelta(seconds=BUSY_RETRY_SECONDS)
            uow.requests.save(record)
            uow.commit()
        return record
    except ExitRightError as exc:
        failure = exc.msgid  # a catalog key: never a driver message, which may quote values
    if outcome is not None and outcome.status != "completed":
        failure = f"erasure_failed:{outcome.failed_step or 'unknown'}"
    with uow:
        record = _load(uow, request_id, None)
        request = record.request
        if request.state is not State.EXECUTING:
            return record  # rejected or finished meanwhile
        since = len(request.history)
        now = as_utc(ports.clock.now())
        if failure is None and outcome is not None:
            request.complete(actor, ports.clock)
            # The notices' ledger entries go first, so the completion entry (the certificate's
            # ledger_entry) is the request's last one and chains over them.
            recipients = _notify_purged(uow, ports, record)
            tables = [_table_entry(t) for t in outcome.tables]
            entry = _log(uow, record, since, tables=tables, residual_hits=outcome.residual_hits)
            record.certificate = uow.signer.sign(
                certificate_claims(record, outcome, entry, ports, recipients=recipients)
            )
            _schedule(record, now)
        else:
            request.fail(failure or "unknown", actor, ports.clock)
            _log(uow, record, since, attempt=request.attempts)
            record.next_run_at = now + ports.retry.delay(request.attempts, ports.jitter())
        uow.requests.save(record)
        uow.commit()
    return record


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


# Queries ----------------------------------------------------------------------------------------


def get_request(request_id: str, uow: UnitOfWork, *, owner: str | None = None) -> RequestRecord:
    """One request as its owner (or an admin, ``owner=None``) may see it."""
    with uow:
        return _load(uow, request_id, owner)


def list_requests(uow: UnitOfWork, *, owner: str | None, cursor: str | None, limit: int) -> Page:
    """Requests newest first, one page at a time."""
    with uow:
        return uow.requests.list(owner=owner, cursor=cursor, limit=limit)


def certificate(request_id: str, uow: UnitOfWork, *, owner: str | None = None) -> str:
    """The signed deletion certificate of a completed request."""
    record = get_request(request_id, uow, owner=owner)
    if record.certificate is None:
        raise CertificateNotReadyError(
            "the request has no certificate", state=record.request.state.value
        )
    return record.certificate


# The one table of handlers ----------------------------------------------------------------------

Handler = Callable[..., Any]

HANDLERS: Final[Mapping[type, Handler]] = {
    OpenRequest: submit,
    VerifyRequest: verify,
    RevokeRequest: revoke,
    RejectRequest: reject,
    AdvanceRequest: advance,
    RetryRequest: retry,
}


def handle(command: object, uow: UnitOfWork, ports: Ports, *, owner: str | None = None) -> Any:
    """Run the handler registered for ``command``'s type."""
    return HANDLERS[type(command)](command, uow, ports, owner=owner)
