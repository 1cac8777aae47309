"""Requests nobody verified are closed by the worker after the configured time (fake clock)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from exitright import bootstrap, worker
from exitright.cancellation import services
from exitright.cancellation.commands import VerifyRequest
from exitright.cancellation.model import Actor, RequestKind, State
from exitright.cancellation.ports import Identifiers
from exitright.clock import FixedClock
from exitright.config import Settings
from exitright.db import migrate
from exitright.db.requests import RequestRow
from exitright.ledger import service
from tests.integration.requests.conftest import platform_phones

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def runtime(platform_settings: Settings) -> Iterator[tuple[bootstrap.Runtime, FixedClock]]:
    """The workflow on SQLite or PostgreSQL with a clock the test moves; unverified after 24 h."""
    migrate.upgrade(platform_settings.engine_url)
    clock = FixedClock(START)
    settings = platform_settings.model_copy(update={"verify_within_hours": 24})
    rt = bootstrap.build(settings, clock=clock)
    try:
        yield rt, clock
    finally:
        rt.close()


def submit(rt: bootstrap.Runtime, phone: str) -> str:
    command = services.OpenRequest(
        RequestKind.CANCEL, Identifiers("phone", phone), Actor.api_key("key_t")
    )
    return services.submit(command, rt.uow(), rt.ports, owner="key_t").record.request.id


def stored(rt: bootstrap.Runtime, request_id: str) -> RequestRow:
    with rt.engine.connect() as conn:
        row = conn.execute(select(RequestRow).where(RequestRow.id == request_id)).one()
    return row  # type: ignore[no-any-return]  # a Row with the RequestRow columns


def test_a_request_not_verified_in_24_hours_is_closed_and_its_identifiers_dropped(
    runtime: tuple[bootstrap.Runtime, FixedClock], platform_settings: Settings
) -> None:
    """Rejected (identity_not_verified), ledgered with the pseudonym only, identifiers NULL."""
    rt, clock = runtime
    old_phone, young_phone = platform_phones(platform_settings, 2)
    old = submit(rt, old_phone)
    clock.advance(timedelta(hours=3))
    young = submit(rt, young_phone)
    clock.advance(timedelta(hours=21, minutes=1))  # old: 24 h 1 min; young: 21 h 1 min

    assert worker.run_once(rt, "w1") >= 1
    record = services.get_request(old, rt.uow(readonly=True))
    assert record.request.state is State.REJECTED
    assert record.request.rejection is not None
    assert record.request.rejection.reason.value == "identity_not_verified"
    row = stored(rt, old)
    assert row.identifiers_enc is None and row.next_run_at is None
    with rt.engine.connect() as conn:
        [entry] = [e for e in service.for_request(conn, old) if e.event == "request.reject"]
    assert entry.data["reason"] == "identity_not_verified"
    assert old_phone not in str(entry.data) and entry.subject.startswith("sp_")

    assert services.get_request(young, rt.uow(readonly=True)).request.state is State.SUBMITTED
    assert stored(rt, young).identifiers_enc is not None
    assert worker.run_once(rt, "w1") == 0  # nothing else is due

    clock.advance(timedelta(hours=3))
    worker.run_once(rt, "w1")
    assert services.get_request(young, rt.uow(readonly=True)).request.state is State.REJECTED


def test_a_verified_request_is_never_closed_as_unverified(
    runtime: tuple[bootstrap.Runtime, FixedClock], platform_settings: Settings
) -> None:
    """Only submitted requests are swept: a verified one goes on as usual."""
    rt, clock = runtime
    [phone] = platform_phones(platform_settings, 1)
    request_id = submit(rt, phone)
    services.verify(VerifyRequest(request_id, Actor.api_key("key_t")), rt.uow(), rt.ports)
    clock.advance(timedelta(days=2))
    worker.run_once(rt, "w1")
    state = services.get_request(request_id, rt.uow(readonly=True)).request.state
    assert state is not State.REJECTED
