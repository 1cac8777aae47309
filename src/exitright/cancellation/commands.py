"""Commands: what someone asks the workflow to do, named in the imperative.

Routes, CLI commands and worker tasks build one of these and hand it to a service
(``(command, uow, ports) -> result``); the service loads the request aggregate
(:class:`~exitright.cancellation.model.Request`) and calls the matching method. Commands carry ids
and codes, never personal data: the subject is an opaque reference (``subject_ref``) resolved at
the edge.
"""

from __future__ import annotations

from dataclasses import dataclass

from exitright.cancellation.model import Actor, RequestKind
from exitright.cancellation.outcomes import RejectionReason

__all__ = [
    "BlockRequest",
    "Command",
    "CompleteRequest",
    "ConfirmReceipt",
    "ExecuteRequest",
    "ExtendDeadline",
    "FailRequest",
    "RejectRequest",
    "RetryRequest",
    "RevokeRequest",
    "StartCoolingOff",
    "SubmitRequest",
    "VerifyRequest",
]


@dataclass(frozen=True)
class Command:
    """A request to change one request's state, on behalf of ``actor``."""

    request_id: str
    actor: Actor


@dataclass(frozen=True)
class SubmitRequest(Command):
    """Open a request of ``kind`` for the subject (``scope`` names items for delete / correct)."""

    kind: RequestKind
    subject_ref: str
    scope: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerifyRequest(Command):
    """Mark the requester's identity as proven."""


@dataclass(frozen=True)
class BlockRequest(Command):
    """Hold the request until the named pre-checks are resolved."""

    pre_checks: tuple[str, ...]


@dataclass(frozen=True)
class StartCoolingOff(Command):
    """Begin a cancellation's revocable waiting period."""


@dataclass(frozen=True)
class ExecuteRequest(Command):
    """Start carrying the request out."""


@dataclass(frozen=True)
class CompleteRequest(Command):
    """Record that the request was carried out."""


@dataclass(frozen=True)
class FailRequest(Command):
    """Record a failed attempt; ``reason`` is shown to operators and holds no personal data."""

    reason: str


@dataclass(frozen=True)
class RetryRequest(Command):
    """Send a failed request back to execution."""


@dataclass(frozen=True)
class RevokeRequest(Command):
    """Withdraw the request (the user's right until execution starts)."""

    reason: str | None = None


@dataclass(frozen=True)
class RejectRequest(Command):
    """Refuse the request with a specific reason (PIPL Art. 50)."""

    reason: RejectionReason
    note: str | None = None


@dataclass(frozen=True)
class ExtendDeadline(Command):
    """Extend the deadline as the regime allows (gdpr months, ccpa days), with a reason."""

    reason: str
    months: int = 0
    days: int = 0


@dataclass(frozen=True)
class ConfirmReceipt(Command):
    """Record that the requester was told their request was received."""
