"""Verification by one-time code, persisted: start, resend, check — and the recycled-number guard.

The rules are :mod:`exitright.identity.otp`'s (5-minute codes, 5 wrong tries lock for 15
minutes, resends spaced and capped); this module keeps challenges in the engine database and
adds what a single challenge cannot know:

* **No enumeration.** :meth:`IdentityService.start` answers the same for an identifier with an
  account and one without: the same fields, the same rate limits, the same database writes.
  Without an account no code is sent and the challenge stores a random value where the hash would
  be, so every code fails like a wrong one (and five lock it). Delivery runs on a background
  dispatcher, so a slow SMS gateway does not make known identifiers answer slower.
* **Resend limits per identifier**, across challenges: a send log keyed by the identifier's keyed
  hash (never the number) feeds ``previous_sends``, so opening new challenges does not reset them.
* **Recycled numbers.** When a code matches, :class:`~exitright.identity.recycled.RecycledGuard`
  decides whether it may open the account: if the number changed hands after the account last
  proved it, the account is frozen and the caller is told to offer a fresh account. A code to
  *another* registered factor of a frozen account lifts the freeze (recovery).
* **Requests.** A challenge for a request (``purpose=request``) is only sent when the identifier
  is the one the request names, and a match marks the request verified in the request workflow.
"""

from __future__ import annotations

import base64
import logging
import math
import secrets
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Final, cast

from sqlalchemy import Connection, Engine, Table, delete, insert, select, text, update

from exitright.clock import Clock, as_utc
from exitright.errors import ErrorCode, ExitRightError
from exitright.identity.directory import Account, AccountDirectory
from exitright.identity.identifiers import Identifier, identifier_hash, mask, parse_identifier
from exitright.identity.models import IdentityChallenge, IdentitySend
from exitright.identity.otp import (
    DEFAULT_POLICY,
    Challenge,
    Channel,
    Factor,
    OtpError,
    OtpPolicy,
    SendTooSoonError,
    allowed_channels,
    next_send_allowed_at,
)
from exitright.identity.ports import (
    Checked,
    CheckStatus,
    Dispatcher,
    InlineDispatcher,
    Purpose,
    RequestLink,
    Started,
    ThreadDispatcher,
)
from exitright.identity.providers import CodeSender, DeliveryError, OutgoingCode
from exitright.identity.recycled import RecycledGuard

__all__ = [
    "CheckStatus",
    "Checked",
    "Dispatcher",
    "IdentityService",
    "InlineDispatcher",
    "Purpose",
    "RequestLink",
    "Started",
    "ThreadDispatcher",
    "purge_expired",
]

log = logging.getLogger("exitright.identity")

_CHALLENGES = cast(Table, IdentityChallenge.__table__)
_SENDS = cast(Table, IdentitySend.__table__)
_CHANNEL_OF: Final = {Factor.PHONE: Channel.SMS, Factor.EMAIL: Channel.EMAIL}
# Challenges and send-log rows are kept this long after they stop mattering, then purged.
RETENTION: Final = timedelta(days=1)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite returns naive datetimes for DateTime(timezone=True); every value stored is UTC.
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _not_found(challenge_id: str) -> ExitRightError:
    return ExitRightError(
        ErrorCode.NOT_FOUND,
        details={"challenge": challenge_id[:60]},
        message_id="identity.error.challenge_not_found",
    )


def _otp_error(exc: OtpError) -> ExitRightError:
    return exc.to_exitright_error()


class IdentityService:
    """One-time-code verification on the engine database, with the recycled-number guard."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        code_key: bytes,
        identifier_key: bytes,
        senders: Mapping[Channel, CodeSender],
        directory: AccountDirectory | None = None,
        guard: RecycledGuard | None = None,
        requests: RequestLink | None = None,
        policy: OtpPolicy = DEFAULT_POLICY,
        dispatcher: Dispatcher | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.code_key = code_key
        self.identifier_key = identifier_key
        self.senders = senders
        self.directory = directory
        self.guard = guard
        self.requests = requests
        self.policy = policy
        self.dispatcher = dispatcher or InlineDispatcher()

    # Start and resend ---------------------------------------------------------------------------

    def start(
        self,
        purpose: Purpose | str,
        factor: Factor | str,
        value: str,
        *,
        request_id: str | None = None,
        lang: str = "zh-CN",
    ) -> Started:
        """Open a challenge and send a code — to an account's identifier only (see module doc).

        Raises 422 for a malformed identifier or an unusable channel, 429 ``rate_limited`` (with
        ``retry_after``) when the identifier asked too often; never anything that depends on
        whether an account exists.
        """
        purpose = Purpose(purpose)
        identifier = parse_identifier(factor, value)
        if purpose is Purpose.REQUEST and not request_id:
            raise ExitRightError(
                ErrorCode.INVALID_REQUEST,
                details={"field": "request_id"},
                message_id="identity.error.request_required",
            )
        channel = _CHANNEL_OF[identifier.factor]
        if channel not in self.senders:
            raise ExitRightError(
                ErrorCode.INVALID_REQUEST,
                details={"channel": channel.value},
                message_id="identity.otp.channel_not_allowed",
            )
        account = self._account_for(purpose, identifier, request_id)
        if account is not None and channel not in allowed_channels(account.factors):
            # Never a channel the account did not register (GB/T 35273 §8.5) — and refusing
            # would tell that the account exists, so it is treated as no account.
            account = None
        deliver = account is not None or purpose is Purpose.SIGN_IN
        digest = identifier_hash(self.identifier_key, identifier)
        challenge_id = "ch_" + base64.b32encode(secrets.token_bytes(20)).decode().lower()
        now = as_utc(self.clock.now())
        with self.engine.begin() as conn:
            self._serialize(conn, digest)
            sends = self._recent_sends(conn, digest, now)
            try:
                challenge, code = Challenge.issue(
                    challenge_id, channel, self.code_key, self.clock, self.policy,
                    previous_sends=sends,
                )  # fmt: skip
            except OtpError as exc:
                raise _otp_error(exc) from None
            if not deliver:
                # The code goes nowhere; a random "hash" (it looks the same) that no code matches.
                challenge.code_hash = _unmatchable()
            conn.execute(
                insert(_CHALLENGES).values(
                    id=challenge.id,
                    purpose=purpose.value,
                    subject_hash=digest,
                    channel=channel.value,
                    code_hash=challenge.code_hash,
                    expires_at=challenge.expires_at,
                    failed_attempts=0,
                    locked_until=None,
                    verified_at=None,
                    sends=[s.isoformat() for s in challenge.sends],
                    account_ref=account.ref if account is not None else None,
                    request_id=request_id if purpose is Purpose.REQUEST else None,
                    created_at=now,
                )
            )
            conn.execute(insert(_SENDS).values(subject_hash=digest, sent_at=now))
            self._prune(conn, digest, now)
        if deliver:
            self._dispatch(identifier, code, lang, challenge.id)
        return self._started(challenge.id, channel, identifier, challenge.expires_at, [*sends, now])

    def resend(self, challenge_id: str, value: str, *, lang: str = "zh-CN") -> Started:
        """A fresh code for the same challenge (same limits, per challenge and per identifier).

        ``value`` is the identifier the challenge was started with (pages keep it in the form;
        the engine does not keep it).
        """
        now = as_utc(self.clock.now())
        with self.engine.begin() as conn:
            row = self._load(conn, challenge_id)
            identifier = self._identifier_of(row, value, challenge_id)
            self._serialize(conn, row.subject_hash)
            sends = self._recent_sends(conn, row.subject_hash, now)
            wait = next_send_allowed_at(sends, now, self.policy)
            challenge = self._challenge(row)
            locked = challenge.locked_until is not None and now < challenge.locked_until
            deliver = row.account_ref is not None or row.purpose == Purpose.SIGN_IN.value
            try:
                if wait is not None and not locked:
                    raise SendTooSoonError(
                        "wait before requesting another code",
                        retry_after=math.ceil((wait - now).total_seconds()),
                    )
                code = challenge.resend(self.code_key, self.clock, self.policy)
            except OtpError as exc:
                raise _otp_error(exc) from None
            if not deliver:
                challenge.code_hash = _unmatchable()
            self._save(conn, challenge)
            conn.execute(insert(_SENDS).values(subject_hash=row.subject_hash, sent_at=now))
        if deliver:
            self._dispatch(identifier, code, lang, challenge.id)
        return self._started(
            challenge.id, challenge.channel, identifier, challenge.expires_at, [*sends, now]
        )

    # Check --------------------------------------------------------------------------------------

    def check(self, challenge_id: str, value: str, code: str) -> Checked:
        """Check ``code``; on a match run the recycled-number guard, then open or freeze.

        ``value`` is the identifier the challenge was started with.
        """
        with self.engine.begin() as conn:
            row = self._load(conn, challenge_id)
            identifier = self._identifier_of(row, value, challenge_id)
            challenge = self._challenge(row)
            outcome = challenge.verify(code, self.code_key, self.clock, self.policy)
            self._save(conn, challenge)
        if not outcome.ok:
            return Checked(
                CheckStatus(outcome.result.value), outcome.attempts_left, outcome.locked_until
            )
        request_id: str | None = row.request_id
        ref: str | None = row.account_ref
        account = self.directory.get(ref) if self.directory is not None and ref else None
        if account is None:
            # Sign-in by code with no account (or one deleted meanwhile): the caller signs up.
            return Checked(CheckStatus.VERIFIED, outcome.attempts_left, request_id=request_id)
        return self._open(account, identifier, outcome.attempts_left, request_id)

    def _open(
        self, account: Account, identifier: Identifier, left: int, request_id: str | None
    ) -> Checked:
        recovered = False
        if self.guard is not None:
            frozen_by = self.guard.frozen_identifier_hash(account.ref)
            digest = identifier_hash(self.identifier_key, identifier)
            if frozen_by is not None and frozen_by == digest:
                return Checked(
                    CheckStatus.CHANGED_HANDS, left, frozen_account_ref=account.ref,
                    request_id=request_id,
                )  # fmt: skip
            if frozen_by is not None:
                # Another registered factor proved: the owner is back.
                self.guard.lift(account.ref, identifier.factor)
                recovered = True
            else:
                since = account.last_verified_at.get(
                    identifier.factor, datetime.min.replace(tzinfo=UTC)
                )
                decision = self.guard.guard(identifier, since)
                if decision.freeze_old_account:
                    self.guard.freeze(account.ref, identifier, decision)
                    return Checked(
                        CheckStatus.CHANGED_HANDS, left, decision=decision,
                        frozen_account_ref=account.ref, request_id=request_id,
                    )  # fmt: skip
        if self.directory is not None:
            self.directory.record_proof(account.ref, identifier.factor, as_utc(self.clock.now()))
        verified_request = False
        if request_id is not None and self.requests is not None:
            self.requests.mark_verified(request_id)
            verified_request = True
        return Checked(
            CheckStatus.VERIFIED, left, account_ref=account.ref, recovered=recovered,
            request_id=request_id, request_verified=verified_request,
        )  # fmt: skip

    # Helpers ------------------------------------------------------------------------------------

    def _account_for(
        self, purpose: Purpose, identifier: Identifier, request_id: str | None
    ) -> Account | None:
        account = self.directory.find(identifier) if self.directory is not None else None
        if purpose is Purpose.REQUEST:
            # Both look-ups run for every identifier, so the time taken tells nothing either.
            named = (
                self.requests.identifies(request_id or "", identifier)
                if self.requests is not None
                else False
            )
            if not named:
                return None
        return account

    def _dispatch(self, identifier: Identifier, code: str, lang: str, challenge_id: str) -> None:
        sender = self.senders[_CHANNEL_OF[identifier.factor]]
        message = OutgoingCode(identifier, code, int(self.policy.ttl.total_seconds() // 60), lang)

        def job() -> None:
            try:
                sender.send(message)
            except DeliveryError as exc:
                # The answer was already given (and must not differ); operators see this.
                log.error("code for challenge %s not delivered: %s", challenge_id, exc)

        self.dispatcher.submit(job)

    def _started(
        self,
        challenge_id: str,
        channel: Channel,
        identifier: Identifier,
        expires_at: datetime,
        sends: list[datetime],
    ) -> Started:
        now = as_utc(self.clock.now())
        resend = next_send_allowed_at(sends, now, self.policy) or now
        return Started(challenge_id, channel, mask(identifier), expires_at, resend)

    def _serialize(self, conn: Connection, digest: str) -> None:
        # Two starts for one identifier at once must not both pass the rate limit. SQLite's
        # write transactions are already serial (BEGIN IMMEDIATE); PostgreSQL takes a lock.
        if conn.dialect.name == "postgresql":
            lock = zlib.crc32(digest.encode()) | (0x1D << 32)
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock})

    def _recent_sends(self, conn: Connection, digest: str, now: datetime) -> list[datetime]:
        rows = conn.execute(
            select(_SENDS.c.sent_at).where(
                _SENDS.c.subject_hash == digest, _SENDS.c.sent_at > now - timedelta(hours=1)
            )
        ).scalars()
        return [a for a in (_aware(r) for r in rows) if a is not None]

    def _prune(self, conn: Connection, digest: str, now: datetime) -> None:
        cutoff = now - RETENTION
        conn.execute(
            delete(_SENDS).where(_SENDS.c.subject_hash == digest, _SENDS.c.sent_at < cutoff)
        )
        conn.execute(
            delete(_CHALLENGES).where(
                _CHALLENGES.c.subject_hash == digest, _CHALLENGES.c.expires_at < cutoff
            )
        )

    def _load(self, conn: Connection, challenge_id: str) -> Any:
        query = select(_CHALLENGES).where(_CHALLENGES.c.id == challenge_id[:48])
        if conn.dialect.name == "postgresql":
            # Concurrent guesses queue here, so each one sees the tries counted before it.
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise _not_found(challenge_id)
        return row

    def _identifier_of(self, row: Any, value: str, challenge_id: str) -> Identifier:
        factor = Factor.PHONE if row.channel == Channel.SMS.value else Factor.EMAIL
        try:
            identifier = parse_identifier(factor, value)
        except ExitRightError:
            raise _not_found(challenge_id) from None
        if identifier_hash(self.identifier_key, identifier) != row.subject_hash:
            raise _not_found(challenge_id)
        return identifier

    @staticmethod
    def _challenge(row: Any) -> Challenge:
        return Challenge(
            id=row.id,
            channel=Channel(row.channel),
            code_hash=row.code_hash,
            expires_at=_aware(row.expires_at) or datetime.min.replace(tzinfo=UTC),
            failed_attempts=row.failed_attempts,
            locked_until=_aware(row.locked_until),
            verified_at=_aware(row.verified_at),
            sends=[datetime.fromisoformat(s) for s in row.sends],
        )

    @staticmethod
    def _save(conn: Connection, challenge: Challenge) -> None:
        conn.execute(
            update(_CHALLENGES)
            .where(_CHALLENGES.c.id == challenge.id)
            .values(
                code_hash=challenge.code_hash,
                expires_at=challenge.expires_at,
                failed_attempts=challenge.failed_attempts,
                locked_until=challenge.locked_until,
                verified_at=challenge.verified_at,
                sends=[s.isoformat() for s in challenge.sends],
            )
        )


def _unmatchable() -> str:
    return secrets.token_hex(32)


def purge_expired(engine: Engine, clock: Clock) -> int:
    """Delete challenges and send-log rows no longer needed (older than a day); returns rows."""
    cutoff = as_utc(clock.now()) - RETENTION
    with engine.begin() as conn:
        a = conn.execute(delete(_CHALLENGES).where(_CHALLENGES.c.expires_at < cutoff)).rowcount
        b = conn.execute(delete(_SENDS).where(_SENDS.c.sent_at < cutoff)).rowcount
    return int(a) + int(b)
