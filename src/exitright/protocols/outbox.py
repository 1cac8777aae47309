"""The durable outbox of Security Event Tokens: enqueue in the caller's transaction, then settle.

A notice is written together with the state change it announces (the request's completion, the
start of cooling-off), so it is never lost and never sent for something that rolled back. It is
delivered later, outside any transaction (``push.py`` for RFC 8935, ``poll.py`` for RFC 8936):
no transaction spans the engine database and a recipient. Each SET keeps its ``jti`` across
every retry, so a recipient that got it twice (we crashed before recording its 202) drops the
copy; each acknowledgement, rejection and escalation is settled by a conditional UPDATE on
``state``, so it is recorded — and written to the ledger — exactly once.

The ledger gets an entry per notice, acknowledgement, rejection, give-up and escalation, with
the recipient's name, the jti and the event type only. The SET itself (whose ``sub_id`` may be a
phone or an e-mail) is stored AES-GCM encrypted and erased as soon as the recipient has answered.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final, cast

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection, Table, and_, insert, or_, select, update

from exitright.clock import Clock, as_utc
from exitright.ledger import service as ledger
from exitright.ledger import signing
from exitright.pii.detect import redact
from exitright.protocols import set as sets
from exitright.protocols.config import RecipientConfig, Transmitter
from exitright.protocols.models import DeliveryAttempt, OutboxNotice

__all__ = [
    "MissingSubjectIdError",
    "acknowledge",
    "due_filter",
    "enqueue",
    "enqueue_account_disabled",
    "enqueue_account_enabled",
    "enqueue_account_purged",
    "escalate_overdue",
    "give_up",
    "new_jti",
    "open_token",
    "rearm",
    "record_attempt",
    "reject",
]

OUTBOX = cast(Table, OutboxNotice.__table__)
ATTEMPTS = cast(Table, DeliveryAttempt.__table__)
# Ledger event names (pseudonymous data only: recipient, jti, event).
QUEUED: Final = "recipient.notice.queued"
ACKNOWLEDGED: Final = "recipient.notice.acknowledged"
REJECTED: Final = "recipient.notice.rejected"
FAILED: Final = "recipient.notice.failed"
ESCALATED: Final = "recipient.notice.escalated"


class MissingSubjectIdError(ValueError):
    """No identifier was given for a recipient in the format it expects."""


# Sealing the stored SET ----------------------------------------------------------------------


def seal_token(key: bytes, jti: str, token: str) -> bytes:
    """``token`` encrypted with AES-256-GCM, bound to its jti (nonce ‖ ciphertext)."""
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, token.encode("ascii"), jti.encode())


def open_token(key: bytes, jti: str, blob: bytes) -> str:
    """The SET sealed by :func:`seal_token`."""
    return AESGCM(key).decrypt(blob[:12], blob[12:], jti.encode()).decode("ascii")


# Enqueueing ------------------------------------------------------------------------------------


def new_jti() -> str:
    """A fresh, unguessable jti: 160 random bits in lower-case base32.

    Base32 has no 0, 1, 8 or 9, so no jti can look like a phone or ID number to the ledger's
    personal-data check (a hex jti sometimes does, about one time in ten).
    """
    return base64.b32encode(os.urandom(20)).decode("ascii").lower()


def _subject_for(
    recipient: RecipientConfig, subject_ids: Mapping[str, str], issuer: str
) -> dict[str, str]:
    """The sub_id for ``recipient``: its own entry in ``subject_ids``, else the shared one."""
    value = subject_ids.get(recipient.name)
    if value is None and recipient.subject_format != "opaque":
        value = subject_ids.get(recipient.subject_format)
    if not value:
        raise MissingSubjectIdError(
            f"no {recipient.subject_format} identifier for recipient {recipient.name}: "
            f"pass subject_ids[{recipient.name!r}]"
        )
    return sets.subject_id(recipient.subject_format, value, issuer=issuer)


def enqueue(
    conn: Connection,
    clock: Clock,
    event: str,
    request_id: str,
    subject_pseudonym: str,
    recipients: Sequence[RecipientConfig],
    subject_ids: Mapping[str, str],
    *,
    transmitter: Transmitter,
    payload: Mapping[str, Any] | None = None,
) -> list[str]:
    """Sign and queue ``event`` for every recipient; idempotent per (request, recipient, event).

    Runs in the caller's transaction. Returns the jti of each recipient's notice (the one
    already queued if this request told this recipient this event before).
    """
    now = as_utc(clock.now())
    key = signing.current(conn, clock, transmitter.signing_wrap)
    jtis: list[str] = []
    for recipient in recipients:
        existing = conn.execute(
            select(OUTBOX.c.jti).where(
                OUTBOX.c.request_id == request_id,
                OUTBOX.c.recipient == recipient.name,
                OUTBOX.c.event_type == event,
            )
        ).scalar_one_or_none()
        if existing is not None:
            jtis.append(existing)
            continue
        jti = new_jti()
        claims = sets.build_claims(
            issuer=transmitter.issuer,
            audience=recipient.aud,
            event=event,
            sub_id=_subject_for(recipient, subject_ids, transmitter.issuer),
            jti=jti,
            iat=int(now.timestamp()),
            txn=request_id,
            payload=payload,
        )
        token = sets.sign(claims, key)
        conn.execute(
            insert(OUTBOX).values(
                jti=jti,
                recipient=recipient.name,
                event_type=event,
                request_id=request_id,
                subject=subject_pseudonym,
                audience=recipient.aud,
                delivery=recipient.delivery,
                endpoint=recipient.endpoint if recipient.delivery == "push" else None,
                sub_format=recipient.subject_format,
                token_enc=seal_token(transmitter.body_key, jti, token),
                state="pending",
                attempts=0,
                next_attempt_at=now if recipient.delivery == "push" else None,
                created_at=now,
                deadline_at=now + recipient.ack_deadline,
            )
        )
        ledger.append(
            conn,
            clock,
            QUEUED,
            request_id=request_id,
            subject=subject_pseudonym,
            data={
                "recipient": recipient.name,
                "jti": jti,
                "event": event,
                "delivery": recipient.delivery,
            },
        )
        jtis.append(jti)
    return jtis


def enqueue_account_purged(
    conn: Connection,
    clock: Clock,
    request_id: str,
    subject_pseudonym: str,
    recipients: Sequence[RecipientConfig],
    subject_ids: Mapping[str, str],
    *,
    transmitter: Transmitter,
) -> list[str]:
    """On completion: tell every recipient the account is deleted for good (RISC account-purged).

    ``subject_ids`` maps a recipient's name to the identifier agreed with it (its opaque id), or
    ``"phone_number"`` / ``"email"`` to the value used for recipients that know only that.
    """
    return enqueue(
        conn,
        clock,
        "account-purged",
        request_id,
        subject_pseudonym,
        recipients,
        subject_ids,
        transmitter=transmitter,
    )


def enqueue_account_disabled(
    conn: Connection,
    clock: Clock,
    request_id: str,
    subject_pseudonym: str,
    recipients: Sequence[RecipientConfig],
    subject_ids: Mapping[str, str],
    *,
    transmitter: Transmitter,
) -> list[str]:
    """At the start of cooling-off: tell the recipients configured for it (account-disabled)."""
    chosen = [r for r in recipients if r.disable_on_cooling_off]
    return enqueue(
        conn,
        clock,
        "account-disabled",
        request_id,
        subject_pseudonym,
        chosen,
        subject_ids,
        transmitter=transmitter,
    )


def enqueue_account_enabled(
    conn: Connection,
    clock: Clock,
    request_id: str,
    subject_pseudonym: str,
    recipients: Sequence[RecipientConfig],
    subject_ids: Mapping[str, str],
    *,
    transmitter: Transmitter,
) -> list[str]:
    """When cooling-off is revoked: undo account-disabled for the recipients that were told."""
    told = set(
        conn.execute(
            select(OUTBOX.c.recipient).where(
                OUTBOX.c.request_id == request_id, OUTBOX.c.event_type == "account-disabled"
            )
        ).scalars()
    )
    chosen = [r for r in recipients if r.name in told]
    return enqueue(
        conn,
        clock,
        "account-enabled",
        request_id,
        subject_pseudonym,
        chosen,
        subject_ids,
        transmitter=transmitter,
    )


# Settling ---------------------------------------------------------------------------------------


def _row(conn: Connection, jti: str) -> Any:
    return conn.execute(
        select(
            OUTBOX.c.recipient, OUTBOX.c.event_type, OUTBOX.c.request_id, OUTBOX.c.subject
        ).where(OUTBOX.c.jti == jti)
    ).first()


def _ledger(conn: Connection, clock: Clock, event: str, jti: str, **extra: Any) -> None:
    row = _row(conn, jti)
    ledger.append(
        conn,
        clock,
        event,
        request_id=row.request_id,
        subject=row.subject,
        data={"recipient": row.recipient, "jti": jti, "event": row.event_type, **extra},
    )


def record_attempt(
    conn: Connection,
    clock: Clock,
    jti: str,
    outcome: str,
    *,
    http_status: int | None = None,
    err: str | None = None,
    duration_ms: int | None = None,
) -> None:
    """Keep one line of a notice's delivery history."""
    conn.execute(
        insert(ATTEMPTS).values(
            jti=jti,
            at=as_utc(clock.now()),
            outcome=outcome,
            http_status=http_status,
            err=err,
            duration_ms=duration_ms,
        )
    )


def _settle(
    conn: Connection, clock: Clock, jti: str, recipient: str | None, **values: object
) -> bool:
    """Close an open notice with ``values``; True only for the call that closed it."""
    where = [OUTBOX.c.jti == jti, OUTBOX.c.state.in_(("pending", "failed"))]
    if recipient is not None:
        where.append(OUTBOX.c.recipient == recipient)
    done = conn.execute(
        update(OUTBOX)
        .where(*where)
        .values(
            resolved_at=as_utc(clock.now()),
            token_enc=None,  # answered: the SET (whose sub_id may be a phone) is no longer kept
            next_attempt_at=None,
            lease_owner=None,
            lease_until=None,
            **values,
        )
    ).rowcount
    return bool(done == 1)


def acknowledge(
    conn: Connection, clock: Clock, jti: str, *, recipient: str | None = None, how: str = "push"
) -> bool:
    """Mark ``jti`` acknowledged and erase its SET; True only for the call that settled it."""
    if not _settle(conn, clock, jti, recipient, state="acknowledged"):
        return False
    _ledger(conn, clock, ACKNOWLEDGED, jti, via=how)
    return True


def reject(
    conn: Connection,
    clock: Clock,
    jti: str,
    err: str,
    description: str | None,
    *,
    recipient: str | None = None,
) -> bool:
    """Record the recipient's refusal (its ``err`` code); not retried. True if this settled it."""
    code = err if err in sets.ERR_CODES else "invalid_request"
    # The recipient wrote the description; it may quote what it holds: redacted and short.
    described = redact(description)[:500] if description else None
    if not _settle(
        conn, clock, jti, recipient, state="rejected", err=code, err_description=described
    ):
        return False
    _ledger(conn, clock, REJECTED, jti, err=code)
    return True


def give_up(conn: Connection, clock: Clock, jti: str, worker: str, last_error: str) -> bool:
    """After the last attempt: mark ``failed`` (kept, encrypted, for ``events retry``)."""
    done = conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.jti == jti, OUTBOX.c.state == "pending", OUTBOX.c.lease_owner == worker)
        .values(
            state="failed",
            resolved_at=as_utc(clock.now()),
            last_error=last_error[:200],
            next_attempt_at=None,
            lease_owner=None,
            lease_until=None,
        )
    ).rowcount
    if done != 1:
        return False
    _ledger(conn, clock, FAILED, jti, attempts_error=last_error[:64])
    return True


def rearm(conn: Connection, clock: Clock, jti: str) -> bool:
    """Send a ``failed`` notice again from now on (after the recipient fixed its side)."""
    return (
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.jti == jti, OUTBOX.c.state == "failed")
            .values(
                state="pending",
                resolved_at=None,
                attempts=0,
                next_attempt_at=as_utc(clock.now()),
            )
        ).rowcount
        == 1
    )


def escalate_overdue(conn: Connection, clock: Clock) -> list[str]:
    """Flag, once each, the notices still unanswered after their recipient's deadline."""
    now = as_utc(clock.now())
    due = (
        conn.execute(
            select(OUTBOX.c.jti).where(
                OUTBOX.c.state.in_(("pending", "failed")),
                OUTBOX.c.escalated_at.is_(None),
                OUTBOX.c.deadline_at < now,
            )
        )
        .scalars()
        .all()
    )
    flagged: list[str] = []
    for jti in due:
        done = conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.jti == jti, OUTBOX.c.escalated_at.is_(None))
            .values(escalated_at=now)
        ).rowcount
        if done == 1:
            _ledger(conn, clock, ESCALATED, jti)
            flagged.append(jti)
    return flagged


def due_filter(now: datetime) -> Any:
    """The SQL condition of push notices whose next attempt is due and not leased."""
    return and_(
        OUTBOX.c.state == "pending",
        OUTBOX.c.delivery == "push",
        OUTBOX.c.next_attempt_at <= now,
        or_(OUTBOX.c.lease_until.is_(None), OUTBOX.c.lease_until < now),
    )
