"""Receiving SETs from trusted issuers (RFC 8935 push) and dispatching them to handler ports.

:func:`receive` checks a SET — issuer configured, signature against that issuer's JWKS,
audience, the RFC 8417/SSF claims — deduplicates it by (issuer, jti), and hands it to the
handler of its event type in :data:`HANDLERS`. A handler that only writes the engine database
(``identifier-recycled`` → the recycled-number guard) runs inside one transaction with the
record of its receipt, so the SET is acted on exactly once. A handler that runs a use case with
transactions of its own (``account-purged`` → open a cancellation) runs before the receipt's
transaction and must itself be idempotent by (issuer, jti): a crash between the two re-runs it
on the issuer's next delivery, which finds what the first run did. Refusals raise
:class:`~exitright.protocols.set.SetError` with the RFC 8935 ``err`` the endpoint answers with.

The ports — the recycled-number guard and "start a cancellation" — belong to other parts of
the engine and are wired in :mod:`exitright.bootstrap`; where one is not registered (a bare
:class:`Handlers`), ``identifier-recycled`` is recorded (as a keyed hash of the identifier) in
``recycled_identifier_notices`` for the guard to pick up later, and ``account-purged`` is
recorded as ``no_handler`` for an operator to see.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol, cast

from sqlalchemy import Connection, Engine, Table, insert, select
from sqlalchemy.exc import IntegrityError

from exitright.clock import Clock, as_utc
from exitright.protocols import set as sets
from exitright.protocols.config import SubjectFormat, TrustedIssuer
from exitright.protocols.jwks import JwksCache, KeySource, StaticKeys
from exitright.protocols.models import ReceivedEvent, RecycledIdentifierNotice
from exitright.pseudonym import keyed_hash

__all__ = [
    "HANDLERS",
    "CancellationStarter",
    "Handler",
    "Handlers",
    "Receipt",
    "RecycledIdentifier",
    "RecycledIdentifierGuard",
    "TrustedIssuers",
    "UpstreamPurge",
    "identifier_hash",
    "receive",
]

RECEIVED = cast(Table, ReceivedEvent.__table__)
RECYCLED = cast(Table, RecycledIdentifierNotice.__table__)
IDENTIFIER_PURPOSE: Final = "recycled-identifier"


# Ports ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecycledIdentifier:
    """An issuer says this phone number or e-mail now belongs to someone else.

    ``value`` is the identifier in plain text, for the guard to match in memory; never store
    it — ``identifier_hash`` is what may be kept.
    """

    issuer: str
    jti: str
    kind: Literal["phone", "email"]
    value: str
    identifier_hash: str
    iat: int


@dataclass(frozen=True)
class UpstreamPurge:
    """An upstream identity provider deleted the account for good: start a cancellation.

    ``subject_format`` is how that issuer names our accounts (its configuration); ``sub_id``
    may name the subject in plain text and stays in memory.
    """

    issuer: str
    jti: str
    sub_id: Mapping[str, Any]
    subject_hash: str | None
    iat: int
    subject_format: SubjectFormat = "opaque"


class RecycledIdentifierGuard(Protocol):
    """The recycled-number guard (identity): protect accounts bound to a recycled identifier."""

    def identifier_recycled(
        self, conn: Connection, clock: Clock, notice: RecycledIdentifier
    ) -> str:
        """Act on the notice inside the receipt's transaction; return a short outcome word."""
        ...


class CancellationStarter(Protocol):
    """The request workflow: open a cancellation for an account purged upstream."""

    def start_cancellation(self, clock: Clock, notice: UpstreamPurge) -> str:
        """Open the request (idempotent by issuer and jti); return a short outcome (≤ 64 chars).

        Runs before the receipt's transaction, in transactions of its own. Raise
        :class:`~exitright.protocols.set.SetError` for a SET it cannot act on; any other error
        leaves no receipt, so the issuer's retry runs it again.
        """
        ...


@dataclass(frozen=True)
class Handlers:
    """The ports registered in this deployment (None = not wired yet)."""

    subject_key: bytes
    guard: RecycledIdentifierGuard | None = None
    starter: CancellationStarter | None = None


InReceipt = Callable[[Handlers, Connection, Clock, sets.SecurityEvent], str]
BeforeReceipt = Callable[[Handlers, TrustedIssuer, Clock, sets.SecurityEvent], str]


@dataclass(frozen=True)
class Handler:
    """What to do with one event type: inside the receipt's transaction, or before it."""

    in_receipt: InReceipt | None = None
    before_receipt: BeforeReceipt | None = None


# Handlers -------------------------------------------------------------------------------------


def identifier_hash(key: bytes, kind: str, value: str) -> str:
    """The keyed hash under which a recycled identifier is kept (and looked up by the guard)."""
    normal = sets.e164(value) if kind == "phone" else value.strip().lower()
    return keyed_hash(key, IDENTIFIER_PURPOSE, f"{kind}:{normal}")


def _subject_hash(key: bytes, sub_id: Mapping[str, Any] | None) -> str | None:
    if sub_id is None:
        return None
    canonical = "|".join(f"{k}={sub_id[k]}" for k in sorted(sub_id) if isinstance(sub_id[k], str))
    return keyed_hash(key, "set-subject", canonical)


def _recycled_identifier(
    h: Handlers, conn: Connection, clock: Clock, event: sets.SecurityEvent
) -> str:
    sub = event.sub_id or {}
    fmt = sub.get("format")
    if fmt == "phone_number":
        kind: Literal["phone", "email"] = "phone"
        value = str(sub.get("phone_number", ""))
    elif fmt == "email":
        kind, value = "email", str(sub.get("email", ""))
    else:
        raise sets.SetError("invalid_request", "identifier-recycled needs a phone_number or email")
    try:
        digest = identifier_hash(h.subject_key, kind, value)
    except ValueError as exc:
        raise sets.SetError("invalid_request", "the phone_number is not in E.164 form") from exc
    notice = RecycledIdentifier(event.issuer, event.jti, kind, value, digest, event.iat)
    if h.guard is not None:
        return h.guard.identifier_recycled(conn, clock, notice)
    conn.execute(
        insert(RECYCLED).values(
            issuer=event.issuer,
            jti=event.jti,
            kind=kind,
            identifier_hash=digest,
            received_at=as_utc(clock.now()),
            consumed_at=None,
        )
    )
    return "recorded"


def _account_purged(
    h: Handlers, issuer: TrustedIssuer, clock: Clock, event: sets.SecurityEvent
) -> str:
    if event.sub_id is None:
        raise sets.SetError("invalid_request", "account-purged needs a subject")
    if h.starter is None:
        return "no_handler"
    if not issuer.opens_cancellation:
        return "not_upstream"  # a carrier's account-purged says nothing about our account
    notice = UpstreamPurge(
        event.issuer,
        event.jti,
        event.sub_id,
        _subject_hash(h.subject_key, event.sub_id),
        event.iat,
        issuer.subject_format,
    )
    return h.starter.start_cancellation(clock, notice)[:64]


# The one table of what we do with each incoming event type; others are accepted and recorded.
HANDLERS: Final[Mapping[str, Handler]] = {
    sets.RISC + "identifier-recycled": Handler(in_receipt=_recycled_identifier),
    sets.RISC + "account-purged": Handler(before_receipt=_account_purged),
}


# Receiving ------------------------------------------------------------------------------------


class TrustedIssuers:
    """The configured issuers, each with its key source (JWKS URLs cached)."""

    def __init__(self, issuers: Sequence[TrustedIssuer], *, our_issuer: str) -> None:
        self._issuers = {i.issuer: i for i in issuers}
        self._our = our_issuer
        self._keys: dict[str, KeySource] = {}
        for i in issuers:
            self._keys[i.issuer] = (
                StaticKeys(i.jwks) if i.jwks is not None else JwksCache(cast(str, i.jwks_uri))
            )

    def get(self, issuer: str) -> TrustedIssuer | None:
        """The configuration of ``issuer`` if we trust it."""
        return self._issuers.get(issuer)

    def keys(self, issuer: str) -> KeySource:
        """Where ``issuer``'s keys come from."""
        return self._keys[issuer]

    def audience(self, issuer: TrustedIssuer) -> str:
        """The aud a SET from ``issuer`` must carry: configured, else our issuer URL."""
        return issuer.audience or self._our


@dataclass(frozen=True)
class Receipt:
    """What became of an accepted SET."""

    jti: str
    event: str
    outcome: str
    duplicate: bool


def check(token: str, trusted: TrustedIssuers) -> sets.SecurityEvent:
    """Verify ``token`` against the issuer it names; raise SetError with the RFC 8935 err."""
    header, claims = sets.peek(token)
    iss = claims.get("iss")
    issuer = trusted.get(iss) if isinstance(iss, str) else None
    if issuer is None:
        raise sets.SetError("invalid_issuer", "the issuer is not trusted by this receiver")
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    try:
        keys = trusted.keys(issuer.issuer).keys(kid)
    except Exception as exc:  # the issuer's JWKS is unreachable or malformed
        raise sets.SetError("invalid_key", "the issuer's keys could not be obtained") from exc
    event = sets.verify(
        token,
        keys,
        issuer=issuer.issuer,
        audience=trusted.audience(issuer),
        algorithms=issuer.algorithms,
    )
    if issuer.events is not None and event.name not in issuer.events:
        raise sets.SetError("access_denied", "this issuer may not send this event type")
    return event


def _seen(conn: Connection, event: sets.SecurityEvent) -> str | None:
    """The recorded outcome of this (issuer, jti), if it was received before."""
    row = conn.execute(
        select(RECEIVED.c.outcome).where(
            RECEIVED.c.issuer == event.issuer, RECEIVED.c.jti == event.jti
        )
    ).first()
    return None if row is None else str(row.outcome)


def receive(
    engine: Engine,
    clock: Clock,
    token: str,
    trusted: TrustedIssuers,
    handlers: Handlers,
) -> Receipt:
    """Check, deduplicate and act on one SET; a duplicate jti is acknowledged, not re-run."""
    event = check(token, trusted)
    handler = HANDLERS.get(event.event_type) or Handler()
    outcome = "ignored"
    if handler.before_receipt is not None:
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            seen = _seen(conn, event)
        if seen is not None:
            return Receipt(event.jti, event.name, seen, duplicate=True)
        issuer = cast(TrustedIssuer, trusted.get(event.issuer))  # check() found it
        outcome = handler.before_receipt(handlers, issuer, clock, event)
    try:
        with engine.begin() as conn:
            seen = _seen(conn, event)
            if seen is not None:
                return Receipt(event.jti, event.name, seen, duplicate=True)
            if handler.in_receipt is not None:
                outcome = handler.in_receipt(handlers, conn, clock, event)
            conn.execute(
                insert(RECEIVED).values(
                    issuer=event.issuer,
                    jti=event.jti,
                    event_type=event.event_type,
                    subject_hash=_subject_hash(handlers.subject_key, event.sub_id),
                    received_at=as_utc(clock.now()),
                    outcome=outcome[:64],
                )
            )
    except IntegrityError:
        # The same SET arrived twice at once and the other copy committed first.
        return Receipt(event.jti, event.name, "duplicate", duplicate=True)
    return Receipt(event.jti, event.name, outcome, duplicate=False)
