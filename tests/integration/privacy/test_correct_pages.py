""" "Correct my data" over real HTTP: the fields from the map, the code, the rows updated."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.demo.schema import addresses, users
from exitright.i18n import gettext
from tests.integration.privacy.conftest import (
    Centre,
    codes,
    csrf,
    customer_phone,
    privacy_server,
    wait_for_code,
    wait_for_state,
)

REDIS_DB = 10  # the demo map's Redis store (the other test_*_pages.py use it too, never at once)


@pytest.fixture
def centre(settings: Settings) -> Iterator[Centre]:
    """The privacy centre with the in-process worker."""
    with privacy_server(settings, cooling_off_days=7, redis_db=REDIS_DB) as live:
        yield live


@pytest.fixture
def client(centre: Centre) -> Iterator[httpx.Client]:
    """A browser-like client in English: keeps cookies, does not follow redirects."""
    with httpx.Client(base_url=centre.url, headers={"Accept-Language": "en"}) as c:
        yield c


def account(centre: Centre, phone: str) -> tuple[int, str, int, str]:
    """The customer's id and nickname, and the id and receiver phone of their first address."""
    demo = make_engine(centre.settings.demo_url)
    try:
        with demo.connect() as conn:
            user = conn.execute(select(users.c.id, users.c.nickname).where(users.c.phone == phone))
            user_id, nickname = user.one()
            address = conn.execute(
                select(addresses.c.id, addresses.c.receiver_phone)
                .where(addresses.c.user_id == user_id)
                .order_by(addresses.c.id)
                .limit(1)
            ).one()
            return int(user_id), str(nickname), int(address[0]), str(address[1])
    finally:
        demo.dispose()


def test_the_page_offers_the_account_s_fields_and_a_named_row_s(client: httpx.Client) -> None:
    """The nickname and e-mail of the account; an address' fields when a row is named."""
    page = client.get("/privacy/correct", params={"row": "platform.addresses:5"})
    assert page.status_code == 200
    assert 'name="value:platform.users.nickname"' in page.text
    assert 'name="value:platform.users.email"' in page.text
    assert 'name="value:platform.addresses:5.detail"' in page.text
    assert 'name="value:platform.users.phone"' not in page.text
    assert 'href="/privacy/correct"' in client.get("/privacy").text


def test_the_new_values_are_written_after_the_code(client: httpx.Client, centre: Centre) -> None:
    """A nickname and an address' phone (typed with spaces, stored as 11 digits)."""
    phone = customer_phone(centre.settings)
    user_id, _old, address_id, _receiver = account(centre, phone)
    before = len(codes(client))
    row = f"platform.addresses:{address_id}"
    token = csrf(client, "/privacy/correct")
    page = client.post(
        "/privacy/correct",
        data={
            "csrf_token": token,
            "contact": phone,
            "rows": [row],
            "value:platform.users.nickname": "New name",
            f"value:{row}.receiver_phone": "139 0000 1111",
            "value:platform.users.email": "",
        },
    )
    assert page.status_code == 200, page.text
    assert 'action="/privacy/correct/verify"' in page.text
    data = {"csrf_token": token, "contact": phone, "code": wait_for_code(client, before)}
    done = client.post("/privacy/correct/verify", data={**data, "confirm": "yes"})
    assert done.status_code == 303, done.text
    wait_for_state(client, done.headers["location"], ("completed",))
    _id, nickname, _address, receiver = account(centre, phone)
    assert (nickname, receiver) == ("New name", "13900001111")
    assert _id == user_id


def test_a_bad_value_comes_back_on_the_page_naming_the_field(client: httpx.Client) -> None:
    """A 422 with the form, the typed values kept, no code sent."""
    before = len(codes(client))
    token = csrf(client, "/privacy/correct")
    page = client.post(
        "/privacy/correct",
        data={
            "csrf_token": token,
            "contact": "13800138000",
            "value:platform.users.email": "nope",
        },
    )
    assert page.status_code == 422
    assert gettext("en", "kinds.error.value", field="platform.users.email") in page.text
    assert 'value="nope"' in page.text
    empty = client.post("/privacy/correct", data={"csrf_token": token, "contact": "1"})
    assert empty.status_code == 422
    assert gettext("en", "kinds.correct.none_given") in empty.text
    assert len(codes(client)) == before
