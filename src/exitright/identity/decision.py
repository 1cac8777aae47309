"""The recycled-number decision, pure: marks, when the account last verified, now → a verdict.

Dates are carrier dates in China Standard Time. A mark on day D means the new holder has the
number from the start of D, so a verification on D or later was the new holder's own (their fresh
account is never frozen by the mark that created it). Marks dated in the future (carriers notify
ahead of reissue) take effect on their day. No I/O here: :class:`~exitright.identity.recycled.
RecycledGuard` reads the marks and asks the look-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any, Final

from exitright.clock import as_utc

__all__ = [
    "CST",
    "Decision",
    "IdentifierStatus",
    "LookupAnswer",
    "Mark",
    "Source",
    "Verdict",
    "decide",
    "start_of",
]

CST: Final = timezone(timedelta(hours=8), "CST")  # China has no daylight saving time


class LookupAnswer(StrEnum):
    """What a carrier look-up said about a number since a date."""

    RECYCLED = "recycled"
    NOT_RECYCLED = "not_recycled"
    UNKNOWN = "unknown"


class Source(StrEnum):
    """Where a mark came from."""

    OPERATOR = "operator"
    CARRIER_FILE = "carrier-file"
    LOOKUP = "lookup"
    RISC_EVENT = "risc-event"


class Verdict(StrEnum):
    """What a proven code to an identifier may do for the account registered with it."""

    OPEN_ACCOUNT = "open_account"
    CHANGED_HANDS = "changed_hands"


@dataclass(frozen=True)
class Mark:
    """One record that an identifier went to a new holder on ``recycled_on``."""

    id: str
    recycled_on: date
    source: Source
    reference: str | None = None


@dataclass(frozen=True)
class Decision:
    """The guard's answer for one (identifier, account) pair.

    ``CHANGED_HANDS``: do not open the old account; freeze it (:meth:`RecycledGuard.freeze`),
    tell the person the number has changed hands, offer a fresh account; the old owner recovers
    through another registered factor. ``lookup`` is what a carrier look-up said, if one ran.
    """

    verdict: Verdict
    recycled_on: date | None = None
    source: Source | None = None
    lookup: LookupAnswer | None = None

    @property
    def opens_old_account(self) -> bool:
        """Whether the code may sign in to (or verify a request of) the old account."""
        return self.verdict is Verdict.OPEN_ACCOUNT

    @property
    def freeze_old_account(self) -> bool:
        """Whether the old account must be frozen now."""
        return self.verdict is Verdict.CHANGED_HANDS

    @property
    def offer_fresh_account(self) -> bool:
        """Whether the person proving the number should be offered a new, empty account."""
        return self.verdict is Verdict.CHANGED_HANDS

    @property
    def message_id(self) -> str:
        """The catalog message explaining the decision to the person signing in."""
        return f"identity.recycled.{self.verdict.value}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form (no personal data)."""
        return {
            "verdict": self.verdict.value,
            "recycled_on": self.recycled_on.isoformat() if self.recycled_on else None,
            "source": self.source.value if self.source else None,
            "lookup": self.lookup.value if self.lookup else None,
        }


def start_of(day: date) -> datetime:
    """The instant day ``day`` begins in China."""
    return datetime.combine(day, time.min, CST)


def decide(
    marks: Iterable[Mark],
    account_last_verified_at: datetime,
    now: datetime,
    lookup: LookupAnswer | None = None,
) -> Decision:
    """Pure: did the identifier change hands after ``account_last_verified_at``?

    A mark counts if its day started after the account last proved control and has begun by
    ``now``; the earliest such mark is reported (the first change of hands).
    """
    verified, now = as_utc(account_last_verified_at), as_utc(now)
    counted = sorted(
        (m for m in marks if verified < start_of(m.recycled_on) <= now),
        key=lambda m: m.recycled_on,
    )
    if counted:
        first = counted[0]
        return Decision(Verdict.CHANGED_HANDS, first.recycled_on, first.source, lookup)
    return Decision(Verdict.OPEN_ACCOUNT, lookup=lookup)


@dataclass(frozen=True)
class IdentifierStatus:
    """Whether an identifier changed hands after ``since``; None when nobody could tell."""

    recycled: bool | None
    since: date
    recycled_on: date | None = None
    source: Source | None = None
    checked: tuple[str, ...] = ("marks",)
