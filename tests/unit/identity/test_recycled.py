"""The recycled-number guard: the decision, marks, look-ups, freezes and the whole story."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from exitright.clock import FixedClock
from exitright.identity.identifiers import parse_identifier
from exitright.identity.lookup import LookupAnswer
from exitright.identity.otp import Factor
from exitright.identity.providers import ConsoleProvider
from exitright.identity.recycled import (
    Decision,
    Mark,
    RecycledGuard,
    Source,
    Verdict,
    decide,
)
from exitright.identity.service import CheckStatus, IdentityService, Purpose
from exitright.ledger.models import LedgerEntry

from .conftest import ID_KEY, T0
from .fakes import FakeDirectory, FakeRequests, ScriptedLookup

PHONE = "13812345678"
NUMBER = parse_identifier("phone", PHONE)
D = date(2025, 11, 1)  # the day the old owner last verified
VERIFIED_AT = datetime(2025, 11, 1, 3, 0, tzinfo=UTC)  # 11:00 China time


def _mark(day: date, source: Source = Source.OPERATOR) -> Mark:
    """A mark on ``day``."""
    return Mark("rm_x", day, source)


def test_a_number_recycled_after_the_last_verification_changed_hands() -> None:
    """Verified on D, recycled on D+100: the code proves nothing about the old account."""
    decision = decide([_mark(D + timedelta(days=100))], VERIFIED_AT, T0)
    assert decision.verdict is Verdict.CHANGED_HANDS
    assert decision.freeze_old_account and decision.offer_fresh_account
    assert not decision.opens_old_account
    assert decision.recycled_on == D + timedelta(days=100)


def test_a_mark_before_the_last_verification_does_not_count() -> None:
    """The account proved the number after it changed hands: it is the new holder's account."""
    assert decide([_mark(D - timedelta(days=1))], VERIFIED_AT, T0).opens_old_account
    # A verification on the day of recycling was already the new holder's.
    assert decide([_mark(D)], VERIFIED_AT, T0).opens_old_account


def test_a_mark_announced_for_the_future_takes_effect_on_its_day() -> None:
    """Carriers notify ahead of reissue; until the day comes the owner still holds the number."""
    later = T0.date() + timedelta(days=5)
    assert decide([_mark(later)], VERIFIED_AT, T0).opens_old_account
    on_the_day = datetime.combine(later, datetime.min.time(), UTC)
    assert decide([_mark(later)], VERIFIED_AT, on_the_day).freeze_old_account


def test_the_first_change_of_hands_is_reported() -> None:
    """With several marks after the verification, the earliest is the one that matters."""
    marks = [_mark(D + timedelta(days=200)), _mark(D + timedelta(days=100), Source.LOOKUP)]
    decision = decide(marks, VERIFIED_AT, T0)
    assert decision.recycled_on == D + timedelta(days=100)
    assert decision.source is Source.LOOKUP


@given(
    st.lists(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)), max_size=5),
    st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
)
def test_the_decision_is_changed_hands_exactly_when_a_counted_mark_exists(
    days: list[date], verified: datetime
) -> None:
    """For any marks and any verification time, the verdict matches the rule."""
    verified_at = verified.replace(tzinfo=UTC)
    decision = decide([_mark(d) for d in days], verified_at, T0)
    china = timedelta(hours=8)
    expected = any(
        verified_at < datetime.combine(d, datetime.min.time(), UTC) - china <= T0 for d in days
    )
    assert decision.freeze_old_account is expected


def test_marks_are_idempotent_and_recorded_in_the_ledger(
    guard: RecycledGuard, engine: Engine
) -> None:
    """The same mark twice is one mark and one pseudonymous ledger entry."""
    first = guard.mark_recycled(NUMBER, D, Source.OPERATOR, reference="ticket-7")
    again = guard.mark_recycled(parse_identifier("phone", "+86 138 1234 5678"), D)
    assert first == again
    assert guard.marks(NUMBER) == [first]
    with engine.connect() as conn:
        entries = conn.execute(select(LedgerEntry)).all()
    assert [e.event for e in entries] == ["identity.identifier_recycled"]
    assert entries[0].subject.startswith("idr_")
    assert PHONE not in str(tuple(entries[0]))


def test_a_lookup_is_asked_from_the_day_of_the_last_verification(
    engine: Engine, clock: FixedClock
) -> None:
    """No local mark: the carrier is asked "since D" and a yes is kept as a lookup mark."""
    lookup = ScriptedLookup(LookupAnswer.RECYCLED)
    guard = RecycledGuard(engine, clock, ID_KEY, lookup)
    decision = guard.guard(NUMBER, VERIFIED_AT)
    assert lookup.asked == [("+8613812345678", D)]
    assert decision.freeze_old_account and decision.lookup is LookupAnswer.RECYCLED
    assert [(m.recycled_on, m.source) for m in guard.marks(NUMBER)] == [
        (D + timedelta(days=1), Source.LOOKUP)
    ]
    # The new holder's fresh account, verified today, is not frozen by that mark, and a "yes"
    # about today cannot be placed on any day yet, so it is not kept.
    assert guard.guard(NUMBER, T0).opens_old_account
    assert len(guard.marks(NUMBER)) == 1


@pytest.mark.parametrize("answer", [LookupAnswer.NOT_RECYCLED, LookupAnswer.UNKNOWN])
def test_a_lookup_without_a_yes_opens_the_account(
    engine: Engine, clock: FixedClock, answer: LookupAnswer
) -> None:
    """ "Not recycled" and "unknown" are no evidence of a change of hands."""
    guard = RecycledGuard(engine, clock, ID_KEY, ScriptedLookup(answer))
    decision = guard.guard(NUMBER, VERIFIED_AT)
    assert decision == Decision(Verdict.OPEN_ACCOUNT, lookup=answer)
    assert guard.marks(NUMBER) == []


def test_status_answers_for_other_platforms(guard: RecycledGuard) -> None:
    """Recycled since a day: true after a later mark, false before it, with the day."""
    guard.mark_recycled(NUMBER, D + timedelta(days=100))
    found = guard.status(NUMBER, D)
    assert found.recycled is True and found.recycled_on == D + timedelta(days=100)
    assert guard.status(NUMBER, D + timedelta(days=100)).recycled is False
    assert guard.status(parse_identifier("phone", "13900000000"), D).recycled is False


def test_status_is_unknown_when_the_lookup_cannot_tell(engine: Engine, clock: FixedClock) -> None:
    """Without a mark, the look-up's "unknown" is reported as null, not as "no"."""
    guard = RecycledGuard(engine, clock, ID_KEY, ScriptedLookup(LookupAnswer.UNKNOWN))
    found = guard.status(NUMBER, D)
    assert found.recycled is None and found.checked == ("marks", "lookup")


def test_freeze_and_lift_are_recorded(guard: RecycledGuard, engine: Engine) -> None:
    """Freezing twice is one freeze; lifting it through e-mail is recorded too."""
    decision = Decision(Verdict.CHANGED_HANDS, D + timedelta(days=100), Source.OPERATOR)
    first = guard.freeze("user:1", NUMBER, decision)
    assert guard.freeze("user:1", NUMBER, decision) == first
    assert guard.frozen("user:1") == first
    lifted = guard.lift("user:1", Factor.EMAIL)
    assert lifted is not None and lifted.lifted_via == "email"
    assert guard.frozen("user:1") is None
    with engine.connect() as conn:
        events = conn.execute(select(LedgerEntry.event)).scalars().all()
    assert events == ["identity.account_frozen", "identity.account_recovered"]
    with pytest.raises(ValueError, match="changed_hands"):
        guard.freeze("user:1", NUMBER, Decision(Verdict.OPEN_ACCOUNT))


def test_the_recycled_story_at_library_level(
    service: IdentityService,
    directory: FakeDirectory,
    guard: RecycledGuard,
    console: ConsoleProvider,
    clock: FixedClock,
    requests_link: FakeRequests,
) -> None:
    """Verified on D; recycled on D+100; a code to the number no longer opens the old account.

    The new holder is told the number changed hands and signs up afresh; the old account is
    frozen, a request for it cannot be verified with the number, and its owner recovers it by
    e-mail.
    """
    clock.set(datetime(2025, 11, 1, 3, 0, tzinfo=UTC))
    directory.add("user:1", clock.now(), phone=PHONE, email="owner@example.cn")
    started = service.start(Purpose.SIGN_IN, "phone", PHONE)
    assert service.check(started.challenge_id, PHONE, console.recent()[0].code).account_ref == (
        "user:1"
    )

    guard.mark_recycled(NUMBER, D + timedelta(days=100), Source.CARRIER_FILE)
    clock.set(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    started = service.start(Purpose.SIGN_IN, "phone", PHONE)
    checked = service.check(started.challenge_id, PHONE, console.recent()[0].code)
    assert checked.status is CheckStatus.CHANGED_HANDS
    assert checked.account_ref is None
    assert checked.frozen_account_ref == "user:1"
    assert checked.message_id == "identity.recycled.changed_hands"
    assert guard.frozen("user:1") is not None

    # The new holder cannot verify a cancellation or an export of the old account either.
    requests_link.named = {"req_a": f"phone:+86{PHONE}"}
    clock.advance(timedelta(minutes=2))
    started = service.start(Purpose.REQUEST, "phone", PHONE, request_id="req_a")
    checked = service.check(started.challenge_id, PHONE, console.recent()[0].code)
    assert checked.status is CheckStatus.CHANGED_HANDS
    assert requests_link.verified == []

    # The old owner proves the e-mail they registered: the freeze lifts.
    started = service.start(Purpose.SIGN_IN, "email", "owner@example.cn")
    checked = service.check(started.challenge_id, "owner@example.cn", console.recent()[0].code)
    assert checked.status is CheckStatus.VERIFIED
    assert checked.account_ref == "user:1" and checked.recovered
    assert guard.frozen("user:1") is None
