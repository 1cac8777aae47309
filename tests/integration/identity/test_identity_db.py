"""Verification and the recycled-number guard on the migrated engine database (SQLite, PG)."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text

from exitright.clock import FixedClock
from exitright.errors import ExitRightError
from exitright.identity.identifiers import parse_identifier
from exitright.identity.otp import Channel
from exitright.identity.providers import ConsoleProvider
from exitright.identity.recycled import RecycledGuard, Source
from exitright.identity.service import CheckStatus, IdentityService, Purpose, purge_expired
from exitright.ledger.service import verify_ledger
from tests.unit.identity.fakes import FakeDirectory, FakeRequests

KEY_C, KEY_I = b"c" * 32, b"i" * 32
PHONE = "13812345678"
T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def _service(
    engine: Engine, clock: FixedClock, console: ConsoleProvider, directory: FakeDirectory
) -> tuple[IdentityService, RecycledGuard, FakeRequests]:
    """A service, its guard and a request link on ``engine``."""
    guard = RecycledGuard(engine, clock, KEY_I)
    link = FakeRequests()
    service = IdentityService(
        engine, clock, code_key=KEY_C, identifier_key=KEY_I,
        senders={Channel.SMS: console, Channel.EMAIL: console},
        directory=directory, guard=guard, requests=link,
    )  # fmt: skip
    return service, guard, link


def test_concurrent_guesses_never_get_more_than_five_tries(engine: Engine) -> None:
    """Twenty guesses at once: exactly five are counted, the rest find the challenge locked."""
    clock, console, directory = FixedClock(T0), ConsoleProvider(), FakeDirectory()
    directory.add("user:1", T0, phone=PHONE)
    service, _, _ = _service(engine, clock, console, directory)
    started = service.start(Purpose.SIGN_IN, "phone", PHONE)
    right = console.recent()[0].code
    wrong = [f"{(int(right) + i) % 1_000_000:06d}" for i in range(1, 21)]
    results: list[CheckStatus] = []
    lock = threading.Lock()

    def guess(code: str) -> None:
        outcome = service.check(started.challenge_id, PHONE, code)
        with lock:
            results.append(outcome.status)

    threads = [threading.Thread(target=guess, args=(c,)) for c in wrong]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(CheckStatus.WRONG_CODE) == 4
    assert results.count(CheckStatus.LOCKED) == 16
    assert service.check(started.challenge_id, PHONE, right).status is CheckStatus.LOCKED


def test_concurrent_starts_cannot_pass_the_rate_limit_together(engine: Engine) -> None:
    """Ten starts for one number at the same instant: one code goes out, nine are refused."""
    clock, console, directory = FixedClock(T0), ConsoleProvider(), FakeDirectory()
    directory.add("user:1", T0, phone=PHONE)
    service, _, _ = _service(engine, clock, console, directory)
    refused: list[ExitRightError] = []
    lock = threading.Lock()

    def start() -> None:
        try:
            service.start(Purpose.SIGN_IN, "phone", PHONE)
        except ExitRightError as exc:
            with lock:
                refused.append(exc)

    threads = [threading.Thread(target=start) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(refused) == 9
    assert len(console.recent()) == 1


def test_the_recycled_story_on_the_engine_database(engine: Engine, tmp_path: Path) -> None:
    """Verified on D; a carrier file says recycled on D+100; the code opens nothing old."""
    clock, console, directory = FixedClock(T0), ConsoleProvider(), FakeDirectory()
    verified = datetime(2025, 11, 1, 3, 0, tzinfo=UTC)
    directory.add("user:1", verified, phone=PHONE, email="owner@example.cn")
    service, guard, _ = _service(engine, clock, console, directory)
    carrier = tmp_path / "carrier.csv"
    carrier.write_text(f"number,recycled_on\n{PHONE},{date(2025, 11, 1) + timedelta(days=100)}\n")
    assert guard.import_carrier_file(carrier).imported == 1

    started = service.start(Purpose.SIGN_IN, "phone", PHONE)
    checked = service.check(started.challenge_id, PHONE, console.recent()[0].code)
    assert checked.status is CheckStatus.CHANGED_HANDS
    assert checked.frozen_account_ref == "user:1" and checked.account_ref is None
    assert guard.status(parse_identifier("phone", PHONE), date(2025, 11, 1)).recycled is True

    started = service.start(Purpose.SIGN_IN, "email", "owner@example.cn")
    checked = service.check(started.challenge_id, "owner@example.cn", console.recent()[0].code)
    assert checked.recovered and checked.account_ref == "user:1"

    with engine.connect() as conn:
        events = conn.execute(text("SELECT event FROM ledger_entries ORDER BY seq")).scalars()
        assert list(events) == [
            "identity.carrier_file_imported",
            "identity.account_frozen",
            "identity.account_recovered",
        ]
    assert verify_ledger(engine).ok


def test_marks_and_freezes_agree_on_both_databases(engine: Engine) -> None:
    """Dates and times round-trip exactly (PostgreSQL keeps zones, SQLite does not)."""
    clock = FixedClock(T0)
    guard = RecycledGuard(engine, clock, KEY_I)
    number = parse_identifier("phone", PHONE)
    mark = guard.mark_recycled(number, date(2026, 2, 9), Source.RISC_EVENT, reference="jti-1")
    assert guard.marks(number) == [mark]
    decision = guard.guard(number, datetime(2026, 2, 8, 15, 59, tzinfo=UTC))  # 23:59 CST
    assert decision.freeze_old_account
    assert guard.guard(number, datetime(2026, 2, 8, 16, 0, tzinfo=UTC)).opens_old_account
    freeze = guard.freeze("user:9", number, decision)
    assert guard.frozen("user:9") == freeze


def test_old_challenges_are_purged(engine: Engine) -> None:
    """A day after they expire, challenges and send-log rows go."""
    clock, console, directory = FixedClock(T0), ConsoleProvider(), FakeDirectory()
    service, _, _ = _service(engine, clock, console, directory)
    service.start(Purpose.SIGN_IN, "phone", PHONE)
    assert purge_expired(engine, clock) == 0
    clock.advance(timedelta(days=1, minutes=6))
    assert purge_expired(engine, clock) == 2
