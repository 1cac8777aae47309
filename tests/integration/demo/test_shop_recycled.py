"""A recycled number in the demo shop, over real HTTP: the whole story.

The old owner has orders and addresses; the carrier gives the number to someone else (marked
through ``POST /v1/identifiers/recycled``); the new holder signs in with a code, is told the
number changed hands, and gets a fresh account with nothing of the old owner's. The old account
is frozen, not erased.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import Engine, Table, func, select

from exitright.clock import SystemClock
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.demo.schema import addresses, orders, users
from exitright.identity import build_guard
from exitright.web import auth
from tests.conftest import LiveServer
from tests.integration.demo.shop_server import shop_server
from tests.integration.demo.test_shop_pages import csrf, sign_in

CST = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    """ExitRight with the shop on 60 seeded users."""
    with shop_server(settings) as live:
        yield live


@pytest.fixture
def demo(settings: Settings) -> Iterator[Engine]:
    """The demo platform's database, as the test reads it."""
    engine = make_engine(settings.demo_url)
    yield engine
    engine.dispose()


@pytest.fixture
def admin(settings: Settings, server: LiveServer) -> dict[str, str]:
    """Authorization headers of an admin API key."""
    engine = make_engine(settings.engine_url)
    try:
        _key, token = auth.create_key(engine, SystemClock(), "recycled-test", ["admin"])
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {token}"}


def browser(server: LiveServer) -> httpx.Client:
    """A fresh browser: its own cookies, no redirects followed."""
    return httpx.Client(base_url=server.url, headers={"Accept-Language": "zh-CN"})


def today() -> date:
    """Today in China, the calendar recycling marks are dated in."""
    return datetime.now(CST).date()


def owners(demo: Engine, count: int) -> list[tuple[int, str]]:
    """Active seeded users with orders and addresses who have not signed in today (China)."""
    midnight = datetime.combine(today(), time(), CST).astimezone(UTC)
    with demo.connect() as conn:
        rows = conn.execute(
            select(users.c.id, users.c.phone)
            .where(
                users.c.status == "active",
                users.c.last_login_at < midnight.replace(tzinfo=None),
                users.c.id.in_(select(orders.c.user_id)),
                users.c.id.in_(select(addresses.c.user_id)),
            )
            .order_by(users.c.id)
            .limit(count)
        ).all()
    assert len(rows) == count
    return [(int(r.id), str(r.phone)) for r in rows]


def count(demo: Engine, table: Table, user_id: int) -> int:
    """How many rows of ``table`` belong to ``user_id``."""
    query = select(func.count()).select_from(table).where(table.c.user_id == user_id)
    with demo.connect() as conn:
        return int(conn.execute(query).scalar_one())


def order_numbers(client: httpx.Client) -> list[str]:
    """The order numbers the orders page shows this browser."""
    return re.findall(r'data-order="(E\d{20})"', client.get("/shop/orders").text)


def mark(client: httpx.Client, admin: dict[str, str], phone: str, on: date) -> None:
    """Record that the carrier gave ``phone`` to a new holder on ``on``."""
    answer = client.post(
        "/v1/identifiers/recycled",
        json={"phone": phone, "recycled_on": on.isoformat(), "reference": "TICKET-1"},
        headers=admin,
    )
    assert answer.status_code == 201, answer.text
    assert phone not in answer.text


def test_the_new_holder_of_a_recycled_number_sees_nothing_of_the_old_owner(
    server: LiveServer, settings: Settings, demo: Engine, admin: dict[str, str]
) -> None:
    """Changed hands: a notice, then a fresh, empty account; the old one frozen, kept, unbound."""
    [(old, phone)] = owners(demo, 1)
    old_orders, old_addresses = count(demo, orders, old), count(demo, addresses, old)
    assert old_orders and old_addresses
    with browser(server) as newcomer:
        mark(newcomer, admin, phone, today())
        done = sign_in(newcomer, phone)
        assert done.status_code == 303
        assert done.headers["location"] == "/shop/signin/changed-hands"
        notice = newcomer.get(done.headers["location"])
        assert notice.status_code == 200 and "这个手机号已经换了主人" in notice.text
        assert "开一个新账号" in notice.text and "电子邮箱" in notice.text
        assert phone not in notice.text
        english = newcomer.get("/shop/signin/changed-hands?lang=en").text
        assert "This number has changed hands" in english and "e-mail address" in english
        # Nothing of the old account opened: no session, no orders.
        opened = newcomer.get("/shop/orders")
        assert opened.status_code == 303 and opened.headers["location"] == "/shop/signin"
        fresh = newcomer.post(
            "/shop/signin/fresh", data={"csrf_token": csrf(newcomer, "/shop/signin/changed-hands")}
        )
        assert fresh.status_code == 303 and fresh.headers["location"] == "/shop/account?welcome=1"
        account = newcomer.get("/shop/account?welcome=1")
        assert f"{phone[:3]}****{phone[-4:]}" in account.text
        assert order_numbers(newcomer) == []
    with demo.connect() as conn:
        new = conn.execute(select(users.c.id).where(users.c.phone == phone)).scalar_one()
        gone = conn.execute(select(users.c.phone, users.c.status).where(users.c.id == old)).one()
    assert new != old
    assert count(demo, orders, new) == 0 and count(demo, addresses, new) == 0
    # The old account is frozen and no longer holds the number; its data is still there.
    assert gone.status == "frozen" and gone.phone == f"recycled:{old}"
    assert count(demo, orders, old) == old_orders
    assert count(demo, addresses, old) == old_addresses
    engine = make_engine(settings.engine_url)
    try:
        freeze = build_guard(settings, engine).frozen(f"user:{old}")
    finally:
        engine.dispose()
    assert freeze is not None and freeze.recycled_on == today()
    # Declining the offer later changes nothing: the offer is spent.
    with browser(server) as other:
        again = other.post("/shop/signin/fresh", data={"csrf_token": csrf(other)})
        assert again.status_code == 303 and again.headers["location"] == "/shop/signin"


def test_the_owner_signs_in_before_the_recycling_date(
    server: LiveServer, demo: Engine, admin: dict[str, str]
) -> None:
    """A reissue announced for tomorrow does not lock the owner out today; the sign-in is
    recorded, so tomorrow's mark is what counts against this sign-in."""
    [(owner, phone)] = owners(demo, 1)
    with browser(server) as client:
        mark(client, admin, phone, today() + timedelta(days=1))
        done = sign_in(client, phone)
        assert done.status_code == 303 and done.headers["location"] == "/shop/"
        assert len(order_numbers(client)) == min(count(demo, orders, owner), 50)
    with demo.connect() as conn:
        row = conn.execute(
            select(users.c.phone, users.c.status, users.c.last_login_at).where(users.c.id == owner)
        ).one()
    assert row.phone == phone and row.status == "active"
    assert datetime.now(UTC).replace(tzinfo=None) - row.last_login_at < timedelta(minutes=5)


def test_a_recycling_mark_older_than_the_last_sign_in_does_not_count(
    server: LiveServer, demo: Engine, admin: dict[str, str]
) -> None:
    """The owner signed in after the day the number was marked: it is still theirs."""
    [(owner, phone)] = owners(demo, 1)
    with demo.connect() as conn:
        last = conn.execute(select(users.c.last_login_at).where(users.c.id == owner)).scalar_one()
    with browser(server) as client:
        mark(client, admin, phone, (last - timedelta(days=2)).date())
        done = sign_in(client, phone)
        assert done.status_code == 303 and done.headers["location"] == "/shop/"
        assert order_numbers(client)
