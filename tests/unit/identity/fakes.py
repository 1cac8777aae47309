"""Fakes of the identity ports: a platform's accounts in memory, a scripted carrier look-up."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from exitright.identity.directory import Account
from exitright.identity.identifiers import Identifier, parse_identifier
from exitright.identity.lookup import LookupAnswer, LookupResult
from exitright.identity.otp import Factor


@dataclass
class FakeDirectory:
    """Accounts by normalized identifier; ``proofs`` records each code that opened one."""

    accounts: dict[str, Account] = field(default_factory=dict)
    identifiers: dict[str, str] = field(default_factory=dict)  # keyed form -> account ref
    proofs: list[tuple[str, Factor, datetime]] = field(default_factory=list)

    def add(self, ref: str, verified_at: datetime, **factors: str) -> Account:
        """Register an account with ``phone=`` and/or ``email=``, last verified then."""
        kinds = {Factor(k): parse_identifier(k, v) for k, v in factors.items()}
        account = Account(ref, frozenset(kinds), dict.fromkeys(kinds, verified_at))
        self.accounts[ref] = account
        for identifier in kinds.values():
            self.identifiers[identifier.keyed_form] = ref
        return account

    def find(self, identifier: Identifier) -> Account | None:
        """The account registered with ``identifier``."""
        ref = self.identifiers.get(identifier.keyed_form)
        return self.accounts.get(ref) if ref else None

    def get(self, ref: str) -> Account | None:
        """The account ``ref``."""
        return self.accounts.get(ref)

    def record_proof(self, ref: str, factor: Factor, at: datetime) -> None:
        """Move the account's last verification of ``factor`` to ``at``."""
        self.proofs.append((ref, factor, at))
        account = self.accounts[ref]
        self.accounts[ref] = replace(
            account, last_verified_at={**account.last_verified_at, factor: at}
        )


@dataclass
class ScriptedLookup:
    """A carrier look-up that gives one answer and records the questions."""

    answer: LookupAnswer
    asked: list[tuple[str, date]] = field(default_factory=list)

    def check(self, phone_e164: str, since: date) -> LookupResult:
        """The scripted answer."""
        self.asked.append((phone_e164, since))
        return LookupResult(self.answer)


@dataclass
class FakeRequests:
    """Requests waiting for verification: id -> the identifier they name."""

    named: dict[str, str] = field(default_factory=dict)
    verified: list[str] = field(default_factory=list)

    def identifies(self, request_id: str, identifier: Identifier) -> bool:
        """Whether the request names ``identifier``."""
        return self.named.get(request_id) == identifier.keyed_form

    def mark_verified(self, request_id: str) -> None:
        """Record the verification."""
        self.verified.append(request_id)
