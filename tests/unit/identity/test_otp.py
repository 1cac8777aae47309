"""One-time codes: hashing at rest, expiry, lock-out, resend limits and registered channels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exitright.clock import FixedClock
from exitright.errors import ErrorCode
from exitright.identity.otp import (
    Challenge,
    ChallengeClosedError,
    ChallengeLockedError,
    Channel,
    ChannelNotAllowedError,
    Factor,
    OtpPolicy,
    SendTooSoonError,
    VerifyResult,
    allowed_channels,
    choose_channel,
    code_matches,
    generate_code,
    hash_code,
    next_send_allowed_at,
)

KEY = b"k" * 32
T0 = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)


def _issue() -> tuple[Challenge, str, FixedClock]:
    """A fresh challenge, its code and the clock it was issued on."""
    clock = FixedClock(T0)
    challenge, code = Challenge.issue("ch-1", Channel.SMS, KEY, clock)
    return challenge, code, clock


def _wrong(code: str) -> str:
    """A code that differs from ``code``."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_codes_are_six_random_digits() -> None:
    """Default codes are six digits, leading zeros kept."""
    codes = {generate_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150


def test_only_a_keyed_hash_bound_to_the_challenge_is_stored() -> None:
    """The stored form reveals nothing without the key and cannot be reused on another challenge."""
    challenge, code, _ = _issue()
    assert code not in str(challenge.to_dict())
    assert challenge.code_hash == hash_code(KEY, "ch-1", code)
    assert not code_matches(KEY, "ch-2", code, challenge.code_hash)
    assert not code_matches(b"x" * 32, "ch-1", code, challenge.code_hash)


def test_a_short_key_is_refused() -> None:
    """An HMAC key of a few bytes would make the hashes guessable offline."""
    with pytest.raises(ValueError, match="at least 16 bytes"):
        hash_code(b"short", "ch", "123456")


def test_the_right_code_verifies_once() -> None:
    """A verified challenge cannot be used again."""
    challenge, code, clock = _issue()
    assert challenge.verify(code, KEY, clock).ok
    assert challenge.verify(code, KEY, clock).result is VerifyResult.ALREADY_USED


def test_a_code_expires_after_five_minutes() -> None:
    """At 4:59 it works, at 5:00 it has expired."""
    challenge, code, clock = _issue()
    clock.advance(timedelta(minutes=5))
    assert challenge.verify(code, KEY, clock).result is VerifyResult.EXPIRED
    challenge, code, clock = _issue()
    clock.advance(timedelta(minutes=4, seconds=59))
    assert challenge.verify(code, KEY, clock).ok


def test_five_wrong_codes_lock_the_challenge_for_fifteen_minutes() -> None:
    """Even the right code is refused while locked; the lock lifts after 15 minutes."""
    challenge, code, clock = _issue()
    outcomes = [challenge.verify(_wrong(code), KEY, clock) for _ in range(5)]
    assert [o.attempts_left for o in outcomes] == [4, 3, 2, 1, 0]
    assert outcomes[-1].result is VerifyResult.LOCKED
    assert outcomes[-1].locked_until == T0 + timedelta(minutes=15)
    assert challenge.verify(code, KEY, clock).result is VerifyResult.LOCKED
    with pytest.raises(ChallengeLockedError) as caught:
        challenge.resend(KEY, clock)
    assert caught.value.params["retry_after"] == 15 * 60
    assert caught.value.to_exitright_error().code is ErrorCode.RATE_LIMITED
    clock.advance(timedelta(minutes=15))
    fresh = challenge.resend(KEY, clock)
    assert challenge.verify(fresh, KEY, clock).ok


def test_a_resend_does_not_forgive_wrong_tries() -> None:
    """Otherwise every resend would buy five more guesses."""
    challenge, code, clock = _issue()
    for _ in range(4):
        challenge.verify(_wrong(code), KEY, clock)
    clock.advance(timedelta(seconds=60))
    new_code = challenge.resend(KEY, clock)
    outcome = challenge.verify(_wrong(new_code), KEY, clock)
    assert outcome.result is VerifyResult.LOCKED


def test_a_resend_replaces_the_code() -> None:
    """The old code stops working once a new one was sent."""
    challenge, code, clock = _issue()
    clock.advance(timedelta(seconds=60))
    new_code = challenge.resend(KEY, clock)
    if new_code != code:
        assert challenge.verify(code, KEY, clock).result is VerifyResult.WRONG_CODE
    assert challenge.verify(new_code, KEY, clock).ok


def test_resends_wait_sixty_seconds() -> None:
    """59 seconds after a send, another is refused with the wait in seconds."""
    challenge, _, clock = _issue()
    clock.advance(timedelta(seconds=59))
    with pytest.raises(SendTooSoonError) as caught:
        challenge.resend(KEY, clock)
    assert caught.value.params["retry_after"] == 1
    clock.advance(timedelta(seconds=1))
    challenge.resend(KEY, clock)


def test_sends_are_capped_per_hour() -> None:
    """Five sends an hour; the sixth waits until the first leaves the window."""
    challenge, _, clock = _issue()
    for _ in range(4):
        clock.advance(timedelta(minutes=2))
        challenge.resend(KEY, clock)
    clock.advance(timedelta(minutes=2))
    with pytest.raises(SendTooSoonError) as caught:
        challenge.resend(KEY, clock)
    assert caught.value.params["retry_after"] == (60 - 10) * 60
    clock.set(T0 + timedelta(hours=1))
    challenge.resend(KEY, clock)


def test_new_challenges_for_the_same_identifier_share_the_limit() -> None:
    """Opening a fresh challenge does not get around the resend interval."""
    clock = FixedClock(T0)
    with pytest.raises(SendTooSoonError):
        Challenge.issue(
            "ch-2", Channel.SMS, KEY, clock, previous_sends=[T0 - timedelta(seconds=10)]
        )


@given(
    st.lists(st.integers(min_value=0, max_value=7200), max_size=12),
    st.integers(min_value=0, max_value=7200),
)
def test_the_send_limit_never_allows_more_than_the_policy(
    offsets: list[int], now_offset: int
) -> None:
    """A send allowed now means fewer than five in the last hour and none in the last minute."""
    policy = OtpPolicy()
    sends = [T0 + timedelta(seconds=s) for s in offsets]
    now = T0 + timedelta(seconds=now_offset)
    wait = next_send_allowed_at(sends, now, policy)
    recent = [s for s in sends if now - timedelta(hours=1) < s <= now]
    if wait is None:
        assert len(recent) < policy.max_sends_per_hour
        assert all(now - s >= policy.resend_interval for s in recent)
    else:
        assert wait > now


def test_a_challenge_survives_a_round_trip_through_its_dict() -> None:
    """What the store holds restores an equal challenge."""
    challenge, code, clock = _issue()
    challenge.verify(_wrong(code), KEY, clock)
    assert Challenge.from_dict(challenge.to_dict()) == challenge


def test_channels_are_only_those_registered() -> None:
    """A phone-only account gets SMS only; nothing beyond registration is ever asked."""
    assert allowed_channels({Factor.PHONE}) == {Channel.SMS}
    assert allowed_channels({"email", "password", "wechat"}) == {Channel.EMAIL}
    assert allowed_channels({"phone", "email"}) == {Channel.SMS, Channel.EMAIL}
    assert allowed_channels(set()) == set()


def test_a_recycled_phone_number_is_not_offered() -> None:
    """A number the carrier reassigned cannot carry a code for the old account."""
    assert allowed_channels({"phone", "email"}, unusable={"phone"}) == {Channel.EMAIL}
    with pytest.raises(ChannelNotAllowedError):
        choose_channel("sms", {"phone", "email"}, unusable={Factor.PHONE})


def test_asking_for_an_unregistered_channel_is_refused() -> None:
    """An e-mail-only account cannot be made to give a phone number."""
    assert choose_channel("email", {"email"}) is Channel.EMAIL
    with pytest.raises(ChannelNotAllowedError) as caught:
        choose_channel("sms", {"email"})
    assert caught.value.to_exitright_error().code is ErrorCode.INVALID_REQUEST
    with pytest.raises(ChannelNotAllowedError):
        choose_channel("carrier_pigeon", {"email"})


def test_a_policy_with_short_codes_is_refused() -> None:
    """Four-digit codes fall to five guesses too often."""
    with pytest.raises(ValueError, match="6 to 10"):
        OtpPolicy(code_length=4)


def test_a_verified_challenge_cannot_be_resent() -> None:
    """Proving control again needs a new challenge."""
    challenge, code, clock = _issue()
    challenge.verify(code, KEY, clock)
    clock.advance(timedelta(minutes=2))
    with pytest.raises(ChallengeClosedError):
        challenge.resend(KEY, clock)


def test_a_lockout_shorter_than_a_codes_life_is_refused() -> None:
    """Otherwise the same code would get five fresh tries when the lock lifts."""
    with pytest.raises(ValueError, match="lockout"):
        OtpPolicy(ttl=timedelta(minutes=10), lockout=timedelta(minutes=5))
