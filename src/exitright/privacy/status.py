"""A request as its owner sees it on the status page: plain-words timeline, dates, next steps.

:func:`status_view` turns a stored :class:`~exitright.cancellation.ports.RequestRecord` into
what the template shows. Every text is a catalog key (``requests.state.*``,
``requests.action.*``, ``requests.actor.*``, ``proof.notice.*``); dates are shown in the
deadline's time zone (China Standard Time for cn). Third parties told about the request are
listed from the outbox as they stand now — the certificate keeps their state when it was signed,
and each answer is a ledger entry under the notice's jti. Pure: the caller passes the time zone,
"now" and the notices it read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from exitright.cancellation.deadlines import is_overdue
from exitright.cancellation.model import Action, Actor, State
from exitright.cancellation.ports import RequestRecord
from exitright.clock import as_utc

if TYPE_CHECKING:
    from exitright.protocols.notices import Notice

__all__ = [
    "Blocker",
    "RecipientLine",
    "Refusal",
    "StatusView",
    "Step",
    "recipient_lines",
    "status_view",
]


@dataclass(frozen=True)
class Step:
    """One line of the timeline."""

    at: str
    action_key: str
    state_key: str
    actor_key: str


@dataclass(frozen=True)
class Blocker:
    """A pre-check that holds the request, with what to do about it."""

    explanation_key: str
    resolution_key: str


@dataclass(frozen=True)
class Refusal:
    """Why the request was refused, and where to turn (PIPL Art. 50)."""

    reason_key: str
    appeal_key: str
    citation: str


@dataclass(frozen=True)
class RecipientLine:
    """A third party told about the request: what, under which jti, and its answer so far."""

    recipient: str
    event: str
    event_key: str
    jti: str
    state: str
    state_key: str
    at: str
    err: str | None


@dataclass(frozen=True)
class StatusView:
    """Everything the status page shows about one request."""

    id: str
    kind_key: str
    state: str
    state_key: str
    received_at: str
    due_day: str
    provisional: bool
    provisional_year: int
    overdue: bool
    cooling_off_until: str | None
    can_revoke: bool
    completed: bool
    has_certificate: bool
    retrying_at: str | None
    blockers: tuple[Blocker, ...]
    refusal: Refusal | None
    steps: tuple[Step, ...]
    recipients: tuple[RecipientLine, ...] = ()


def when(at: datetime, zone: tzinfo) -> str:
    """``2026-03-02 17:00 CST``: minutes are precise enough for a person."""
    local = as_utc(at).astimezone(zone)  # refuses a naive time rather than guessing its zone
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".strip()


def recipient_lines(notices: Sequence[Notice], zone: tzinfo) -> tuple[RecipientLine, ...]:
    """The third parties told, as the status page lists them (times in ``zone``)."""
    return tuple(
        RecipientLine(
            recipient=n.recipient,
            event=n.event,
            event_key=f"proof.event.{n.event}",
            jti=n.jti,
            state=n.shown_state,
            state_key=f"proof.notice.{n.shown_state}",
            at=when(n.shown_at, zone),
            err=n.err,
        )
        for n in notices
    )


def status_view(
    record: RequestRecord, zone: tzinfo, now: datetime, notices: Sequence[Notice] = ()
) -> StatusView:
    """The status page's view of ``record`` (times in ``zone``), with its ``notices``."""
    r = record.request
    refusal = None
    if r.rejection is not None:
        refusal = Refusal(
            r.rejection.reason.message_key, r.rejection.appeal.key, r.rejection.appeal.citation
        )
    retrying_at = None
    if r.state is State.FAILED and record.next_run_at is not None:
        retrying_at = when(record.next_run_at, zone)
    cooling = None
    if r.cooling_off_until is not None and r.state is State.COOLING_OFF:
        cooling = when(r.cooling_off_until, zone)
    blockers: tuple[Blocker, ...] = ()
    if r.state is State.BLOCKED:
        blockers = tuple(
            Blocker(f"requests.precheck.{b}.explanation", f"requests.precheck.{b}.resolution")
            for b in r.blockers
        )
    return StatusView(
        id=r.id,
        kind_key=f"requests.kind.{r.kind.value}",
        state=r.state.value,
        state_key=f"requests.state.{r.state.value}",
        received_at=when(r.received_at, zone),
        due_day=r.deadline.final_last_day.isoformat(),
        provisional=r.deadline.provisional,
        provisional_year=r.deadline.final_last_day.year,
        overdue=is_overdue(r, now),
        cooling_off_until=cooling,
        can_revoke=r.can(Action.REVOKE, Actor.user()),
        completed=r.state is State.COMPLETED,
        has_certificate=record.certificate is not None,
        retrying_at=retrying_at,
        blockers=blockers,
        refusal=refusal,
        steps=tuple(
            Step(
                at=when(s.at, zone),
                action_key=f"requests.action.{s.action.value}",
                state_key=f"requests.state.{s.target.value}",
                actor_key=f"requests.actor.{s.actor.kind.value}",
            )
            for s in r.history
        ),
        recipients=recipient_lines(notices, zone),
    )
