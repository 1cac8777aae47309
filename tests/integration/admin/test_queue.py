"""The queue: overdue first, then soonest due; filters, search, flags; the health strip."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from exitright.admin.models import Role
from exitright.cancellation import services
from exitright.cancellation.commands import RejectRequest
from exitright.cancellation.model import Actor, State
from exitright.cancellation.outcomes import RejectionReason
from exitright.clock import FixedClock
from exitright.keys import load_key
from exitright.protocols import outbox
from exitright.protocols.config import RecipientConfig, Transmitter
from tests.integration.admin.conftest import Console

_ROW = re.compile(r'data-request="(req_[a-z0-9]+)"')


def _order(console: Console, query: str = "") -> list[str]:
    page = console.sign_in(Role.VIEWER).get(f"/admin/?lang=en{query}")
    assert page.status_code == 200
    return _ROW.findall(page.text)


def _row(html: str, request_id: str) -> str:
    return html.split(f'data-request="{request_id}"')[1].split("</tr>")[0]


def test_queue_puts_overdue_first_then_soonest_due_and_closed_last(console: Console) -> None:
    """Open requests by due instant (so overdue ones lead); closed ones after every open one."""
    now = datetime.now(UTC)
    recent = console.submit_at(now - timedelta(days=1))
    overdue = console.submit_at(now - timedelta(days=40))
    middle = console.submit_at(now - timedelta(days=8))
    closed = console.submit_at(now - timedelta(days=90))
    rt = console.runtime
    services.reject(
        RejectRequest(closed, Actor.operator("op_test"), RejectionReason.DUPLICATE_REQUEST),
        rt.uow(),
        rt.ports,
    )
    assert _order(console) == [overdue, middle, recent]
    assert _order(console, "&state=all") == [overdue, middle, recent, closed]
    html = console.sign_in(Role.VIEWER).get("/admin/?lang=en").text
    assert ">overdue<" in _row(html, overdue)
    assert ">overdue<" not in _row(html, middle)


def test_a_deadline_in_a_year_without_holiday_data_is_flagged_provisional(console: Console) -> None:
    """Received just before a new year, counted without that year's arrangement: provisional."""
    late = console.submit_at(datetime(2026, 12, 28, 3, tzinfo=UTC))
    normal = console.submit_at(datetime(2026, 11, 2, 3, tzinfo=UTC))
    html = console.sign_in(Role.VIEWER).get("/admin/?lang=en").text
    assert ">provisional<" in _row(html, late)
    assert ">provisional<" not in _row(html, normal)
    detail = console.sign_in(Role.VIEWER).get(f"/admin/requests/{late}?lang=en").text
    assert "Provisional:" in detail


def test_filters_and_search_by_id_or_pseudonym(console: Console) -> None:
    """State and kind filters; search finds a request by its id or its subject's pseudonym."""
    first = console.submit()
    second = console.submit()
    rt = console.runtime
    services.reject(
        RejectRequest(second, Actor.operator("op_test"), RejectionReason.DUPLICATE_REQUEST),
        rt.uow(),
        rt.ports,
    )
    assert _order(console, "&state=rejected") == [second]
    assert _order(console, "&state=submitted") == [first]
    assert _order(console, "&kind=access&state=all") == []
    assert _order(console, f"&state=all&q={first}") == [first]
    with rt.uow(readonly=True) as uow:
        record = uow.requests.get(second)
    assert record is not None
    assert _order(console, f"&state=all&q={record.request.subject_ref}") == [second]
    bad = console.sign_in(Role.VIEWER).get("/admin/?state=nonsense")
    assert bad.status_code == 422


def test_health_strip_counts_states_overdue_failing_and_escalated(console: Console) -> None:
    """Counts by state and overdue; a failing request with its next retry; an escalated party."""
    now = datetime.now(UTC)
    console.submit_at(now - timedelta(days=40))
    failing = console.submit()
    rt = console.runtime
    clock = FixedClock(now)
    retry_at = now + timedelta(minutes=7)
    with rt.uow() as uow:  # what a worker records when a store is down
        record = uow.requests.get(failing)
        assert record is not None
        record.request.verify(Actor.system("otp"), clock)
        record.request.start_cooling_off(rt.ports.cooling_off, Actor.system(), clock)
        record.request.execute(Actor.system(), clock)
        record.request.fail("erasure_failed:delete:shop.orders", Actor.system(), clock)
        record.next_run_at = retry_at
        uow.requests.save(record)
        uow.commit()
    transmitter = Transmitter.from_keys(
        console.settings.public_url,
        load_key(console.settings, "secret"),
        load_key(console.settings, "pseudonym"),
    )
    courier = RecipientConfig(name="courier", delivery="poll", ack_deadline_hours=1)
    with console.engine.begin() as conn:
        outbox.enqueue_account_purged(
            conn,
            FixedClock(now - timedelta(hours=3)),
            failing,
            record.request.subject_ref,
            [courier],
            {"courier": "courier-account-17"},
            transmitter=transmitter,
        )
        assert outbox.escalate_overdue(conn, FixedClock(now))
    html = console.sign_in(Role.VIEWER).get("/admin/?lang=en").text
    strip = html.split('id="health-title"')[1].split('id="queue-title"')[0]
    assert "Overdue requests" in strip
    assert re.search(r'class="bad"><strong>1</strong>', strip)
    assert failing in strip
    assert "erasure_failed:delete:shop.orders" in strip
    assert retry_at.strftime("%Y-%m-%d %H:%M") in strip
    assert "courier has not acknowledged" in strip
    assert f">{State.FAILED.value}<" not in strip  # states are shown by their catalog names
    detail = console.sign_in(Role.VIEWER).get(f"/admin/requests/{failing}?lang=en").text
    assert "courier" in detail
    assert "escalated" in detail
    assert "recipient.notice.queued" in detail  # the ledger entry of the notice
