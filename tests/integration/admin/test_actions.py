"""Verify and reject from the console: through the services, recorded with the operator."""

from __future__ import annotations

from sqlalchemy import select

from exitright.admin.models import Role
from exitright.cancellation.model import ActorKind, State
from exitright.cancellation.ports import RequestRecord
from exitright.ledger.models import LedgerEntry
from tests.integration.admin.conftest import Console, csrf_of


def _record(console: Console, request_id: str) -> RequestRecord:
    with console.runtime.uow(readonly=True) as uow:
        record = uow.requests.get(request_id)
    assert record is not None
    return record


def test_reject_records_the_operator_reason_note_and_appeal_route(console: Console) -> None:
    """The timeline names the operator; the ledger has the reject with the reason code."""
    request_id = console.submit()
    client = console.sign_in(Role.OPERATOR)
    page = client.get(f"/admin/requests/{request_id}?lang=en")
    assert "Cal. Civ. Code" not in page.text  # cn regime: its own appeal route is shown
    assert "PIPL Art. 50" in page.text
    done = client.post(
        f"/admin/requests/{request_id}/reject",
        data={
            "csrf_token": csrf_of(page.text),
            "reason": "duplicate_request",
            "note": "same account asked twice today",
        },
    )
    assert done.status_code == 303
    record = _record(console, request_id)
    assert record.request.state is State.REJECTED
    last = record.request.history[-1]
    assert last.actor.kind is ActorKind.OPERATOR
    assert last.actor.id == console.ids[Role.OPERATOR]
    assert last.reason == "duplicate_request"
    assert last.note == "same account asked twice today"
    with console.engine.connect() as conn:
        entries = conn.execute(
            select(LedgerEntry.event, LedgerEntry.data).where(LedgerEntry.request_id == request_id)
        ).all()
    rejects = [data for event, data in entries if event == "request.reject"]
    assert rejects == [
        {"state": "rejected", "from": "submitted", "actor": {"kind": "operator"},
         "reason": "duplicate_request"}
    ]  # fmt: skip
    shown = client.get(done.headers["location"] + "&lang=en").text
    assert "operator" in shown.split('id="timeline"')[1]  # the operator's name in the timeline
    assert "same account asked twice today" in shown
    assert "Appeal route:" in shown
    assert "request.reject" in shown.split('id="ledger"')[1]


def test_reject_needs_a_listed_reason_and_a_note_without_personal_data(console: Console) -> None:
    """No reason, an unknown reason or a note holding a phone number: 422, nothing changes."""
    request_id = console.submit()
    client = console.sign_in(Role.OPERATOR)
    token = csrf_of(client.get(f"/admin/requests/{request_id}").text)
    path = f"/admin/requests/{request_id}/reject"
    assert client.post(path, data={"csrf_token": token}).status_code == 422
    assert client.post(path, data={"csrf_token": token, "reason": "because"}).status_code == 422
    leaky = client.post(
        path,
        data={"csrf_token": token, "reason": "duplicate_request", "note": "call 13812345678"},
    )
    assert leaky.status_code == 422
    assert _record(console, request_id).request.state is State.SUBMITTED


def test_verify_by_operator_is_recorded_and_cannot_repeat(console: Console) -> None:
    """An operator's verify moves the request on; a second one is a 409, not a 500."""
    request_id = console.submit()
    client = console.sign_in(Role.OPERATOR)
    token = csrf_of(client.get(f"/admin/requests/{request_id}").text)
    assert (
        client.post(f"/admin/requests/{request_id}/verify", data={"csrf_token": token}).status_code
        == 303
    )
    record = _record(console, request_id)
    assert record.request.state is State.VERIFIED
    assert record.request.history[-1].actor.id == console.ids[Role.OPERATOR]
    again = client.post(f"/admin/requests/{request_id}/verify", data={"csrf_token": token})
    assert again.status_code == 409


def test_identifiers_are_masked_for_operators_and_hidden_from_viewers(console: Console) -> None:
    """An operator sees 138****5678; a viewer sees neither the phone nor its mask."""
    request_id = console.submit()
    record = _record(console, request_id)
    assert record.identifiers is not None
    phone = record.identifiers.value
    masked = phone[:3] + "****" + phone[-4:]
    as_operator = console.sign_in(Role.OPERATOR).get(f"/admin/requests/{request_id}").text
    as_viewer = console.sign_in(Role.VIEWER).get(f"/admin/requests/{request_id}").text
    assert masked in as_operator
    assert phone not in as_operator
    assert masked not in as_viewer
    assert phone not in as_viewer
    queue = console.sign_in(Role.ADMIN).get("/admin/?state=all").text
    assert phone not in queue
    assert masked not in queue


def test_unknown_request_is_404(console: Console) -> None:
    """A request id that does not exist is a 404 page, not a 500."""
    client = console.sign_in(Role.VIEWER)
    assert client.get("/admin/requests/req_doesnotexist").status_code == 404
