"""The request aggregate and its lifecycle: one visible transition table, every step recorded.

A request (cancel the account, access = export, correct, delete items) moves through the states
below. :data:`TRANSITIONS` is the whole state machine: a move that is not a row there raises
:class:`~exitright.cancellation.errors.IllegalTransitionError`, and an actor not listed in the
row raises :class:`~exitright.cancellation.errors.ActorNotAllowedError`. Each move appends a
:class:`TransitionRecord` (time from the Clock, actor, reason) to ``history`` and an event to
``events``.

::

    submitted ─verify─► verified ─┬─ block ──────► blocked ─┐ (resolved)
                                  ├─ start_cooling_off (cancel) ◄─┤
                                  └─ execute (others) ◄──────────┘
    cooling_off ─execute─► executing ─complete─► completed
                           executing ─fail─► failed ─retry─► executing
    revoke (user): submitted | verified | blocked | cooling_off → revoked
    reject (reason + appeal route): submitted | verified | blocked | failed → rejected
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from exitright.cancellation import events as ev
from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.cancellation.deadlines import (
    Deadline,
    DeadlinePolicy,
    Regime,
    compute_deadline,
    extend_deadline,
)
from exitright.cancellation.errors import (
    ActorNotAllowedError,
    CoolingOffNotOverError,
    IllegalTransitionError,
)
from exitright.cancellation.outcomes import APPEAL_ROUTES, Failure, Rejection, RejectionReason
from exitright.clock import Clock, as_utc

__all__ = [
    "TERMINAL_STATES",
    "TRANSITIONS",
    "Action",
    "Actor",
    "ActorKind",
    "Request",
    "RequestKind",
    "Rule",
    "State",
    "TransitionRecord",
    "rule_for",
]


class RequestKind(StrEnum):
    """What the subject asks for."""

    CANCEL = "cancel"  # cancel the account: erase everything not kept by law
    ACCESS = "access"  # export what the platform holds
    CORRECT = "correct"  # correct fields the data map marks correctable
    DELETE = "delete"  # delete chosen items (search history, one address)


class State(StrEnum):
    """Where a request stands."""

    SUBMITTED = "submitted"
    VERIFIED = "verified"
    BLOCKED = "blocked"
    COOLING_OFF = "cooling_off"
    EXECUTING = "executing"
    COMPLETED = "completed"
    REVOKED = "revoked"
    REJECTED = "rejected"
    FAILED = "failed"  # not terminal: the request is retried, and an operator sees why


TERMINAL_STATES: Final = frozenset({State.COMPLETED, State.REVOKED, State.REJECTED})


class Action(StrEnum):
    """What moves a request (or, for the last three, annotates it without moving it)."""

    VERIFY = "verify"
    BLOCK = "block"
    START_COOLING_OFF = "start_cooling_off"
    EXECUTE = "execute"
    COMPLETE = "complete"
    FAIL = "fail"
    RETRY = "retry"
    REVOKE = "revoke"
    REJECT = "reject"
    SUBMIT = "submit"
    EXTEND_DEADLINE = "extend_deadline"
    CONFIRM_RECEIPT = "confirm_receipt"


class ActorKind(StrEnum):
    """Who acted: the subject, an operator, the engine itself, or a platform back end."""

    USER = "user"
    OPERATOR = "operator"
    SYSTEM = "system"
    API_KEY = "api_key"


@dataclass(frozen=True)
class Actor:
    """Who acted; ``id`` is an operator id, API key id or worker name — never personal data."""

    kind: ActorKind
    id: str | None = None

    @classmethod
    def user(cls) -> Actor:
        """The request's subject (identified by the request itself, so no id is stored)."""
        return cls(ActorKind.USER)

    @classmethod
    def operator(cls, operator_id: str) -> Actor:
        """An operator of the admin console."""
        return cls(ActorKind.OPERATOR, operator_id)

    @classmethod
    def system(cls, name: str = "engine") -> Actor:
        """The engine (a worker, the scheduler, a pre-check run)."""
        return cls(ActorKind.SYSTEM, name)

    @classmethod
    def api_key(cls, key_id: str) -> Actor:
        """A platform back end calling the API with a key (its id, never the secret)."""
        return cls(ActorKind.API_KEY, key_id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {"kind": self.kind.value, "id": self.id}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Actor:
        """The inverse of :meth:`to_dict`."""
        return cls(ActorKind(data["kind"]), data.get("id"))


@dataclass(frozen=True)
class Rule:
    """One row of the transition table."""

    source: State
    action: Action
    target: State
    kinds: frozenset[RequestKind]
    actors: frozenset[ActorKind]


_ALL: Final = frozenset(RequestKind)
_CANCEL: Final = frozenset({RequestKind.CANCEL})
_NOT_CANCEL: Final = _ALL - _CANCEL
_SYSTEM: Final = frozenset({ActorKind.SYSTEM})
_ENGINE: Final = frozenset({ActorKind.SYSTEM, ActorKind.OPERATOR})
_OPERATOR: Final = frozenset({ActorKind.OPERATOR})
# Revoking is the subject's right; a platform back end relays it for them. An operator who wants
# to stop a request must reject it, which forces a reason and an appeal route.
_SUBJECT: Final = frozenset({ActorKind.USER, ActorKind.API_KEY})
# Identity is proven by a one-time code (system), by an operator, or by a platform back end that
# signed the user in itself.
_VERIFIERS: Final = frozenset({ActorKind.SYSTEM, ActorKind.OPERATOR, ActorKind.API_KEY})

S, A = State, Action
# fmt: off
TRANSITIONS: Final[tuple[Rule, ...]] = (
    #    from           action               to             kinds        who may
    Rule(S.SUBMITTED,   A.VERIFY,            S.VERIFIED,    _ALL,        _VERIFIERS),
    Rule(S.SUBMITTED,   A.REVOKE,            S.REVOKED,     _ALL,        _SUBJECT),
    Rule(S.SUBMITTED,   A.REJECT,            S.REJECTED,    _ALL,        _ENGINE),
    Rule(S.VERIFIED,    A.BLOCK,             S.BLOCKED,     _ALL,        _SYSTEM),
    Rule(S.VERIFIED,    A.START_COOLING_OFF, S.COOLING_OFF, _CANCEL,     _ENGINE),
    Rule(S.VERIFIED,    A.EXECUTE,           S.EXECUTING,   _NOT_CANCEL, _ENGINE),
    Rule(S.VERIFIED,    A.REVOKE,            S.REVOKED,     _ALL,        _SUBJECT),
    Rule(S.VERIFIED,    A.REJECT,            S.REJECTED,    _ALL,        _ENGINE),
    # A re-run of the pre-checks may find other blockers.
    Rule(S.BLOCKED,     A.BLOCK,             S.BLOCKED,     _ALL,        _SYSTEM),
    Rule(S.BLOCKED,     A.START_COOLING_OFF, S.COOLING_OFF, _CANCEL,     _ENGINE),
    Rule(S.BLOCKED,     A.EXECUTE,           S.EXECUTING,   _NOT_CANCEL, _ENGINE),
    Rule(S.BLOCKED,     A.REVOKE,            S.REVOKED,     _ALL,        _SUBJECT),
    Rule(S.BLOCKED,     A.REJECT,            S.REJECTED,    _ALL,        _ENGINE),
    Rule(S.COOLING_OFF, A.EXECUTE,           S.EXECUTING,   _CANCEL,     _ENGINE),
    Rule(S.COOLING_OFF, A.REVOKE,            S.REVOKED,     _CANCEL,     _SUBJECT),
    Rule(S.EXECUTING,   A.COMPLETE,          S.COMPLETED,   _ALL,        _SYSTEM),
    Rule(S.EXECUTING,   A.FAIL,              S.FAILED,      _ALL,        _SYSTEM),
    Rule(S.FAILED,      A.RETRY,             S.EXECUTING,   _ALL,        _ENGINE),
    # A request that cannot be carried out at all ends with a reason, not in endless retries
    # (ccpa §7022: "impossible" comes with an explanation).
    Rule(S.FAILED,      A.REJECT,            S.REJECTED,    _ALL,        _OPERATOR),
)
# fmt: on
del S, A

_RULES: Final[Mapping[tuple[State, Action], Rule]] = {(r.source, r.action): r for r in TRANSITIONS}


def rule_for(state: State, action: Action, kind: RequestKind) -> Rule | None:
    """The table row allowing ``action`` in ``state`` for ``kind``, or None if there is none."""
    rule = _RULES.get((state, action))
    return rule if rule is not None and kind in rule.kinds else None


@dataclass(frozen=True)
class TransitionRecord:
    """One step of a request's timeline."""

    at: datetime
    action: Action
    source: State | None  # None only for the submission record
    target: State
    actor: Actor
    reason: str | None = None  # a code (rejection reason, failure reason, pre-check ids)
    note: str | None = None  # free text for operators; never personal data

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "at": self.at.isoformat(),
            "action": self.action.value,
            "source": self.source.value if self.source else None,
            "target": self.target.value,
            "actor": self.actor.to_dict(),
            "reason": self.reason,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TransitionRecord:
        """The inverse of :meth:`to_dict`."""
        return cls(
            at=datetime.fromisoformat(data["at"]),
            action=Action(data["action"]),
            source=State(data["source"]) if data.get("source") else None,
            target=State(data["target"]),
            actor=Actor.from_dict(data["actor"]),
            reason=data.get("reason"),
            note=data.get("note"),
        )


@dataclass
class Request:
    """The request aggregate: a plain dataclass the repository stores through :meth:`to_dict`.

    Create one with :meth:`submit`; change it only through its methods, each of which checks the
    transition table, records the step and appends an event. ``events`` is transient (the
    service layer drains it) and is not part of the stored form.
    """

    id: str
    kind: RequestKind
    regime: Regime
    subject_ref: str  # an opaque reference or pseudonym; identifiers stay at the edge
    deadline: Deadline
    state: State = State.SUBMITTED
    scope: tuple[str, ...] = ()  # items (delete) or fields (correct) the request is about
    cooling_off_until: datetime | None = None
    blockers: tuple[str, ...] = ()
    attempts: int = 0
    failure: Failure | None = None
    rejection: Rejection | None = None
    receipt_confirmed_at: datetime | None = None
    history: list[TransitionRecord] = field(default_factory=list)
    version: int = 0  # bumped on every change, for optimistic locking in the repository
    events: list[ev.Event] = field(default_factory=list, compare=False, repr=False)

    # Creation ---------------------------------------------------------------------------------

    @classmethod
    def submit(
        cls,
        *,
        request_id: str,
        kind: RequestKind,
        subject_ref: str,
        actor: Actor,
        clock: Clock,
        deadlines: DeadlinePolicy,
        scope: Sequence[str] = (),
    ) -> Request:
        """Accept a request now; its deadline starts running at this instant."""
        if actor.kind is ActorKind.SYSTEM:
            raise ActorNotAllowedError(
                "a request is submitted by its subject, an operator or an API key",
                action=Action.SUBMIT.value,
                actor=actor.kind.value,
            )
        now = as_utc(clock.now())
        deadline = compute_deadline(deadlines, now)
        request = cls(
            id=request_id,
            kind=kind,
            regime=deadlines.regime,
            subject_ref=subject_ref,
            deadline=deadline,
            scope=tuple(scope),
        )
        request.history.append(TransitionRecord(now, Action.SUBMIT, None, State.SUBMITTED, actor))
        request.events.append(
            ev.RequestSubmitted(
                request_id, now, kind.value, deadline.final_due_at, deadline.provisional
            )
        )
        return request

    # Queries ----------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Whether the request still awaits an outcome (failed requests are open: retrying)."""
        return self.state not in TERMINAL_STATES

    @property
    def received_at(self) -> datetime:
        """When the request was accepted."""
        return self.deadline.received_at

    def can(self, action: Action, actor: Actor | None = None) -> bool:
        """Whether ``action`` (by ``actor``, if given) is allowed now — for showing buttons."""
        rule = rule_for(self.state, action, self.kind)
        return rule is not None and (actor is None or actor.kind in rule.actors)

    # Transitions ------------------------------------------------------------------------------

    def verify(self, actor: Actor, clock: Clock) -> None:
        """The requester proved control of the account."""
        record = self._move(Action.VERIFY, actor, clock)
        self.events.append(ev.RequestVerified(self.id, record.at))

    def block(self, pre_checks: Sequence[str], actor: Actor, clock: Clock) -> None:
        """Pre-checks found what must be resolved first (their ids, shown with their texts)."""
        blockers = tuple(pre_checks)
        self._allowed(Action.BLOCK, actor)
        if not blockers:
            raise IllegalTransitionError(
                "a block must name the pre-checks that block", action=Action.BLOCK.value
            )
        record = self._move(Action.BLOCK, actor, clock, reason=",".join(blockers))
        self.blockers = blockers
        self.events.append(ev.RequestBlocked(self.id, record.at, blockers))

    def start_cooling_off(
        self,
        policy: CoolingOffPolicy,
        actor: Actor,
        clock: Clock,
        *,
        not_after: datetime | None = None,
    ) -> None:
        """Begin the revocable wait of a cancellation (also when it lasts 0 days).

        ``not_after`` cuts the wait short so processing still fits the deadline (pass
        :func:`~exitright.cancellation.deadlines.latest_processing_start`); the timeline says so.
        """
        self._allowed(Action.START_COOLING_OFF, actor)
        now = as_utc(clock.now())
        until = policy.ends_at(now, not_after)
        shortened = until < policy.ends_at(now)
        note = "shortened to meet the deadline" if shortened else None
        record = self._move(Action.START_COOLING_OFF, actor, clock, at=now, note=note)
        self.blockers = ()
        self.cooling_off_until = until
        self.events.append(ev.CoolingOffStarted(self.id, record.at, until))

    def execute(self, actor: Actor, clock: Clock) -> None:
        """Start carrying the request out; a cancellation only once its cooling-off is over."""
        self._allowed(Action.EXECUTE, actor)
        now = as_utc(clock.now())
        if (
            self.state is State.COOLING_OFF
            and self.cooling_off_until is not None
            and now < self.cooling_off_until
        ):
            raise CoolingOffNotOverError(
                "the cooling-off period is not over",
                until=self.cooling_off_until.isoformat(),
            )
        record = self._move(Action.EXECUTE, actor, clock, at=now)
        self.blockers = ()
        self.attempts += 1
        self.events.append(ev.ExecutionStarted(self.id, record.at, self.attempts))

    def complete(self, actor: Actor, clock: Clock) -> None:
        """The request was carried out (and the residual check passed)."""
        record = self._move(Action.COMPLETE, actor, clock)
        self.failure = None
        self.events.append(ev.RequestCompleted(self.id, record.at))

    def fail(self, reason: str, actor: Actor, clock: Clock) -> None:
        """An attempt failed; ``reason`` is for operators and must hold no personal data."""
        self._allowed(Action.FAIL, actor)
        if not reason.strip():
            raise IllegalTransitionError("a failure needs a reason", action=Action.FAIL.value)
        record = self._move(Action.FAIL, actor, clock, reason=reason.strip())
        self.failure = Failure(reason.strip(), record.at, self.attempts)
        self.events.append(ev.ExecutionFailed(self.id, record.at, reason.strip(), self.attempts))

    def retry(self, actor: Actor, clock: Clock) -> None:
        """Send a failed request back to execution (the failure stays visible until it succeeds)."""
        record = self._move(Action.RETRY, actor, clock)
        self.attempts += 1
        self.events.append(ev.ExecutionRetried(self.id, record.at, self.attempts))

    def revoke(self, actor: Actor, clock: Clock, reason: str | None = None) -> None:
        """The user withdraws the request; possible at any moment before execution starts."""
        record = self._move(Action.REVOKE, actor, clock, note=reason)
        self.blockers = ()
        self.events.append(ev.RequestRevoked(self.id, record.at))

    def reject(
        self, reason: RejectionReason, actor: Actor, clock: Clock, note: str | None = None
    ) -> None:
        """Refuse the request with a specific reason; the regime's appeal route is recorded."""
        record = self._move(Action.REJECT, actor, clock, reason=reason.value, note=note)
        appeal = APPEAL_ROUTES[self.regime]
        self.blockers = ()
        self.rejection = Rejection(reason, appeal, record.at, note)
        self.events.append(ev.RequestRejected(self.id, record.at, reason.value, appeal.key))

    # Annotations (no state change) ------------------------------------------------------------

    def extend_deadline(
        self,
        policy: DeadlinePolicy,
        reason: str,
        actor: Actor,
        clock: Clock,
        *,
        months: int = 0,
        days: int = 0,
    ) -> None:
        """Extend the deadline as the regime allows; only operators decide this."""
        self._annotating(Action.EXTEND_DEADLINE, actor, frozenset({ActorKind.OPERATOR}))
        now = as_utc(clock.now())
        self.deadline = extend_deadline(
            policy, self.deadline, reason=reason, now=now, months=months, days=days
        )
        self._record(Action.EXTEND_DEADLINE, actor, now, note=reason.strip())
        self.events.append(ev.DeadlineExtended(self.id, now, self.deadline.final_due_at))

    def confirm_receipt(self, actor: Actor, clock: Clock) -> None:
        """Record that the requester was told the request arrived (once)."""
        self._annotating(Action.CONFIRM_RECEIPT, actor, _ENGINE)
        if self.receipt_confirmed_at is not None:
            raise IllegalTransitionError(
                "receipt was already confirmed", action=Action.CONFIRM_RECEIPT.value
            )
        now = as_utc(clock.now())
        self.receipt_confirmed_at = now
        self._record(Action.CONFIRM_RECEIPT, actor, now)
        self.events.append(ev.ReceiptConfirmed(self.id, now))

    # Machinery --------------------------------------------------------------------------------

    def _allowed(self, action: Action, actor: Actor) -> Rule:
        rule = rule_for(self.state, action, self.kind)
        if rule is None:
            raise IllegalTransitionError(
                f"cannot {action.value} a {self.kind.value} request that is {self.state.value}",
                action=action.value,
                state=self.state.value,
                kind=self.kind.value,
            )
        if actor.kind not in rule.actors:
            raise ActorNotAllowedError(
                f"{actor.kind.value} may not {action.value} a request",
                action=action.value,
                actor=actor.kind.value,
            )
        return rule

    def _move(
        self,
        action: Action,
        actor: Actor,
        clock: Clock,
        *,
        reason: str | None = None,
        note: str | None = None,
        at: datetime | None = None,
    ) -> TransitionRecord:
        rule = self._allowed(action, actor)
        now = as_utc(at if at is not None else clock.now())
        record = TransitionRecord(now, action, self.state, rule.target, actor, reason, note)
        self.state = rule.target
        self.history.append(record)
        self.version += 1
        return record

    def _annotating(self, action: Action, actor: Actor, actors: frozenset[ActorKind]) -> None:
        if not self.is_open:
            raise IllegalTransitionError(
                f"cannot {action.value} a request that is {self.state.value}",
                action=action.value,
                state=self.state.value,
                kind=self.kind.value,
            )
        if actor.kind not in actors:
            raise ActorNotAllowedError(
                f"{actor.kind.value} may not {action.value}",
                action=action.value,
                actor=actor.kind.value,
            )

    def _record(self, action: Action, actor: Actor, at: datetime, note: str | None = None) -> None:
        self.history.append(TransitionRecord(at, action, self.state, self.state, actor, None, note))
        self.version += 1

    # Storage ----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict of everything but the transient events."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "regime": self.regime.value,
            "subject_ref": self.subject_ref,
            "deadline": self.deadline.to_dict(),
            "state": self.state.value,
            "scope": list(self.scope),
            "cooling_off_until": _iso(self.cooling_off_until),
            "blockers": list(self.blockers),
            "attempts": self.attempts,
            "failure": self.failure.to_dict() if self.failure else None,
            "rejection": self.rejection.to_dict() if self.rejection else None,
            "receipt_confirmed_at": _iso(self.receipt_confirmed_at),
            "history": [r.to_dict() for r in self.history],
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Request:
        """The inverse of :meth:`to_dict`; ``events`` starts empty."""
        return cls(
            id=data["id"],
            kind=RequestKind(data["kind"]),
            regime=Regime(data["regime"]),
            subject_ref=data["subject_ref"],
            deadline=Deadline.from_dict(data["deadline"]),
            state=State(data["state"]),
            scope=tuple(data.get("scope", ())),
            cooling_off_until=_parse(data.get("cooling_off_until")),
            blockers=tuple(data.get("blockers", ())),
            attempts=int(data.get("attempts", 0)),
            failure=Failure.from_dict(data["failure"]) if data.get("failure") else None,
            rejection=Rejection.from_dict(data["rejection"]) if data.get("rejection") else None,
            receipt_confirmed_at=_parse(data.get("receipt_confirmed_at")),
            history=[TransitionRecord.from_dict(r) for r in data.get("history", ())],
            version=int(data.get("version", 0)),
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
