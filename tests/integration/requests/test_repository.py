"""The SQL repository, unit of work and queue on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from exitright.cancellation.deadlines import deadline_policy
from exitright.cancellation.model import Actor, Request, RequestKind
from exitright.cancellation.ports import ConcurrentUpdateError, Identifiers, RequestRecord
from exitright.clock import FixedClock
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.db.requests import IdentifierCipher, RequestRow, SqlUnitOfWork, claim_due, release

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PHONE = Identifiers("phone", "13800138000")


@pytest.fixture
def engine(engine_url: str) -> Iterator[Engine]:
    """A migrated engine database."""
    migrate.upgrade(engine_url)
    engine = make_engine(engine_url)
    yield engine
    engine.dispose()


def uow_for(engine: Engine, clock: FixedClock) -> SqlUnitOfWork:
    """A unit of work with a fixed secret."""
    return SqlUnitOfWork(engine, IdentifierCipher(b"s" * 32), clock, b"w" * 32)


def new_record(
    clock: FixedClock, request_id: str = "req_one", *, due: bool = True
) -> RequestRecord:
    """A submitted cancellation, due for the worker when ``due``."""
    request = Request.submit(
        request_id=request_id,
        kind=RequestKind.CANCEL,
        subject_ref="sp_test",
        actor=Actor.user(),
        clock=clock,
        deadlines=deadline_policy("cn"),
    )
    return RequestRecord(request, PHONE, owner="key_a", next_run_at=clock.now() if due else None)


def test_identifiers_are_encrypted_at_rest_and_read_back(engine: Engine) -> None:
    """The column holds ciphertext; the repository returns the identifiers."""
    clock = FixedClock(NOW)
    with uow_for(engine, clock) as uow:
        uow.requests.add(new_record(clock))
        uow.commit()
    with engine.connect() as conn:
        raw = conn.execute(select(RequestRow.identifiers_enc)).scalar_one()
    assert raw is not None and b"13800138000" not in raw
    with uow_for(engine, clock) as uow:
        record = uow.requests.get("req_one")
    assert record is not None and record.identifiers == PHONE
    assert record.request.to_dict() == new_record(clock).request.to_dict()


def test_identifiers_sealed_for_one_request_do_not_open_for_another(engine: Engine) -> None:
    """The ciphertext is bound to its request id."""
    cipher = IdentifierCipher(b"s" * 32)
    sealed = cipher.seal("req_one", PHONE)
    assert cipher.open("req_one", sealed) == PHONE
    with pytest.raises(Exception, match="invalid_config"):
        cipher.open("req_two", sealed)


def test_a_stale_save_is_refused_and_rolls_back(engine: Engine) -> None:
    """Two loads, two saves: the second one raises and changes nothing."""
    clock = FixedClock(NOW)
    with uow_for(engine, clock) as uow:
        uow.requests.add(new_record(clock))
        uow.commit()
    first, second = uow_for(engine, clock), uow_for(engine, clock)
    with first:
        a = first.requests.get("req_one")
    with second:
        b = second.requests.get("req_one")
    assert a is not None and b is not None
    with first:
        a.request.verify(Actor.system("otp"), clock)
        first.requests.save(a)
        first.commit()
    with second, pytest.raises(ConcurrentUpdateError):
        b.request.revoke(Actor.user(), clock)
        second.requests.save(b)
    with uow_for(engine, clock) as uow:
        stored = uow.requests.get("req_one")
    assert stored is not None and stored.request.state.value == "verified"
    assert stored.row_version == 2


def test_claims_lease_due_requests_once_until_released_or_expired(engine: Engine) -> None:
    """A leased request is not claimed again until its lease is given back or runs out."""
    clock = FixedClock(NOW)
    with uow_for(engine, clock) as uow:
        uow.requests.add(new_record(clock, "req_a"))
        uow.requests.add(new_record(clock, "req_b"))
        uow.requests.add(new_record(clock, "req_later", due=False))
        uow.commit()
    lease = timedelta(minutes=10)
    assert sorted(claim_due(engine, clock, "w1", lease=lease)) == ["req_a", "req_b"]
    assert claim_due(engine, clock, "w2", lease=lease) == []
    release(engine, "req_a", "w2")  # not w2's lease: nothing happens
    assert claim_due(engine, clock, "w2", lease=lease) == []
    release(engine, "req_a", "w1")
    assert claim_due(engine, clock, "w2", lease=lease) == ["req_a"]
    clock.advance(lease + timedelta(seconds=1))
    assert sorted(claim_due(engine, clock, "w3", lease=lease)) == ["req_a", "req_b"]


def test_the_queue_takes_the_earliest_due_first(engine: Engine, tmp_path: Path) -> None:
    """Overdue first: claims are ordered by the final due instant."""
    clock = FixedClock(NOW)
    with uow_for(engine, clock) as uow:
        uow.requests.add(new_record(clock, "req_late"))
        clock.set(NOW - timedelta(days=20))
        uow.requests.add(new_record(clock, "req_early"))
        uow.commit()
    clock.set(NOW)
    assert claim_due(engine, clock, "w1", lease=timedelta(minutes=1), limit=1) == ["req_early"]
