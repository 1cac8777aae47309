"""Retry from the console: a failed request goes back to execution now, as the operator."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from exitright import worker
from exitright.admin.models import Role
from exitright.cancellation import services
from exitright.cancellation.commands import RetryRequest, VerifyRequest
from exitright.cancellation.errors import ActorNotAllowedError
from exitright.cancellation.model import Actor, ActorKind, State
from exitright.cancellation.ports import Eraser, ErasureOutcome, Identifiers, RequestRecord
from exitright.ledger.models import LedgerEntry
from tests.integration.admin.conftest import Console, csrf_of


class _StoreDown:
    """The real eraser's plans, but every run fails as if a store were unreachable."""

    def __init__(self, real: Eraser) -> None:
        self.real = real

    def subject_ref(self, identifiers: Identifiers) -> str:
        return self.real.subject_ref(identifiers)

    def plan(self, request_id: str, identifiers: Identifiers) -> str:
        return self.real.plan(request_id, identifiers)

    def run(self, plan_id: str, worker: str) -> ErasureOutcome:
        return ErasureOutcome("failed", failed_step="platform.orders")


def _record(console: Console, request_id: str) -> RequestRecord:
    with console.runtime.uow(readonly=True) as uow:
        record = uow.requests.get(request_id)
    assert record is not None
    return record


def _failed(console: Console) -> str:
    """A verified cancellation whose first execution failed (its retry is an hour away)."""
    rt = console.runtime
    request_id = console.submit()
    services.verify(VerifyRequest(request_id, Actor.system("otp")), rt.uow(), rt.ports)
    assert rt.ports.eraser is not None
    broken = dataclasses.replace(rt.ports, eraser=_StoreDown(rt.ports.eraser))
    record = services.advance(services.AdvanceRequest(request_id), rt.uow(), broken)
    assert record.request.state is State.FAILED
    return request_id


def test_an_operator_retries_a_failed_request_and_the_worker_completes_it(
    console: Console,
) -> None:
    """failed → executing now, recorded with the operator; the next round finishes the plan."""
    request_id = _failed(console)
    before = _record(console, request_id)
    assert before.next_run_at is not None
    client = console.sign_in(Role.OPERATOR)
    page = client.get(f"/admin/requests/{request_id}?lang=en")
    assert "Retry now" in page.text
    done = client.post(
        f"/admin/requests/{request_id}/retry", data={"csrf_token": csrf_of(page.text)}
    )
    assert done.status_code == 303
    assert done.headers["location"].endswith("?done=retried")

    record = _record(console, request_id)
    assert record.request.state is State.EXECUTING
    last = record.request.history[-1]
    assert (last.action.value, last.actor.kind, last.actor.id) == (
        "retry", ActorKind.OPERATOR, console.ids[Role.OPERATOR],
    )  # fmt: skip
    assert record.next_run_at is not None and record.next_run_at < before.next_run_at
    with console.engine.connect() as conn:
        events = (
            conn.execute(select(LedgerEntry.event).where(LedgerEntry.request_id == request_id))
            .scalars()
            .all()
        )
    assert "request.retry" in events
    shown = client.get(done.headers["location"] + "&lang=en").text
    assert "executing again" in shown and "Retry now" not in shown

    worker.run(console.runtime, once=True)
    assert _record(console, request_id).request.state is State.COMPLETED


def test_retry_needs_an_operator_and_a_failed_request(console: Console) -> None:
    """A viewer gets 403; a request that has not failed is a 409; the use case wants an operator."""
    request_id = _failed(console)
    viewer = console.sign_in(Role.VIEWER)
    page = viewer.get(f"/admin/requests/{request_id}?lang=en")
    assert "Retry now" not in page.text
    refused = viewer.post(
        f"/admin/requests/{request_id}/retry", data={"csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 403
    assert _record(console, request_id).request.state is State.FAILED

    fresh = console.submit()
    operator = console.sign_in(Role.OPERATOR)
    token = csrf_of(operator.get(f"/admin/requests/{fresh}").text)
    assert "Retry now" not in operator.get(f"/admin/requests/{fresh}?lang=en").text
    assert (
        operator.post(f"/admin/requests/{fresh}/retry", data={"csrf_token": token}).status_code
        == 409
    )

    rt = console.runtime
    with pytest.raises(ActorNotAllowedError):
        services.retry(RetryRequest(request_id, Actor.system("worker")), rt.uow(), rt.ports)
    assert services.HANDLERS[RetryRequest] is services.retry
