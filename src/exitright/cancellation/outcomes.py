"""Outcomes a request can end with: a refusal (reason + appeal route) or a failed attempt.

A refusal must give a specific reason and say where to turn (PIPL Art. 50; GDPR Art. 12(4)); a
generic error fails the rubric (CN-PIPL-50-reasons). Both texts are catalog keys, so pages show them
in zh-CN and en.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from exitright.cancellation.deadlines import Regime

__all__ = [
    "APPEAL_ROUTES",
    "AppealRoute",
    "Failure",
    "Rejection",
    "RejectionReason",
    "appeal_route",
]


class RejectionReason(StrEnum):
    """Specific reasons a request may be refused; each has a user-facing text in the catalog."""

    IDENTITY_NOT_VERIFIED = "identity_not_verified"
    NOT_AUTHORIZED_AGENT = "not_authorized_agent"
    DUPLICATE_REQUEST = "duplicate_request"
    MANIFESTLY_UNFOUNDED = "manifestly_unfounded"  # GDPR Art. 12(5)
    EXCESSIVE = "excessive"  # GDPR Art. 12(5): repetitive requests
    LEGAL_OBLIGATION = "legal_obligation"  # GDPR Art. 17(3)(b); PIPL Art. 47¶2
    LEGAL_CLAIMS = "legal_claims"  # GDPR Art. 17(3)(e): an ongoing dispute or lawsuit
    FIELD_NOT_CORRECTABLE = "field_not_correctable"
    CORRECTION_NOT_ACCURATE = "correction_not_accurate"
    CANNOT_BE_CARRIED_OUT = "cannot_be_carried_out"  # ccpa §7022: impossible, with explanation

    @property
    def message_key(self) -> str:
        """Catalog key of the reason's user-facing text."""
        return f"requests.rejection.{self.value}"


@dataclass(frozen=True)
class AppealRoute:
    """Where a refused requester can turn: a catalog text and the legal basis."""

    key: str
    citation: str


APPEAL_ROUTES: Final[Mapping[Regime, AppealRoute]] = {
    Regime.CN: AppealRoute(
        "requests.appeal.cn", "PIPL Art. 50¶2 (suit in a people's court); PIPL Art. 65 (complaint)"
    ),
    Regime.GDPR: AppealRoute(
        "requests.appeal.gdpr", "GDPR Art. 12(4), 77 (supervisory authority), 79 (courts)"
    ),
    Regime.CCPA: AppealRoute(
        "requests.appeal.ccpa", "Cal. Civ. Code §1798.199.45 (complaint to the CPPA)"
    ),
}


def appeal_route(regime: Regime) -> AppealRoute:
    """The appeal route stated to a refused requester under ``regime``."""
    return APPEAL_ROUTES[regime]


@dataclass(frozen=True)
class Failure:
    """The last failed attempt, as an operator sees it."""

    reason: str
    at: datetime
    attempt: int

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {"reason": self.reason, "at": self.at.isoformat(), "attempt": self.attempt}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Failure:
        """The inverse of :meth:`to_dict`."""
        return cls(data["reason"], datetime.fromisoformat(data["at"]), int(data["attempt"]))


@dataclass(frozen=True)
class Rejection:
    """Why a request was refused and where the requester can appeal."""

    reason: RejectionReason
    appeal: AppealRoute
    at: datetime
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "reason": self.reason.value,
            "appeal_key": self.appeal.key,
            "appeal_citation": self.appeal.citation,
            "at": self.at.isoformat(),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rejection:
        """The inverse of :meth:`to_dict` (the appeal route as it was stated at the time)."""
        return cls(
            reason=RejectionReason(data["reason"]),
            appeal=AppealRoute(data["appeal_key"], data["appeal_citation"]),
            at=datetime.fromisoformat(data["at"]),
            note=data.get("note"),
        )
