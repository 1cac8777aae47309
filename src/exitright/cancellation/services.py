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

Every kind shares these use cases; a kind other than ``cancel`` has a ``KindExecutor`` in
``ports.executors`` that checks what the request names at submission (:func:`submit`) and does
the work when it executes. The execution itself (erasure or executor, then the outcome) is
:mod:`exitright.cancellation.execution`; the bookkeeping shared by both modules (load, ledger
the steps, schedule) is :mod:`exitright.cancellation.journal`.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Final

from exitright.cancellation import prechecking
from exitright.cancellation.commands import (
    RejectRequest,
    RetryRequest,
    RevokeRequest,
    VerifyRequest,
)
from exitright.cancellation.deadlines import Regime
from exitright.cancellation.errors import ActorNotAllowedError, DomainError
from exitright.cancellation.execution import BUSY_RETRY_SECONDS as BUSY_RETRY_SECONDS
from exitright.cancellation.execution import certificate_claims
from exitright.cancellation.execution import execute as _execute
from exitright.cancellation.journal import load as _load
from exitright.cancellation.journal import log_steps as _log
from exitright.cancellation.journal import schedule as _schedule
from exitright.cancellation.model import (
    Actor,
    ActorKind,
    Request,
    RequestKind,
    State,
)
from exitright.cancellation.ports import (
    DuplicateIdempotencyKeyError,
    Identifiers,
    Page,
    Ports,
    RequestRecord,
    UnitOfWork,
)
from exitright.clock import as_utc
from exitright.errors import ErrorCode

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
    values: Mapping[str, str] = field(default_factory=dict)  # a correction's new values


@dataclass(frozen=True)
class AdvanceRequest:
    """Do whatever is due for one request (the worker's command)."""

    request_id: str
    worker: str = "worker"
    recheck: bool = False  # the user pressed "check again": run the pre-checks now


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
    command = _checked(command, ports)
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
                values=dict(command.values) or None,
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


def _checked(command: OpenRequest, ports: Ports) -> OpenRequest:
    """The command with its scope as the kind's executor normalized it (cancel has none)."""
    executor = ports.executors.get(command.kind)
    if command.kind is RequestKind.CANCEL or executor is None:
        return command
    scope = executor.check(command.kind, command.identifiers, command.scope, command.values)
    return replace(command, scope=scope)


def _same_request(existing: RequestRecord, command: OpenRequest, regime: Regime) -> RequestRecord:
    request = existing.request
    same = (
        request.kind is command.kind
        and request.scope == tuple(command.scope)
        and request.regime is regime
        and (existing.identifiers is None or existing.identifiers == command.identifiers)
        and (existing.values is None or dict(existing.values) == dict(command.values))
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
    """Do what is due: pre-checks, cooling-off, execution, the outcome; close stale requests.

    A verified cancellation passes its pre-checks first (:mod:`exitright.cancellation.prechecking`):
    blocked, it is asked again every ``ports.precheck_interval`` (or at once with
    ``command.recheck``, which leaves the execution itself to the worker). A request nobody
    verified within ``ports.verify_within`` is rejected (``identity_not_verified``).

    Safe to call at any time and from any number of workers: what is not due changes nothing,
    and only one caller's outcome is ever saved (the others get ConcurrentUpdateError).
    """
    actor = Actor.system(command.worker)
    checked = prechecking.run_if_due(uow, ports, command.request_id, owner, force=command.recheck)
    with uow:
        record = _load(uow, command.request_id, owner)
        request = record.request
        since = len(request.history)
        now = as_utc(ports.clock.now())
        identifiers = record.identifiers
        gate = prechecking.Gate(None)
        if request.state is State.SUBMITTED:
            prechecking.close_if_never_verified(request, ports, actor, now)
        elif request.state in (State.VERIFIED, State.BLOCKED):
            gate = prechecking.gate(uow, record, checked, ports, actor, now)
            if gate.wait_until is None and request.kind is RequestKind.CANCEL:
                request.start_cooling_off(ports.cooling_off, actor, ports.clock)
            elif gate.wait_until is None:
                request.execute(actor, ports.clock)
        if (
            request.state is State.COOLING_OFF
            and not command.recheck
            and (
                request.cooling_off_until is None
                or as_utc(ports.clock.now()) >= request.cooling_off_until  # 0 days: at once
            )
        ):
            request.execute(actor, ports.clock)
        if request.state is State.FAILED and (
            record.next_run_at is None or now >= record.next_run_at
        ):
            request.retry(actor, ports.clock)
        before = record.next_run_at
        moved = len(request.history) > since
        _schedule(record, now)
        if gate.wait_until is not None:
            record.next_run_at = gate.wait_until
        if moved:
            _log(uow, record, since)
            # A cooling-off that is already over (0 days) freezes nothing worth announcing: the
            # account-purged of the execution follows at once.
            if request.state is State.COOLING_OFF and ports.notifier is not None:
                ports.notifier.account_disabled(uow, request, identifiers)
        # Nothing due still saves a new schedule, so the worker is not sent here before it is.
        if (
            moved
            or gate.ledgered
            or (request.state is not State.EXECUTING and record.next_run_at != before)
        ):
            uow.requests.save(record)
            uow.commit()
    if request.state is not State.EXECUTING or command.recheck:
        return record
    return _execute(record, actor, uow, ports, command.worker)


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
