"""Pre-checks that run, end to end over HTTP: blocked → resolved in the shop → completed.

The demo platform's pre-checks are on by default (open orders, wallet balance, open disputes,
as count queries on its store). A customer with an order on its way and money in the wallet
asks to cancel: the platform refunds the wallet to the original payment method (a real change
in the demo database, recorded in its wallet ledger), the open order blocks the request, the
API and the status page say why and link to the open orders, the customer confirms receipt in
the shop, and the request goes on to completion. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import Engine, select, update

from exitright import worker
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.demo.prechecks import REFUND_KIND
from exitright.demo.schema import deliveries, orders, sms_outbox, users, wallet_ledger, wallets
from tests.integration.requests.conftest import Api

BALANCE = 1234


def _demo(settings: Settings) -> Engine:
    return make_engine(settings.demo_url)


def customer_with_an_order(settings: Settings) -> tuple[str, int, str]:
    """(phone, user id, order number) of a seeded customer, whose newest order is now on its way
    and whose wallet holds a balance."""
    demo = _demo(settings)
    try:
        with demo.begin() as conn:
            user_id, phone = conn.execute(
                select(users.c.id, users.c.phone)
                .join(orders, orders.c.user_id == users.c.id)
                .where(users.c.status == "active")
                .order_by(users.c.id)
                .limit(1)
            ).one()
            order_id, order_no = conn.execute(
                select(orders.c.id, orders.c.order_no)
                .where(orders.c.user_id == user_id)
                .order_by(orders.c.id.desc())
                .limit(1)
            ).one()
            conn.execute(
                update(orders)
                .where(orders.c.id == order_id)
                .values(status="delivering", completed_at=None, cancelled_at=None)
            )
            conn.execute(
                update(deliveries)
                .where(deliveries.c.order_id == order_id)
                .values(status="in_transit", delivered_at=None)
            )
            conn.execute(
                update(wallets).where(wallets.c.user_id == user_id).values(balance_cents=BALANCE)
            )
    finally:
        demo.dispose()
    return str(phone), int(user_id), str(order_no)


def wallet_of(settings: Settings, user_id: int) -> tuple[int, list[tuple[str, int, int]]]:
    """The balance, and the wallet ledger's (kind, amount, balance after) rows, oldest first."""
    demo = _demo(settings)
    try:
        with demo.connect() as conn:
            balance = conn.execute(
                select(wallets.c.balance_cents).where(wallets.c.user_id == user_id)
            ).scalar_one()
            rows = conn.execute(
                select(
                    wallet_ledger.c.kind,
                    wallet_ledger.c.amount_cents,
                    wallet_ledger.c.balance_after_cents,
                )
                .where(wallet_ledger.c.user_id == user_id)
                .order_by(wallet_ledger.c.id)
            ).all()
    finally:
        demo.dispose()
    return int(balance), [(str(k), int(a), int(b)) for k, a, b in rows]


def form_token(client: httpx.Client, path: str) -> str:
    """The CSRF token of the form on ``path``."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, f"{path} has no form"
    return match.group(1)


def shop_sign_in(client: httpx.Client, settings: Settings, phone: str) -> None:
    """Sign in to the demo shop with a code, as its customer would (the code from the outbox)."""
    token = form_token(client, "/shop/signin")
    sent = client.post("/shop/signin", data={"phone": phone, "csrf_token": token})
    assert sent.status_code == 303, sent.text[:300]
    demo = _demo(settings)
    try:
        with demo.connect() as conn:
            body = conn.execute(
                select(sms_outbox.c.body)
                .where(sms_outbox.c.phone == phone, sms_outbox.c.template == "login_code")
                .order_by(sms_outbox.c.id.desc())
                .limit(1)
            ).scalar_one()
    finally:
        demo.dispose()
    code = re.search(r"(\d{6})", body)
    assert code is not None
    token = form_token(client, "/shop/signin/code")
    done = client.post("/shop/signin/code", data={"code": code.group(1), "csrf_token": token})
    assert done.status_code == 303, done.text[:300]


def run_worker(api: Api, rounds: int = 5) -> None:
    """Let the worker take every due step (the API fixture runs none by itself)."""
    for _ in range(rounds):
        if worker.run_once(api.runtime, "test-worker") == 0:
            return


def test_a_blocked_cancellation_is_resolved_in_the_shop_and_completes(api: Api) -> None:
    """Wallet refunded by the platform; open order blocks with a link; received; completed."""
    api.runtime.ports.precheck_interval = timedelta(0)  # look again on every worker round
    phone, user_id, order_no = customer_with_an_order(api.settings)
    headers = api.auth(api.writer)
    created = httpx.post(
        f"{api.url}/v1/requests",
        json={"kind": "cancel", "identifiers": {"phone": phone}},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    verified = httpx.post(f"{api.url}/v1/requests/{request_id}/verify", headers=headers)
    assert verified.json()["state"] == "verified"

    run_worker(api, rounds=1)
    shown = httpx.get(f"{api.url}/v1/requests/{request_id}", headers=headers).json()
    assert shown["state"] == "blocked"
    [blocker] = shown["blockers"]
    assert blocker["id"] == "open_orders"
    assert blocker["resolution_kind"] == "link"
    assert blocker["link"].endswith("/shop/orders?status=open")
    assert set(blocker["explanation"]) == {"zh-CN", "en"}
    assert "未完成的订单" in blocker["explanation"]["zh-CN"]
    assert blocker["resolution"]["en"].startswith("Open your orders")
    assert phone not in created.text + str(shown)

    # The platform refunded the balance to the original payment method: a real ledger row.
    balance, ledger = wallet_of(api.settings, user_id)
    assert balance == 0
    assert ledger[-1] == (REFUND_KIND, -BALANCE, 0)

    with httpx.Client(base_url=api.url, follow_redirects=False) as shop:
        shop_sign_in(shop, api.settings, phone)
        listed = shop.get("/shop/orders?status=open")
        assert f'data-order="{order_no}"' in listed.text
        token = form_token(shop, "/shop/orders?status=open")
        received = shop.post(f"/shop/orders/{order_no}/receive", data={"csrf_token": token})
        assert received.status_code == 303
        assert f'data-order="{order_no}"' not in shop.get("/shop/orders?status=open").text

    run_worker(api)
    done = httpx.get(f"{api.url}/v1/requests/{request_id}", headers=headers).json()
    assert done["state"] == "completed", done["timeline"]
    assert done["blockers"] == []
    steps = [s["to"] for s in done["timeline"]]
    assert steps[:4] == ["submitted", "verified", "blocked", "cooling_off"]
    assert done["certificate_url"]


def test_a_blocked_request_that_is_still_blocked_is_not_let_through(api: Api) -> None:
    """Rounds of the worker keep it blocked while the order is open; revoking still works."""
    api.runtime.ports.precheck_interval = timedelta(0)
    phone, _user_id, _order_no = customer_with_an_order(api.settings)
    headers = api.auth(api.writer)
    request_id = httpx.post(
        f"{api.url}/v1/requests",
        json={"kind": "cancel", "identifiers": {"phone": phone}},
        headers=headers,
    ).json()["id"]
    httpx.post(f"{api.url}/v1/requests/{request_id}/verify", headers=headers)
    run_worker(api, rounds=3)
    shown = httpx.get(f"{api.url}/v1/requests/{request_id}", headers=headers).json()
    assert shown["state"] == "blocked"
    assert [s["to"] for s in shown["timeline"]].count("blocked") == 1
    revoked = httpx.post(f"{api.url}/v1/requests/{request_id}/revoke", headers=headers)
    assert revoked.json()["state"] == "revoked"
    assert revoked.json()["blockers"] == []
