"""Verification through the service: brute force, enumeration, resend flooding, nothing in clear."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text

from exitright.clock import FixedClock
from exitright.errors import ErrorCode, ExitRightError
from exitright.identity.identifiers import parse_identifier
from exitright.identity.models import IdentityChallenge
from exitright.identity.otp import Channel
from exitright.identity.providers import ConsoleProvider, OutgoingCode
from exitright.identity.recycled import RecycledGuard
from exitright.identity.service import (
    CheckStatus,
    IdentityService,
    Purpose,
    Started,
    ThreadDispatcher,
)

from .conftest import CODE_KEY, ID_KEY, T0
from .fakes import FakeDirectory, FakeRequests

PHONE = "13812345678"
OTHER = "13987654321"


def _code(console: ConsoleProvider) -> str:
    """The last code the console provider delivered."""
    return console.recent()[0].code


def _wrong(code: str) -> str:
    """A code that is not ``code``."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _shape(started: Started) -> dict[str, object]:
    """What a requester sees, minus the fresh challenge id."""
    return {k: v for k, v in dataclasses.asdict(started).items() if k != "challenge_id"}


def test_a_right_code_opens_the_registered_account(
    service: IdentityService, directory: FakeDirectory, console: ConsoleProvider
) -> None:
    """Phone sign-in: the code goes to the number and opens its account."""
    directory.add("user:1", T0 - timedelta(days=3), phone=PHONE)
    started = service.start(Purpose.SIGN_IN, "phone", "+86 138-1234-5678")
    assert started.sent_to == "138****5678"
    checked = service.check(started.challenge_id, PHONE, _code(console))
    assert checked.status is CheckStatus.VERIFIED
    assert checked.account_ref == "user:1"
    assert directory.proofs == [("user:1", "phone", T0)]


def test_five_wrong_codes_lock_the_challenge_for_fifteen_minutes(
    service: IdentityService,
    directory: FakeDirectory,
    console: ConsoleProvider,
    clock: FixedClock,
) -> None:
    """After the fifth wrong code even the right one is refused until the lock ends."""
    directory.add("user:1", T0, phone=PHONE)
    started = service.start(Purpose.SIGN_IN, "phone", PHONE)
    right = _code(console)
    results = [service.check(started.challenge_id, PHONE, _wrong(right)) for _ in range(5)]
    assert [r.attempts_left for r in results] == [4, 3, 2, 1, 0]
    assert results[-1].status is CheckStatus.LOCKED
    assert results[-1].locked_until == T0 + timedelta(minutes=15)
    assert service.check(started.challenge_id, PHONE, right).status is CheckStatus.LOCKED
    clock.advance(timedelta(minutes=14, seconds=59))
    assert service.check(started.challenge_id, PHONE, right).status is CheckStatus.LOCKED
    with pytest.raises(ExitRightError) as locked:
        service.resend(started.challenge_id, PHONE)
    assert locked.value.code is ErrorCode.RATE_LIMITED


def test_the_lock_survives_a_new_service_instance(
    service: IdentityService,
    engine: Engine,
    directory: FakeDirectory,
    console: ConsoleProvider,
    clock: FixedClock,
) -> None:
    """Tries are counted in the database, not in memory: another process sees the lock."""
    directory.add("user:1", T0, phone=PHONE)
    started = service.start(Purpose.SIGN_IN, "phone", PHONE)
    right = _code(console)
    for _ in range(5):
        service.check(started.challenge_id, PHONE, _wrong(right))
    other = IdentityService(
        engine, clock, code_key=CODE_KEY, identifier_key=ID_KEY,
        senders={Channel.SMS: console}, directory=directory,
    )  # fmt: skip
    assert other.check(started.challenge_id, PHONE, right).status is CheckStatus.LOCKED


def test_after_the_lock_a_resend_gives_a_fresh_set_of_tries(
    service: IdentityService,
    directory: FakeDirectory,
    console: ConsoleProvider,
    clock: FixedClock,
) -> None:
    """Fifteen minutes later the old code has expired; a new one works."""
    directory.add("user:1", T0, phone=PHONE)
    started = service.start(Purpose.SIGN_IN, "phone", PHONE)
    for _ in range(5):
        service.check(started.challenge_id, PHONE, _wrong(_code(console)))
    clock.advance(timedelta(minutes=15))
    service.resend(started.challenge_id, PHONE)
    assert service.check(started.challenge_id, PHONE, _code(console)).ok


def test_a_code_expires_after_five_minutes(
    service: IdentityService,
    directory: FakeDirectory,
    console: ConsoleProvider,
    clock: FixedClock,
) -> None:
    """At five minutes the right code no longer works."""
    directory.add("user:1", T0, phone=PHONE)
    started = service.start(Purpose.SIGN_IN, "phone", PHONE)
    clock.advance(timedelta(minutes=5))
    assert service.check(started.challenge_id, PHONE, _code(console)).status is CheckStatus.EXPIRED


def test_a_code_works_once(
    service: IdentityService, directory: FakeDirectory, console: ConsoleProvider
) -> None:
    """A used code cannot be replayed."""
    directory.add("user:1", T0, phone=PHONE)
    started = service.start(Purpose.SIGN_IN, "phone", PHONE)
    code = _code(console)
    assert service.check(started.challenge_id, PHONE, code).ok
    again = service.check(started.challenge_id, PHONE, code)
    assert again.status is CheckStatus.ALREADY_USED


def test_a_challenge_only_answers_for_its_own_identifier(
    service: IdentityService, directory: FakeDirectory, console: ConsoleProvider
) -> None:
    """Someone holding another number's challenge id cannot check codes against it."""
    directory.add("user:1", T0, phone=PHONE)
    started = service.start(Purpose.SIGN_IN, "phone", PHONE)
    with pytest.raises(ExitRightError) as exc:
        service.check(started.challenge_id, OTHER, _code(console))
    assert exc.value.code is ErrorCode.NOT_FOUND


def test_known_and_unknown_identifiers_get_identical_answers(
    service: IdentityService,
    directory: FakeDirectory,
    requests_link: FakeRequests,
    console: ConsoleProvider,
) -> None:
    """For a request, an identifier without an account gets the same answer; nothing is sent."""
    directory.add("user:1", T0, phone=PHONE)
    requests_link.named = {"req_a": f"phone:+86{PHONE}", "req_b": f"phone:+86{OTHER}"}
    known = service.start(Purpose.REQUEST, "phone", PHONE, request_id="req_a")
    unknown = service.start(Purpose.REQUEST, "phone", OTHER, request_id="req_b")
    assert _shape(known) == {**_shape(unknown), "sent_to": "138****5678"}
    assert len(known.challenge_id) == len(unknown.challenge_id)
    assert [s.to for s in console.recent()] == ["138****5678"]


def test_checking_an_unknown_identifier_fails_like_a_wrong_code(
    service: IdentityService, requests_link: FakeRequests
) -> None:
    """Guessing against an identifier without an account counts tries and locks the same way."""
    requests_link.named = {"req_b": f"phone:+86{OTHER}"}
    started = service.start(Purpose.REQUEST, "phone", OTHER, request_id="req_b")
    results = [service.check(started.challenge_id, OTHER, f"{i:06d}") for i in range(5)]
    assert [r.status for r in results] == [CheckStatus.WRONG_CODE] * 4 + [CheckStatus.LOCKED]


def test_a_request_code_goes_only_to_the_identifier_the_request_names(
    service: IdentityService,
    directory: FakeDirectory,
    requests_link: FakeRequests,
    console: ConsoleProvider,
) -> None:
    """Someone cannot verify a request for another's account with their own phone."""
    directory.add("user:1", T0, phone=PHONE)
    directory.add("user:2", T0, phone=OTHER)
    requests_link.named = {"req_a": f"phone:+86{PHONE}"}
    started = service.start(Purpose.REQUEST, "phone", OTHER, request_id="req_a")
    assert console.recent() == []
    for i in range(5):
        assert not service.check(started.challenge_id, OTHER, f"{i:06d}").ok
    assert requests_link.verified == []


def test_a_right_request_code_marks_the_request_verified(
    service: IdentityService,
    directory: FakeDirectory,
    requests_link: FakeRequests,
    console: ConsoleProvider,
) -> None:
    """The request workflow hears of the verification once."""
    directory.add("user:1", T0, phone=PHONE)
    requests_link.named = {"req_a": f"phone:+86{PHONE}"}
    started = service.start(Purpose.REQUEST, "phone", PHONE, request_id="req_a")
    checked = service.check(started.challenge_id, PHONE, _code(console))
    assert checked.request_verified and checked.request_id == "req_a"
    assert requests_link.verified == ["req_a"]


def test_resend_limits_hold_across_new_challenges(
    service: IdentityService,
    directory: FakeDirectory,
    console: ConsoleProvider,
    clock: FixedClock,
) -> None:
    """Opening a new challenge does not reset the per-number spacing or the hourly cap."""
    directory.add("user:1", T0, phone=PHONE)
    service.start(Purpose.SIGN_IN, "phone", PHONE)
    with pytest.raises(ExitRightError) as soon:
        service.start(Purpose.SIGN_IN, "phone", PHONE)
    assert soon.value.code is ErrorCode.RATE_LIMITED
    assert soon.value.details["retry_after"] == 60
    for _ in range(4):
        clock.advance(timedelta(seconds=61))
        service.start(Purpose.SIGN_IN, "phone", "+86 " + PHONE)
    clock.advance(timedelta(seconds=61))
    with pytest.raises(ExitRightError) as capped:
        service.start(Purpose.SIGN_IN, "phone", PHONE)
    assert capped.value.details["retry_after"] > 60 * 50
    assert len(console.recent()) == 5
    clock.set(T0 + timedelta(hours=1, seconds=1))
    service.start(Purpose.SIGN_IN, "phone", PHONE)


def test_resends_count_against_the_same_per_number_limit(
    service: IdentityService,
    directory: FakeDirectory,
    clock: FixedClock,
) -> None:
    """Resending on one challenge and starting another share one budget."""
    directory.add("user:1", T0, phone=PHONE)
    started = service.start(Purpose.SIGN_IN, "phone", PHONE)
    for _ in range(4):
        clock.advance(timedelta(seconds=61))
        service.resend(started.challenge_id, PHONE)
    clock.advance(timedelta(seconds=61))
    with pytest.raises(ExitRightError):
        service.start(Purpose.SIGN_IN, "phone", PHONE)


def test_unknown_identifiers_are_rate_limited_exactly_like_known_ones(
    service: IdentityService, directory: FakeDirectory, requests_link: FakeRequests
) -> None:
    """A flood of requests for an unknown number is refused at the same point."""
    directory.add("user:1", T0, phone=PHONE)
    requests_link.named = {"req_a": f"phone:+86{PHONE}", "req_b": f"phone:+86{OTHER}"}
    outcomes = []
    for phone, req in ((PHONE, "req_a"), (OTHER, "req_b")):
        service.start(Purpose.REQUEST, "phone", phone, request_id=req)
        with pytest.raises(ExitRightError) as exc:
            service.start(Purpose.REQUEST, "phone", phone, request_id=req)
        outcomes.append((exc.value.code, exc.value.details))
    assert outcomes[0] == outcomes[1]


def test_codes_and_numbers_are_never_stored_in_clear(
    service: IdentityService,
    engine: Engine,
    directory: FakeDirectory,
    console: ConsoleProvider,
    guard: RecycledGuard,
    clock: FixedClock,
) -> None:
    """Every identity table, every column: no code, no phone number, no e-mail in plain text."""
    directory.add("user:1", T0 - timedelta(days=300), phone=PHONE, email="Ann@Example.cn")
    codes = []
    for value, factor in ((PHONE, "phone"), ("ann@example.cn", "email"), (OTHER, "phone")):
        started = service.start(Purpose.SIGN_IN, factor, value)
        codes.append(_code(console))
        service.check(started.challenge_id, value, _wrong(codes[-1]))
    guard.mark_recycled(parse_identifier("phone", PHONE), (T0 - timedelta(days=10)).date())
    clock.advance(timedelta(minutes=2))
    started = service.start(Purpose.SIGN_IN, "phone", PHONE)
    codes.append(_code(console))
    assert service.check(started.challenge_id, PHONE, codes[-1]).status is CheckStatus.CHANGED_HANDS
    dump: list[str] = []
    with engine.connect() as conn:
        for table in (
            "identity_challenges", "identity_sends", "identity_recycled_marks",
            "identity_account_freezes", "ledger_entries",
        ):  # fmt: skip
            rows = conn.execute(text(f"SELECT * FROM {table}")).all()
            assert rows, table
            dump.extend(str(tuple(r)) for r in rows)
    blob = "\n".join(dump)
    for secret in [*codes, PHONE, OTHER, "ann@example.cn", "Ann@Example.cn"]:
        assert secret not in blob


def test_slow_delivery_does_not_make_known_identifiers_answer_slower(
    engine: Engine,
    clock: FixedClock,
    directory: FakeDirectory,
    requests_link: FakeRequests,
) -> None:
    """With the background dispatcher, a one-second gateway does not show in the answer time."""

    class SlowGateway:
        def __init__(self) -> None:
            self.sent: list[OutgoingCode] = []

        def send(self, message: OutgoingCode) -> None:
            time.sleep(1.0)
            self.sent.append(message)

    gateway = SlowGateway()
    dispatcher = ThreadDispatcher()
    service = IdentityService(
        engine, clock, code_key=CODE_KEY, identifier_key=ID_KEY,
        senders={Channel.SMS: gateway}, directory=directory, requests=requests_link,
        dispatcher=dispatcher,
    )  # fmt: skip
    directory.add("user:1", T0, phone=PHONE)
    requests_link.named = {"req_a": f"phone:+86{PHONE}", "req_b": f"phone:+86{OTHER}"}
    timings = []
    for phone, req in ((PHONE, "req_a"), (OTHER, "req_b")):
        began = time.perf_counter()
        service.start(Purpose.REQUEST, "phone", phone, request_id=req)
        timings.append(time.perf_counter() - began)
    dispatcher.shutdown()
    assert max(timings) < 0.5
    assert len(gateway.sent) == 1


def test_malformed_identifiers_are_refused_before_anything_is_looked_up(
    service: IdentityService,
) -> None:
    """Bad input is a 422 that depends only on the text, never on accounts."""
    with pytest.raises(ExitRightError) as exc:
        service.start(Purpose.SIGN_IN, "phone", "12345")
    assert exc.value.message_id == "identity.error.invalid_phone"
    with pytest.raises(ExitRightError):
        service.start(Purpose.SIGN_IN, "email", "not-an-address")


def test_a_challenge_row_keeps_the_send_times(
    service: IdentityService, engine: Engine, directory: FakeDirectory, clock: FixedClock
) -> None:
    """Resends are recorded on the challenge too (the policy's per-challenge limit)."""
    directory.add("user:1", T0, phone=PHONE)
    started = service.start(Purpose.SIGN_IN, "phone", PHONE)
    clock.advance(timedelta(seconds=61))
    again = service.resend(started.challenge_id, PHONE)
    assert again.challenge_id == started.challenge_id
    with engine.connect() as conn:
        sends = conn.execute(select(IdentityChallenge.sends)).scalar_one()
    assert len(sends) == 2
