"""The demo platform's accounts and the real request workflow behind the identity service."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from exitright import bootstrap
from exitright.cancellation import services
from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.cancellation.model import Actor, RequestKind, State
from exitright.cancellation.ports import Identifiers
from exitright.clock import FixedClock
from exitright.config import Settings
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.demo.schema import orders, users
from exitright.identity.directory import SqlAccountDirectory
from exitright.identity.identifiers import parse_identifier
from exitright.identity.providers import ConsoleProvider
from exitright.identity.requests import WorkflowRequestLink
from exitright.identity.service import CheckStatus, IdentityService, Purpose
from exitright.identity.wiring import build_service, identity_for
from tests.integration.requests.conftest import platform_phones, platform_settings

__all__ = ["platform_settings"]  # the fixture, re-exported for this module


@pytest.fixture
def wired(
    platform_settings: Settings,
) -> Iterator[tuple[IdentityService, bootstrap.Runtime, ConsoleProvider, FixedClock]]:
    """The identity service on the seeded demo shop's users and the real request workflow."""
    migrate.upgrade(platform_settings.engine_url)
    clock = FixedClock(datetime.now(UTC))
    runtime = bootstrap.build(platform_settings, clock=clock, cooling_off=CoolingOffPolicy(0))
    demo = make_engine(platform_settings.demo_url)
    console = ConsoleProvider()
    service = build_service(
        platform_settings,
        runtime.engine,
        clock=clock,
        directory=SqlAccountDirectory(demo, users),
        requests=WorkflowRequestLink(runtime),
        console=console,
    )
    try:
        yield service, runtime, console, clock
    finally:
        runtime.close()
        demo.dispose()


def _open(runtime: bootstrap.Runtime, phone: str, kind: RequestKind) -> str:
    """Submit a request for the account with ``phone``; returns its id."""
    opened = services.submit(
        services.OpenRequest(kind, Identifiers("phone", phone), Actor.user()),
        runtime.uow(),
        runtime.ports,
    )
    return opened.record.request.id


def test_a_code_to_the_registered_phone_verifies_the_cancellation(
    wired: tuple[IdentityService, bootstrap.Runtime, ConsoleProvider, FixedClock],
    platform_settings: Settings,
) -> None:
    """Submitted → code → verified, recorded by the workflow with the otp actor."""
    service, runtime, console, _ = wired
    phone = platform_phones(platform_settings, 1)[0]
    request_id = _open(runtime, phone, RequestKind.CANCEL)
    started = service.start(Purpose.REQUEST, "phone", phone, request_id=request_id)
    checked = service.check(started.challenge_id, phone, console.recent()[0].code)
    assert checked.status is CheckStatus.VERIFIED and checked.request_verified
    with runtime.uow(readonly=True) as uow:
        record = uow.requests.get(request_id)
    assert record is not None and record.request.state is not State.SUBMITTED
    verify_step = next(s for s in record.request.history if s.target is State.VERIFIED)
    assert verify_step.actor == Actor.system("otp")


def test_a_request_for_someone_elses_number_sends_nothing(
    wired: tuple[IdentityService, bootstrap.Runtime, ConsoleProvider, FixedClock],
    platform_settings: Settings,
) -> None:
    """A request names phone A; asking for a code to phone B (also an account) sends none."""
    service, runtime, console, _ = wired
    a, b = platform_phones(platform_settings, 2)
    request_id = _open(runtime, a, RequestKind.CANCEL)
    started = service.start(Purpose.REQUEST, "phone", b, request_id=request_id)
    assert console.recent() == []
    assert started.sent_to == parse_identifier("phone", b).value[3:6] + "****" + b[-4:]


def test_after_recycling_the_new_holder_cannot_export_the_old_owners_data(
    wired: tuple[IdentityService, bootstrap.Runtime, ConsoleProvider, FixedClock],
    platform_settings: Settings,
) -> None:
    """The old owner has orders; the number is recycled; the new holder's code opens nothing."""
    service, runtime, console, clock = wired
    demo = make_engine(platform_settings.demo_url)
    try:
        with demo.connect() as conn:
            owner = conn.execute(
                select(users.c.id, users.c.phone).join(orders, orders.c.user_id == users.c.id)
            ).first()
    finally:
        demo.dispose()
    assert owner is not None
    guard = service.guard
    assert guard is not None
    guard.mark_recycled(parse_identifier("phone", owner.phone), clock.now().date())
    clock.advance(timedelta(days=1))
    request_id = _open(runtime, owner.phone, RequestKind.CANCEL)
    started = service.start(Purpose.REQUEST, "phone", owner.phone, request_id=request_id)
    checked = service.check(started.challenge_id, owner.phone, console.recent()[0].code)
    assert checked.status is CheckStatus.CHANGED_HANDS
    assert checked.account_ref is None and checked.frozen_account_ref == f"user:{owner.id}"
    assert not checked.request_verified
    with runtime.uow(readonly=True) as uow:
        record = uow.requests.get(request_id)
    assert record is not None and record.request.state is State.SUBMITTED


def test_a_web_app_gets_one_service_with_the_demo_accounts(platform_settings: Settings) -> None:
    """identity_for builds the service once per app; its console shows the codes sent."""
    migrate.upgrade(platform_settings.engine_url)
    engine = make_engine(platform_settings.engine_url)
    state = SimpleNamespace(settings=platform_settings, engine=engine, on_shutdown=[])
    try:
        service = identity_for(state)
        assert identity_for(state) is service
        phone = platform_phones(platform_settings, 1)[0]
        started = service.start(Purpose.SIGN_IN, "phone", phone)
        service.dispatcher.shutdown()  # type: ignore[attr-defined]  # a ThreadDispatcher here
        code = state.identity_console.recent()[0].code
        checked = service.check(started.challenge_id, phone, code)
        assert checked.status is CheckStatus.VERIFIED
        assert checked.account_ref is not None and checked.account_ref.startswith("user:")
    finally:
        for hook in state.on_shutdown:
            hook()
        engine.dispose()
