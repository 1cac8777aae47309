"""A worker that dies in the middle of an erasure leaves work another worker finishes once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from exitright import bootstrap
from exitright.cancellation import services
from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.cancellation.model import State
from exitright.cancellation.ports import ErasureOutcome
from exitright.clock import FixedClock
from exitright.config import Settings
from exitright.db.requests import RequestRow, claim_due
from exitright.erasure.executor import run_plan
from exitright.erasure.models import ErasurePlan
from exitright.ledger import service
from exitright.worker import LEASE, run_once
from tests.integration.requests.conftest import platform_phones, verified_cancellation


class Crash(BaseException):
    """Stands for the process being killed (not an error any code handles)."""


class CrashingEraser(bootstrap.EngineEraser):
    """Runs the real plan but 'dies' after its third step."""

    def run(self, plan_id: str, worker: str) -> ErasureOutcome:
        done = 0

        def observe(event: str) -> None:
            nonlocal done
            done += event.startswith("done:")
            if done == 3:
                raise Crash

        run_plan(self.ctx, self.dm, plan_id, worker=worker, observe=observe)
        raise AssertionError("the crash should have stopped the run")


def test_a_crashed_worker_s_request_is_finished_once_after_its_lease(
    platform_settings: Settings,
) -> None:
    """Killed mid-plan: the request stays executing; after the lease a worker completes it."""
    from exitright.db import migrate

    migrate.upgrade(platform_settings.engine_url)
    clock = FixedClock(datetime.now(UTC))
    rt = bootstrap.build(platform_settings, clock=clock, cooling_off=CoolingOffPolicy(0))
    try:
        phone = platform_phones(platform_settings, 1)[0]
        request_id = verified_cancellation(rt, phone)

        real = rt.ports.eraser
        assert isinstance(real, bootstrap.EngineEraser)
        rt.ports.eraser = CrashingEraser(real.ctx, real.dm)
        assert claim_due(rt.engine, clock, "w1", lease=LEASE) == [request_id]
        with pytest.raises(Crash):
            services.advance(services.AdvanceRequest(request_id, "w1"), rt.uow(), rt.ports)
        rt.ports.eraser = real

        # Nobody may take it while the dead worker's lease runs.
        assert run_once(rt, "w2") == 0
        clock.advance(LEASE + timedelta(seconds=1))
        assert run_once(rt, "w2") == 1

        with rt.engine.connect() as conn:
            state = conn.execute(
                select(RequestRow.state).where(RequestRow.id == request_id)
            ).scalar_one()
            plans = (
                conn.execute(select(ErasurePlan.status).where(ErasurePlan.request_id == request_id))
                .scalars()
                .all()
            )
            events = Counter(e.event for e in service.for_request(conn, request_id))
        assert state == State.COMPLETED.value
        assert plans == ["completed"]
        assert events["request.complete"] == 1 and events["request.execute"] == 1
        assert service.verify_ledger(rt.engine).ok
    finally:
        rt.close()
