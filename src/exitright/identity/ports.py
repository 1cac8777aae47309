"""What the identity service answers and what it needs: results, the request link, dispatchers.

Kept apart from :mod:`exitright.identity.service` so pages and the demo can import the result
types (``Started``, ``Checked``, ``CheckStatus``) and implement the ports without the service.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from exitright.identity.decision import Decision
from exitright.identity.identifiers import Identifier
from exitright.identity.otp import Channel

__all__ = [
    "CheckStatus",
    "Checked",
    "Dispatcher",
    "InlineDispatcher",
    "Purpose",
    "RequestLink",
    "Started",
    "ThreadDispatcher",
]


class Purpose(StrEnum):
    """What a verification is for."""

    SIGN_IN = "sign_in"  # a code goes out whether or not an account exists (sign-up by code)
    REQUEST = "request"  # a code goes out only to the identifier a request names


class CheckStatus(StrEnum):
    """The result of checking a code, as a page shows it."""

    VERIFIED = "verified"
    WRONG_CODE = "wrong_code"
    EXPIRED = "expired"
    LOCKED = "locked"
    ALREADY_USED = "already_used"
    CHANGED_HANDS = "changed_hands"


@dataclass(frozen=True)
class Started:
    """What the requester is told after asking for a code — identical with or without an account."""

    challenge_id: str
    channel: Channel
    sent_to: str  # masked: 138****5678
    expires_at: datetime
    resend_at: datetime
    message_id: str = "identity.otp.sent"


@dataclass(frozen=True)
class Checked:
    """The result of a code check.

    ``VERIFIED``: ``account_ref`` is the account the code opens (None: no account yet — offer
    sign-up); ``recovered`` if this lifted a freeze; ``request_verified`` if a request was marked
    verified. ``CHANGED_HANDS``: the code is right but the number changed hands since the account
    last proved it; ``frozen_account_ref`` is now frozen; offer a fresh account.
    """

    status: CheckStatus
    attempts_left: int
    locked_until: datetime | None = None
    account_ref: str | None = None
    decision: Decision | None = None
    frozen_account_ref: str | None = None
    recovered: bool = False
    request_id: str | None = None
    request_verified: bool = False

    @property
    def ok(self) -> bool:
        """Whether the code opened something (an account, a request, or a sign-up)."""
        return self.status is CheckStatus.VERIFIED

    @property
    def message_id(self) -> str:
        """The catalog message for the page."""
        if self.status is CheckStatus.CHANGED_HANDS:
            return "identity.recycled.changed_hands"
        return f"identity.otp.{self.status.value}"


class RequestLink(Protocol):
    """The request workflow, as far as verification needs it."""

    def identifies(self, request_id: str, identifier: Identifier) -> bool:
        """Whether the open request ``request_id`` names this identifier."""
        ...

    def mark_verified(self, request_id: str) -> None:
        """Record that the requester proved control of the request's identifier."""
        ...


class Dispatcher(Protocol):
    """Runs deliveries (in the background in production)."""

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` now or later."""
        ...


class InlineDispatcher:
    """Runs each delivery at once, in the caller's thread (tests, the CLI)."""

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` now."""
        job()


class ThreadDispatcher:
    """Runs deliveries on a small thread pool, so answers do not wait for the gateway."""

    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="exitright-otp")

    def submit(self, job: Callable[[], None]) -> None:
        """Queue ``job``."""
        self._pool.submit(job)

    def shutdown(self) -> None:
        """Finish queued deliveries and stop."""
        self._pool.shutdown(wait=True)
