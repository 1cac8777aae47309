"""Short leases renewed by a heartbeat: a SIGKILLed worker's request is taken over within seconds.

Found by the soak (bench/soak): with a 10-minute request lease and a 5-minute plan lease, every
worker killed mid-erasure stranded its requests (up to 10 claimed at once) for 10 minutes.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from exitright import bootstrap
from exitright.cancellation import services
from exitright.cancellation.commands import VerifyRequest
from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.cancellation.model import Actor, RequestKind, State
from exitright.cancellation.ports import ErasureOutcome, Identifiers
from exitright.clock import FixedClock
from exitright.config import Settings
from exitright.db import migrate
from exitright.db.requests import RequestRow, claim_due
from exitright.erasure.executor import claim
from exitright.erasure.models import ErasurePlan
from exitright.heartbeat import EVERY, PLAN_LEASE, Heartbeat
from exitright.worker import LEASE, PARKED, run_once
from tests.integration.requests.conftest import platform_phones, verified_cancellation
from tests.integration.requests.test_recovery import Crash, CrashingEraser


def _crashed(settings: Settings, clock: FixedClock) -> tuple[bootstrap.Runtime, str]:
    """A runtime whose worker 'w1' died after three steps of a request's erasure."""
    migrate.upgrade(settings.engine_url)
    rt = bootstrap.build(settings, clock=clock, cooling_off=CoolingOffPolicy(0))
    phone = platform_phones(settings, 1)[0]
    request_id = verified_cancellation(rt, phone)
    real = rt.ports.eraser
    assert isinstance(real, bootstrap.EngineEraser)
    rt.ports.eraser = CrashingEraser(real.ctx, real.dm)
    assert claim_due(rt.engine, clock, "w1", lease=LEASE) == [request_id]
    with contextlib.suppress(Crash):
        services.advance(services.AdvanceRequest(request_id, "w1"), rt.uow(), rt.ports)
    rt.ports.eraser = real
    return rt, request_id


def _leases(rt: bootstrap.Runtime, request_id: str) -> tuple[datetime, datetime]:
    with rt.engine.connect() as conn:
        request = conn.execute(
            select(RequestRow.lease_until).where(RequestRow.id == request_id)
        ).scalar_one()
        plan = conn.execute(
            select(ErasurePlan.lease_until).where(ErasurePlan.request_id == request_id)
        ).scalar_one()
    return request.replace(tzinfo=UTC), plan.replace(tzinfo=UTC)


def test_leases_are_short_and_a_plan_s_ends_before_its_request_s() -> None:
    """A dead worker's request is free within half a minute, and its plan a beat earlier."""
    assert timedelta(seconds=30) >= LEASE
    assert PLAN_LEASE + EVERY < LEASE


def test_a_killed_worker_s_request_is_completed_by_another_one_lease_later(
    platform_settings: Settings,
) -> None:
    clock = FixedClock(datetime.now(UTC))
    rt, request_id = _crashed(platform_settings, clock)
    try:
        assert run_once(rt, "w2") == 0  # the dead worker's lease still runs
        clock.advance(LEASE + timedelta(seconds=1))
        assert run_once(rt, "w2") == 1
        with rt.engine.connect() as conn:
            state = conn.execute(
                select(RequestRow.state).where(RequestRow.id == request_id)
            ).scalar_one()
        assert state == State.COMPLETED.value
    finally:
        rt.close()


def test_the_heartbeat_renews_only_the_busy_worker_s_leases(platform_settings: Settings) -> None:
    clock = FixedClock(datetime.now(UTC))
    rt, request_id = _crashed(platform_settings, clock)
    try:
        with rt.engine.begin() as conn:  # the dead worker's plan, mid-run (however it died)
            conn.execute(
                update(ErasurePlan)
                .where(ErasurePlan.request_id == request_id)
                .values(status="running", lease_owner="w1", lease_until=clock.now() + PLAN_LEASE)
            )
        beat = Heartbeat(rt.engine, clock, request_lease=LEASE, plan_lease=PLAN_LEASE)
        clock.advance(timedelta(seconds=10))
        assert beat.renew() == 0  # nobody busy: nothing written
        with beat.busy("w2"):
            assert beat.renew() == 0  # w2 holds nothing; w1's leases are not w2's to renew
        before = _leases(rt, request_id)
        with beat.busy("w1"):
            assert beat.renew() == 2
        assert _leases(rt, request_id) == (clock.now() + LEASE, clock.now() + PLAN_LEASE)
        assert all(after > old for after, old in zip(_leases(rt, request_id), before, strict=True))

        # Never shortens: a lease further out than one beat's renewal stays as it is.
        far = clock.now() + timedelta(hours=1)
        with rt.engine.begin() as conn:
            conn.execute(
                update(RequestRow).where(RequestRow.id == request_id).values(lease_until=far)
            )
        clock.advance(EVERY)
        with beat.busy("w1"):
            assert beat.renew() == 1  # the plan only
        assert _leases(rt, request_id)[0] == far
    finally:
        rt.close()


class BrokenEraser(bootstrap.EngineEraser):
    """Takes the plan's lease, then fails the way a bug does: an exception no code expects."""

    def run(self, plan_id: str, worker: str) -> ErasureOutcome:
        assert claim(self.ctx, plan_id, worker)
        raise RuntimeError("a bug")


def test_a_request_that_fails_unexpectedly_is_set_aside_not_renewed_forever(
    platform_settings: Settings,
) -> None:
    """The heartbeat renews a busy worker's leases, so a failed request must leave its name."""
    migrate.upgrade(platform_settings.engine_url)
    clock = FixedClock(datetime.now(UTC))
    rt = bootstrap.build(platform_settings, clock=clock, cooling_off=CoolingOffPolicy(0))
    try:
        phone = platform_phones(platform_settings, 1)[0]
        request_id = verified_cancellation(rt, phone)
        real = rt.ports.eraser
        assert isinstance(real, bootstrap.EngineEraser)
        rt.ports.eraser = BrokenEraser(real.ctx, real.dm)
        assert run_once(rt, "w1", batch=1, deliveries=0) == 1
        rt.ports.eraser = real
        with rt.engine.connect() as conn:
            owner, until = conn.execute(
                select(RequestRow.lease_owner, RequestRow.lease_until).where(
                    RequestRow.id == request_id
                )
            ).one()
        assert owner == "parked:w1"
        assert until.replace(tzinfo=UTC) == clock.now() + PARKED
        with rt.engine.connect() as conn:  # the plan's lease is given up with it
            plan_owner = conn.execute(
                select(ErasurePlan.lease_owner).where(ErasurePlan.request_id == request_id)
            ).scalar_one()
        assert plan_owner is None

        beat = Heartbeat(rt.engine, clock, request_lease=LEASE, plan_lease=PLAN_LEASE)
        with beat.busy("w1"):
            assert beat.renew() == 0
        assert run_once(rt, "w1", deliveries=0) == 0  # not even its own worker, for a while
        clock.advance(PARKED + timedelta(seconds=1))
        assert run_once(rt, "w2", deliveries=0) == 1
        with rt.engine.connect() as conn:
            state = conn.execute(
                select(RequestRow.state).where(RequestRow.id == request_id)
            ).scalar_one()
        assert state == State.COMPLETED.value
    finally:
        rt.close()


def test_a_dead_worker_s_half_erased_request_goes_before_the_backlog(
    platform_settings: Settings,
) -> None:
    """Found by the soak: resumed requests waited behind every request verified before them."""
    clock = FixedClock(datetime.now(UTC))
    rt, crashed = _crashed(platform_settings, clock)
    try:
        phone = platform_phones(platform_settings, 2)[1]
        command = services.OpenRequest(
            RequestKind.CANCEL, Identifiers("phone", phone), Actor.user()
        )
        queued = services.submit(command, rt.uow(), rt.ports).record.request.id
        services.verify(VerifyRequest(queued, Actor.system("otp")), rt.uow(), rt.ports)
        with rt.engine.begin() as conn:  # verified before the crashed one started: older in line
            conn.execute(
                update(RequestRow)
                .where(RequestRow.id == queued)
                .values(next_run_at=clock.now() - timedelta(minutes=5))
            )
        clock.advance(LEASE + timedelta(seconds=1))
        assert claim_due(rt.engine, clock, "w2", lease=LEASE, limit=1) == [crashed]
        assert claim_due(rt.engine, clock, "w2", lease=LEASE, limit=1) == [queued]
    finally:
        rt.close()
