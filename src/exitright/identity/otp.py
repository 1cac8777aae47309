"""One-time code policy: generate, hash at rest, expire, lock out, rate-limit — all pure.

A :class:`Challenge` is what the engine stores while a requester proves control of a registered
phone or e-mail: never the code itself, only ``HMAC-SHA256(key, challenge id ‖ code)`` — binding the
hash to its challenge means a leaked row cannot be replayed against another. Codes come from
:mod:`secrets`, live 5 minutes, and 5 wrong tries lock the challenge for 15 minutes; sends are
spaced (60 s) and capped per hour. Time only comes from the Clock port, so tests move a fake clock.

No answer here depends on whether an identifier has an account: the service issues a challenge
(and sends nothing) for an unknown identifier too, so the requester sees the same thing either
way. :func:`allowed_channels` never offers a channel the account did not register
(GB/T 35273 §8.5: verification asks for no more than registration collected).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar, Final

from exitright.clock import Clock, as_utc
from exitright.errors import DomainError, ErrorCode

__all__ = [
    "DEFAULT_POLICY",
    "Challenge",
    "ChallengeClosedError",
    "ChallengeLockedError",
    "Channel",
    "ChannelNotAllowedError",
    "Factor",
    "OtpError",
    "OtpPolicy",
    "SendTooSoonError",
    "VerifyOutcome",
    "VerifyResult",
    "allowed_channels",
    "choose_channel",
    "code_matches",
    "generate_code",
    "hash_code",
    "next_send_allowed_at",
]

_MIN_KEY_BYTES: Final = 16


class OtpError(DomainError):
    """Base of one-time-code errors; maps onto the project's error model."""

    code: ClassVar[ErrorCode] = ErrorCode.RATE_LIMITED
    message_id: ClassVar[str] = "identity.otp.error"


class SendTooSoonError(OtpError):
    """A code was requested again before the resend interval or hourly cap allows."""

    code = ErrorCode.RATE_LIMITED
    message_id = "identity.otp.send_too_soon"


class ChallengeLockedError(OtpError):
    """Too many wrong codes: the challenge is locked for a while."""

    code = ErrorCode.RATE_LIMITED
    message_id = "identity.otp.locked"


class ChallengeClosedError(OtpError):
    """The challenge was already verified; a new verification needs a new challenge."""

    code = ErrorCode.CONFLICT
    message_id = "identity.otp.already_used"


class ChannelNotAllowedError(OtpError):
    """The requested channel was not registered by the account."""

    code = ErrorCode.INVALID_REQUEST
    message_id = "identity.otp.channel_not_allowed"


@dataclass(frozen=True)
class OtpPolicy:
    """The numbers of the one-time-code rules; the defaults are the product's promise."""

    code_length: int = 6
    ttl: timedelta = timedelta(minutes=5)
    max_attempts: int = 5
    lockout: timedelta = timedelta(minutes=15)
    resend_interval: timedelta = timedelta(seconds=60)
    max_sends_per_hour: int = 5

    def __post_init__(self) -> None:
        if not 6 <= self.code_length <= 10:
            raise ValueError("code_length must be 6 to 10 digits")
        if self.max_attempts < 1 or self.max_sends_per_hour < 1:
            raise ValueError("max_attempts and max_sends_per_hour must be at least 1")
        if self.lockout < self.ttl:
            # Otherwise the same code would get a fresh set of tries when the lock lifts.
            raise ValueError("lockout must last at least as long as a code lives")


DEFAULT_POLICY: Final = OtpPolicy()


class Factor(StrEnum):
    """A factor an account can register that one-time codes can reach."""

    PHONE = "phone"
    EMAIL = "email"


class Channel(StrEnum):
    """How a code is delivered."""

    SMS = "sms"
    EMAIL = "email"


_CHANNEL_FOR: Final[Mapping[Factor, Channel]] = {
    Factor.PHONE: Channel.SMS,
    Factor.EMAIL: Channel.EMAIL,
}


def allowed_channels(
    registered: Iterable[Factor | str], *, unusable: Iterable[Factor | str] = ()
) -> frozenset[Channel]:
    """The channels a code may go to: only factors the account registered.

    ``registered`` may hold anything the account collected (``"password"``, ``"wechat"``); only
    phone and e-mail can carry a code, and anything else is ignored rather than asked for.
    ``unusable`` removes factors that may not be used (a phone number recycled by the carrier
    since the account last proved control of it).
    """
    blocked = {_factor(f) for f in unusable}
    out = {_CHANNEL_FOR[f] for f in map(_factor, registered) if f is not None and f not in blocked}
    return frozenset(out)


def choose_channel(
    requested: Channel | str,
    registered: Iterable[Factor | str],
    *,
    unusable: Iterable[Factor | str] = (),
) -> Channel:
    """Return ``requested`` if allowed, else raise :class:`ChannelNotAllowedError`."""
    try:
        channel = Channel(requested)
    except ValueError:
        raise ChannelNotAllowedError("unknown channel", channel=str(requested)) from None
    if channel not in allowed_channels(registered, unusable=unusable):
        raise ChannelNotAllowedError(
            "the account did not register this channel", channel=channel.value
        )
    return channel


def _factor(value: Factor | str) -> Factor | None:
    try:
        return Factor(value)
    except ValueError:
        return None


def generate_code(length: int = 6) -> str:
    """A uniformly random numeric code from the operating system's CSPRNG."""
    return f"{secrets.randbelow(10**length):0{length}d}"


def hash_code(key: bytes, challenge_id: str, code: str) -> str:
    """The at-rest form of a code: hex HMAC-SHA256 over the challenge id and the code."""
    if len(key) < _MIN_KEY_BYTES:
        raise ValueError(f"the OTP key must be at least {_MIN_KEY_BYTES} bytes")
    message = challenge_id.encode() + b"\x00" + code.strip().encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def code_matches(key: bytes, challenge_id: str, code: str, stored_hash: str) -> bool:
    """Whether ``code`` is the one hashed into ``stored_hash``, compared in constant time."""
    return hmac.compare_digest(hash_code(key, challenge_id, code), stored_hash)


def next_send_allowed_at(
    sends: Sequence[datetime], now: datetime, policy: OtpPolicy
) -> datetime | None:
    """None if a code may be sent now, else the earliest instant it may.

    ``sends`` are earlier send times — of this challenge, or of every challenge for the same
    identifier, so that opening new challenges does not get around the limit.
    """
    now = as_utc(now)
    earliest = now
    recent = sorted(as_utc(s) for s in sends if as_utc(s) > now - timedelta(hours=1))
    if recent:
        earliest = max(earliest, recent[-1] + policy.resend_interval)
    if len(recent) >= policy.max_sends_per_hour:
        # The window reopens when the oldest send that still counts leaves it.
        earliest = max(earliest, recent[-policy.max_sends_per_hour] + timedelta(hours=1))
    return None if earliest <= now else earliest


class VerifyResult(StrEnum):
    """What a code check found; only ``VERIFIED`` proves anything."""

    VERIFIED = "verified"
    WRONG_CODE = "wrong_code"
    EXPIRED = "expired"
    LOCKED = "locked"
    ALREADY_USED = "already_used"


@dataclass(frozen=True)
class VerifyOutcome:
    """The result of a check, with what the page needs to say next."""

    result: VerifyResult
    attempts_left: int
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        """Whether the code was right."""
        return self.result is VerifyResult.VERIFIED


@dataclass
class Challenge:
    """One verification in progress: the stored hash, its expiry, the tries and the sends."""

    id: str
    channel: Channel
    code_hash: str
    expires_at: datetime
    failed_attempts: int = 0
    locked_until: datetime | None = None
    verified_at: datetime | None = None
    sends: list[datetime] = field(default_factory=list)

    @classmethod
    def issue(
        cls,
        challenge_id: str,
        channel: Channel,
        key: bytes,
        clock: Clock,
        policy: OtpPolicy = DEFAULT_POLICY,
        *,
        previous_sends: Sequence[datetime] = (),
    ) -> tuple[Challenge, str]:
        """Start a challenge; returns it and the plaintext code to send (never stored).

        ``previous_sends`` are the identifier's recent send times across challenges.
        """
        now = as_utc(clock.now())
        wait = next_send_allowed_at(previous_sends, now, policy)
        if wait is not None:
            raise SendTooSoonError(
                "wait before requesting another code", retry_after=_seconds(wait - now)
            )
        code = generate_code(policy.code_length)
        challenge = cls(
            id=challenge_id,
            channel=channel,
            code_hash=hash_code(key, challenge_id, code),
            expires_at=now + policy.ttl,
            sends=[now],
        )
        return challenge, code

    def resend(self, key: bytes, clock: Clock, policy: OtpPolicy = DEFAULT_POLICY) -> str:
        """Replace the code with a fresh one and restart its expiry; returns the new code.

        Wrong tries are not forgiven by a resend — otherwise every resend would buy five more
        guesses — and a locked challenge cannot be resent until the lock ends.
        """
        now = as_utc(clock.now())
        self._check_not_locked(now)
        if self.verified_at is not None:
            raise ChallengeClosedError("this challenge is already verified")
        wait = next_send_allowed_at(self.sends, now, policy)
        if wait is not None:
            raise SendTooSoonError(
                "wait before requesting another code", retry_after=_seconds(wait - now)
            )
        code = generate_code(policy.code_length)
        self.code_hash = hash_code(key, self.id, code)
        self.expires_at = now + policy.ttl
        self.sends.append(now)
        return code

    def verify(
        self,
        code: str,
        key: bytes,
        clock: Clock,
        policy: OtpPolicy = DEFAULT_POLICY,
    ) -> VerifyOutcome:
        """Check a code; counts a wrong one, and locks after ``max_attempts`` wrong ones."""
        now = as_utc(clock.now())
        if self.locked_until is not None and now >= self.locked_until:
            # The lock served its time: a fresh set of tries, but the code has expired by now
            # (the lock is longer than the code's life), so a resend is needed anyway.
            self.locked_until = None
            self.failed_attempts = 0
        if self.locked_until is not None:
            return VerifyOutcome(VerifyResult.LOCKED, 0, self.locked_until)
        left = policy.max_attempts - self.failed_attempts
        if self.verified_at is not None:
            return VerifyOutcome(VerifyResult.ALREADY_USED, left)
        if now >= self.expires_at:
            return VerifyOutcome(VerifyResult.EXPIRED, left)
        if code_matches(key, self.id, code, self.code_hash):
            self.verified_at = now
            return VerifyOutcome(VerifyResult.VERIFIED, left)
        self.failed_attempts += 1
        left -= 1
        if left <= 0:
            self.locked_until = now + policy.lockout
            return VerifyOutcome(VerifyResult.LOCKED, 0, self.locked_until)
        return VerifyOutcome(VerifyResult.WRONG_CODE, left)

    def _check_not_locked(self, now: datetime) -> None:
        if self.locked_until is not None and now < self.locked_until:
            raise ChallengeLockedError(
                "too many wrong codes", retry_after=_seconds(self.locked_until - now)
            )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (holds the hash, never a code)."""
        return {
            "id": self.id,
            "channel": self.channel.value,
            "code_hash": self.code_hash,
            "expires_at": self.expires_at.isoformat(),
            "failed_attempts": self.failed_attempts,
            "locked_until": self.locked_until.isoformat() if self.locked_until else None,
            "verified_at": self.verified_at.isoformat() if self.verified_at else None,
            "sends": [s.isoformat() for s in self.sends],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Challenge:
        """The inverse of :meth:`to_dict`."""
        locked, verified = data.get("locked_until"), data.get("verified_at")
        return cls(
            id=data["id"],
            channel=Channel(data["channel"]),
            code_hash=data["code_hash"],
            expires_at=datetime.fromisoformat(data["expires_at"]),
            failed_attempts=int(data.get("failed_attempts", 0)),
            locked_until=datetime.fromisoformat(locked) if locked else None,
            verified_at=datetime.fromisoformat(verified) if verified else None,
            sends=[datetime.fromisoformat(s) for s in data.get("sends", ())],
        )


def _seconds(delta: timedelta) -> int:
    # Rounded up, so a client that waits exactly this long is never refused again.
    return max(0, -int(-delta.total_seconds() // 1))
