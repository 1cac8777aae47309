"""The ports of the request use cases: what a service needs from the world, as Protocols.

The services in :mod:`exitright.cancellation.services` receive a :class:`UnitOfWork` (the request
repository, the ledger and the certificate signer, all in one engine-database transaction) and a
:class:`Ports` bundle (clock, eraser, policies). Adapters live outside this pure folder
(``exitright.db.requests``, ``exitright.bootstrap``); the unit tests use fakes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, ClassVar, Literal, Protocol

from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.cancellation.deadlines import DeadlinePolicy, Regime
from exitright.cancellation.errors import DomainError
from exitright.cancellation.model import Request, RequestKind
from exitright.cancellation.precheck_run import PreCheckRunner
from exitright.clock import Clock
from exitright.errors import ErrorCode

__all__ = [
    "ConcurrentUpdateError",
    "DuplicateIdempotencyKeyError",
    "Eraser",
    "EraserBusyError",
    "ErasureOutcome",
    "ExportFile",
    "ExportStore",
    "Identifiers",
    "KindExecutor",
    "KindJob",
    "KindOutcome",
    "Ledger",
    "Notifier",
    "Page",
    "Ports",
    "RecipientNotice",
    "RequestNotFoundError",
    "RequestRecord",
    "RequestRepository",
    "RetryPolicy",
    "ScopeRejectedError",
    "Signer",
    "TableCounts",
    "UnitOfWork",
]

IdentifierKind = Literal["user_id", "phone", "email"]


@dataclass(frozen=True)
class Identifiers:
    """How the requester named the account: exactly one identifier (personal data; kept encrypted
    by the repository while the request is open, erased when it ends)."""

    kind: IdentifierKind
    value: str

    def to_dict(self) -> dict[str, str]:
        """A JSON-safe dict (encrypted before it is stored)."""
        return {"kind": self.kind, "value": self.value}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Identifiers:
        """The inverse of :meth:`to_dict`."""
        kind = str(data["kind"])
        if kind not in ("user_id", "phone", "email"):
            raise ValueError(f"unknown identifier kind {kind!r}")
        return cls(kind, str(data["value"]))  # type: ignore[arg-type]  # checked just above


@dataclass
class RequestRecord:
    """A stored request: the aggregate plus what the engine keeps around it.

    ``row_version`` is the version the repository loaded; saving a record whose row changed since
    raises :class:`ConcurrentUpdateError` (optimistic locking).
    """

    request: Request
    identifiers: Identifiers | None
    owner: str | None = None  # the API key that created it (None: a page or an operator)
    idempotency_key: str | None = None
    next_run_at: datetime | None = None
    plan_id: str | None = None
    certificate: str | None = None
    created_at: datetime | None = None
    row_version: int = 0
    # A correction's new values (personal data: encrypted like the identifiers, dropped at the end).
    values: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Page:
    """One page of a listing, newest first; ``cursor`` fetches the next page (None: last)."""

    records: Sequence[RequestRecord]
    cursor: str | None


class RequestNotFoundError(DomainError):
    """No such request, or one the caller may not see (the two are never told apart)."""

    code: ClassVar[ErrorCode] = ErrorCode.NOT_FOUND
    message_id: ClassVar[str] = "api.error.request_not_found"


class ConcurrentUpdateError(DomainError):
    """The request changed between load and save; the caller may retry."""

    code: ClassVar[ErrorCode] = ErrorCode.CONFLICT
    message_id: ClassVar[str] = "api.error.concurrent_update"


class DuplicateIdempotencyKeyError(DomainError):
    """Another request was stored under the same idempotency key at the same moment."""

    code: ClassVar[ErrorCode] = ErrorCode.CONFLICT
    message_id: ClassVar[str] = "api.error.concurrent_update"


class ScopeRejectedError(DomainError):
    """The items or fields a request names are not ones the data map offers for its kind."""

    code: ClassVar[ErrorCode] = ErrorCode.INVALID_REQUEST
    message_id: ClassVar[str] = "kinds.error.scope"


class EraserBusyError(Exception):
    """The request's plan is being run by another worker right now; look again later."""


class RequestRepository(Protocol):
    """Stores request records in the engine database."""

    def add(self, record: RequestRecord) -> None:
        """Insert a new record (raises DuplicateIdempotencyKeyError on a key collision)."""
        ...

    def get(self, request_id: str) -> RequestRecord | None:
        """The record, or None."""
        ...

    def by_idempotency_key(self, owner: str, key: str) -> RequestRecord | None:
        """The record ``owner`` created under ``key``, or None."""
        ...

    def save(self, record: RequestRecord) -> None:
        """Write back a loaded record if nobody changed it since (else ConcurrentUpdateError)."""
        ...

    def list(self, *, owner: str | None, cursor: str | None, limit: int) -> Page:
        """Records newest first; only ``owner``'s unless None."""
        ...


class Ledger(Protocol):
    """The tamper-evident ledger, appended to inside the unit of work's transaction."""

    def append(self, event: str, *, request_id: str, subject: str, data: Mapping[str, Any]) -> str:
        """Append an entry; returns its hash."""
        ...


class Signer(Protocol):
    """Signs certificate claims with the deployment's current key (inside the transaction)."""

    def sign(self, claims: Mapping[str, Any]) -> str:
        """A compact JWS over ``claims``."""
        ...


class UnitOfWork(Protocol):
    """One transaction on the engine database: commit makes every change of it visible at once."""

    @property
    def requests(self) -> RequestRepository:
        """The requests, in this transaction."""
        ...

    @property
    def ledger(self) -> Ledger:
        """The ledger, in this transaction."""
        ...

    @property
    def signer(self) -> Signer:
        """The certificate signer, in this transaction."""
        ...

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Make the changes durable (leaving without commit rolls back)."""
        ...


@dataclass(frozen=True)
class TableCounts:
    """What erasure did to one table (or key pattern, or path pattern) of one store."""

    store: str
    table: str
    counts: Mapping[str, int]
    legal_basis: str | None = None
    retain_until: str | None = None  # the latest expiry of what was kept (ISO date)


@dataclass(frozen=True)
class ErasureOutcome:
    """The result of running an erasure plan, as the certificate reports it."""

    status: Literal["completed", "failed"]
    tables: Sequence[TableCounts] = ()
    residual_hits: int = 0
    failed_step: str | None = None


class Eraser(Protocol):
    """The erasure engine, seen from the request workflow."""

    def subject_ref(self, identifiers: Identifiers) -> str:
        """The subject's pseudonym (the same one erasure and the ledger use)."""
        ...

    def plan(self, request_id: str, identifiers: Identifiers) -> str:
        """The plan of this request: the one already persisted for it, or a new one."""
        ...

    def run(self, plan_id: str, worker: str) -> ErasureOutcome:
        """Run (or resume, or just report a finished) plan; idempotent."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for failed executions."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)

    def delay(self, attempt: int, jitter: float) -> timedelta:
        """The wait after the ``attempt``-th failure; ``jitter`` in [0, 1) spreads it (½–1×)."""
        exponent = min(max(attempt - 1, 0), 30)
        raw: timedelta = min(self.base * (2**exponent), self.cap)
        factor = 0.5 + 0.5 * min(max(jitter, 0.0), 1.0)
        return timedelta(seconds=raw.total_seconds() * factor)


@dataclass(frozen=True)
class RecipientNotice:
    """One third party told (or not) about a request, as the certificate lists it.

    ``state`` is the notice's at the time it was read: ``pending`` (queued, not yet answered),
    ``acknowledged``, ``rejected`` (the recipient's ``err`` code in ``err``), ``failed`` (given
    up after the last retry) — or ``not_sent`` when it could not be queued at all (``err``
    says why, e.g. ``no_identifier``: the recipient knows the subject by a phone number or
    e-mail address the request did not name). ``jti`` is None only for ``not_sent``.
    """

    recipient: str
    event: str  # the RISC event name: account-purged, account-disabled, account-enabled
    jti: str | None
    state: str
    delivery: str | None = None  # push | poll
    acknowledged_at: datetime | None = None
    err: str | None = None

    def to_claim(self) -> dict[str, Any]:
        """The JSON-safe form of the certificate's ``recipients`` claim (no personal data)."""
        claim: dict[str, Any] = {
            "recipient": self.recipient,
            "event": self.event,
            "jti": self.jti,
            "state": self.state,
        }
        if self.delivery is not None:
            claim["delivery"] = self.delivery
        if self.acknowledged_at is not None:
            claim["acknowledged_at"] = self.acknowledged_at.isoformat()
        if self.err is not None:
            claim["err"] = self.err
        return claim


class Notifier(Protocol):
    """Tells the data map's third parties (RISC Security Event Tokens through a durable outbox).

    Every method runs inside the caller's unit of work, so a notice is queued — with its ledger
    entry — in the same transaction as the transition it announces, and never for one that
    rolled back. Nothing is sent here: delivery happens later, outside any transaction, and a
    recipient that does not answer never holds a request up (it is retried, then escalated).
    ``identifiers`` are the open request's (None once it ended); recipients that know the
    subject only by an identifier the request did not name come back as ``not_sent``.
    """

    def account_disabled(
        self, uow: UnitOfWork, request: Request, identifiers: Identifiers | None
    ) -> Sequence[RecipientNotice]:
        """Cooling-off started: tell the recipients configured for it (account-disabled)."""
        ...

    def account_enabled(
        self, uow: UnitOfWork, request: Request, identifiers: Identifiers | None
    ) -> Sequence[RecipientNotice]:
        """The cancellation was revoked in cooling-off: undo account-disabled where it was sent."""
        ...

    def account_purged(
        self, uow: UnitOfWork, request: Request, identifiers: Identifiers | None
    ) -> Sequence[RecipientNotice]:
        """The request completed: tell every recipient the account is gone (account-purged)."""
        ...

    def notices(self, uow: UnitOfWork, request_id: str) -> Sequence[RecipientNotice]:
        """Every notice queued for the request so far, with its state now."""
        ...


@dataclass(frozen=True)
class KindJob:
    """What an executor of a non-cancel kind is given: the open request, never a copy kept.

    ``values`` are the new values of a correction (personal data, held encrypted by the
    repository while the request is open).
    """

    request_id: str
    kind: RequestKind
    subject_ref: str
    identifiers: Identifiers
    scope: tuple[str, ...]
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KindOutcome:
    """What an executor did: counts only (they go to the ledger), never a value."""

    status: Literal["completed", "failed"]
    counts: Mapping[str, int] = field(default_factory=dict)
    failure: str | None = None  # a code, for operators (no personal data)
    event: str | None = None  # a ledger event recorded with the counts, e.g. export.generated


class KindExecutor(Protocol):
    """Carries out one kind of request (access, delete, correct) against the platform's stores.

    Every executor shares submit / verify / advance / ledger / deadlines with cancellation; it
    only checks what a request names at submission and does the work once it executes.
    """

    def check(
        self,
        kind: RequestKind,
        identifiers: Identifiers,
        scope: Sequence[str],
        values: Mapping[str, str],
    ) -> tuple[str, ...]:
        """The request's scope, normalized; raises ScopeRejectedError for what the map does not
        offer (or a value that is not valid for its category)."""
        ...

    def run(self, job: KindJob, worker: str) -> KindOutcome:
        """Do (or finish, or just report a finished) job; idempotent."""
        ...


@dataclass(frozen=True)
class ExportFile:
    """A generated access export, decrypted for its owner."""

    data: bytes
    tables: int
    rows: int
    expires_at: datetime


class ExportStore(Protocol):
    """Reads the encrypted access exports kept for a while after an access request completes."""

    def read(self, request_id: str) -> ExportFile | None:
        """The request's archive, or None (never generated, or expired and deleted)."""
        ...

    def ready(self, request_id: str) -> bool:
        """Whether an unexpired archive exists for the request (without decrypting it)."""
        ...

    def purge_expired(self) -> int:
        """Delete the archives whose time is up; returns how many went."""
        ...


@dataclass
class Ports:
    """Everything a use case needs besides the unit of work."""

    clock: Clock
    eraser: Eraser | None
    deadlines: Mapping[Regime, DeadlinePolicy]
    default_regime: Regime
    cooling_off: CoolingOffPolicy = field(default_factory=CoolingOffPolicy)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    issuer: str = "exitright"
    jitter: Callable[[], float] = random.random  # tests pass a constant
    notifier: Notifier | None = None  # None: this deployment tells no third party
    # Executors of the other kinds (access, delete, correct); cancellation runs on the eraser.
    executors: Mapping[RequestKind, KindExecutor] = field(default_factory=dict)
    exports: ExportStore | None = None  # None: no access exports to download
    # Pre-checks run after verification (None: none declared); blocked requests are asked again
    # every ``precheck_interval``; a request not verified within ``verify_within`` is closed.
    prechecks: PreCheckRunner | None = None
    precheck_interval: timedelta = timedelta(minutes=15)
    verify_within: timedelta = timedelta(hours=24)

    def supported_kinds(self) -> frozenset[RequestKind]:
        """Kinds this deployment can carry out: cancel with an eraser, the others by executor."""
        kinds: set[RequestKind] = {k for k in self.executors if k is not RequestKind.CANCEL}
        if self.eraser is not None:
            kinds.add(RequestKind.CANCEL)
        return frozenset(kinds)
