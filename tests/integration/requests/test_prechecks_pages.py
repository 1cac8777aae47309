"""The status page of a blocked cancellation: why, a link to resolve it, and "check again"."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from exitright import worker
from exitright.admin.models import Role
from exitright.cancellation import services
from exitright.cancellation.commands import VerifyRequest
from exitright.cancellation.model import Actor, RequestKind
from exitright.cancellation.ports import Identifiers
from exitright.config import Settings
from tests.integration.admin.conftest import Console
from tests.integration.admin.conftest import console as console  # a fixture
from tests.integration.admin.conftest import (  # a fixture console needs
    console_settings as console_settings,
)
from tests.integration.privacy.conftest import (
    Centre,
    codes,
    csrf,
    privacy_server,
    wait_for_code,
    wait_for_state,
)
from tests.integration.requests.test_prechecks import (
    customer_with_an_order,
    form_token,
    shop_sign_in,
)

REDIS_DB = 15  # the demo map's Redis store for this module (no other suite uses 15)


@pytest.fixture
def centre(settings: Settings) -> Iterator[Centre]:
    """The privacy centre over a seeded demo shop, 7 days of cooling-off, worker in process."""
    with privacy_server(settings, cooling_off_days=7, redis_db=REDIS_DB) as live:
        yield live


def cancel_on_the_page(client: httpx.Client, phone: str) -> str:
    """The logged-out flow up to the status page; returns its path."""
    before = len(codes(client))
    started = client.post("/privacy/cancel", data={"csrf_token": csrf(client), "contact": phone})
    assert started.status_code == 200, started.text[:300]
    data = {
        "csrf_token": csrf(client),
        "contact": phone,
        "code": wait_for_code(client, before),
        "confirm": "yes",
    }
    done = client.post("/privacy/cancel/verify", data=data)
    assert done.status_code == 303, done.text[:300]
    return str(done.headers["location"])


def test_the_status_page_explains_the_block_links_to_the_orders_and_checks_again(
    centre: Centre,
) -> None:
    """Blocked by an open order → resolved in the shop → "check again" → cooling-off."""
    phone, _user_id, order_no = customer_with_an_order(centre.settings)
    with httpx.Client(base_url=centre.url, headers={"Accept-Language": "zh-CN"}) as client:
        path = cancel_on_the_page(client, phone)
        page = wait_for_state(client, path, ("blocked",))
        blockers = page[page.index('id="blockers"') :]
        assert 'data-check="open_orders"' in blockers
        assert "您有尚未送达或尚未完成的订单" in blockers  # the explanation, zh-CN
        assert "请前往订单页面确认收货或取消订单" in blockers  # and how to resolve it
        assert 'href="/shop/orders?status=open"' in blockers
        assert "重新检查" in blockers
        assert "平台绝不会要求您付款" in page  # the no-payment notice is on this page too

        # "Check again" while the order is still open changes nothing.
        again = client.post(f"{path}/recheck", data={"csrf_token": form_token(client, path)})
        assert again.status_code == 303
        assert 'data-state="blocked"' in client.get(path).text

        shop_sign_in(client, centre.settings, phone)
        token = form_token(client, "/shop/orders?status=open")
        client.post(f"/shop/orders/{order_no}/receive", data={"csrf_token": token})
        again = client.post(f"{path}/recheck", data={"csrf_token": form_token(client, path)})
        assert again.status_code == 303 and again.headers["location"] == path
        page = client.get(path).text
        assert 'data-state="cooling_off"' in page
        assert 'id="blockers"' not in page


def test_check_again_is_only_for_the_browser_that_made_the_request(centre: Centre) -> None:
    """Another browser gets "not found", like for any request that is not its own."""
    phone, _user_id, _order_no = customer_with_an_order(centre.settings)
    with httpx.Client(base_url=centre.url) as owner, httpx.Client(base_url=centre.url) as other:
        path = cancel_on_the_page(owner, phone)
        token = csrf(other)
        answer = other.post(f"{path}/recheck", data={"csrf_token": token})
        assert answer.status_code == 404
        assert re.search(r'data-state="(verified|blocked)"', owner.get(path).text)


def test_the_admin_console_lists_a_blocked_requests_pre_checks_with_their_texts(
    console: Console,  # the fixture imported above
) -> None:
    """The request page names each blocking check, its explanation and its resolution."""
    phone, _user_id, _order_no = customer_with_an_order(console.settings)
    rt = console.runtime
    command = services.OpenRequest(RequestKind.CANCEL, Identifiers("phone", phone), Actor.user())
    request_id = services.submit(command, rt.uow(), rt.ports).record.request.id
    services.verify(VerifyRequest(request_id, Actor.system("otp")), rt.uow(), rt.ports)
    worker.run_once(rt, "test-worker")
    page = console.sign_in(Role.VIEWER).get(f"/admin/requests/{request_id}").text
    blockers = page[page.index('id="blockers"') :]
    assert "<code>open_orders</code>" in blockers
    assert "您有尚未送达或尚未完成的订单" in blockers
    assert "请前往订单页面确认收货或取消订单" in blockers
    assert phone not in page
