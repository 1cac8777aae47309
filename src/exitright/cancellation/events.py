"""Domain events: what happened to a request, named in the past tense.

The aggregate appends them to ``Request.events``; the service layer collects them after a commit
and hands them to their handlers (ledger entry, notification, worker scheduling). They carry ids
and codes only — never personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "CoolingOffStarted",
    "DeadlineExtended",
    "Event",
    "ExecutionFailed",
    "ExecutionRetried",
    "ExecutionStarted",
    "ReceiptConfirmed",
    "RequestBlocked",
    "RequestCompleted",
    "RequestRejected",
    "RequestRevoked",
    "RequestSubmitted",
    "RequestVerified",
]


@dataclass(frozen=True)
class Event:
    """Something that happened to one request, at one instant."""

    request_id: str
    at: datetime


@dataclass(frozen=True)
class RequestSubmitted(Event):
    """A request was accepted; its deadline started running."""

    kind: str
    due_at: datetime
    provisional: bool


@dataclass(frozen=True)
class RequestVerified(Event):
    """The requester proved control of the account."""


@dataclass(frozen=True)
class RequestBlocked(Event):
    """Pre-checks found something to resolve first."""

    pre_checks: tuple[str, ...]


@dataclass(frozen=True)
class CoolingOffStarted(Event):
    """A cancellation entered its revocable waiting period."""

    ends_at: datetime


@dataclass(frozen=True)
class ExecutionStarted(Event):
    """Erasure (or export, correction, deletion) began."""

    attempt: int


@dataclass(frozen=True)
class ExecutionFailed(Event):
    """An execution attempt failed; it will be retried."""

    reason: str
    attempt: int


@dataclass(frozen=True)
class ExecutionRetried(Event):
    """A failed request went back to executing."""

    attempt: int


@dataclass(frozen=True)
class RequestCompleted(Event):
    """The request was carried out; a ledger entry and certificate follow."""


@dataclass(frozen=True)
class RequestRevoked(Event):
    """The user withdrew the request before execution."""


@dataclass(frozen=True)
class RequestRejected(Event):
    """The request was refused with a specific reason and an appeal route."""

    reason: str
    appeal_key: str


@dataclass(frozen=True)
class DeadlineExtended(Event):
    """The deadline was extended, with a reason the requester is told."""

    until: datetime


@dataclass(frozen=True)
class ReceiptConfirmed(Event):
    """The requester was told the request was received (ccpa §7021(a))."""
