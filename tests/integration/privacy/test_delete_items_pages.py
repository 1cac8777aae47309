""" "Delete items" over real HTTP: the choices from the map, the code, exactly those rows gone."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.demo.schema import addresses, search_history, users
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

REDIS_DB = 10  # the demo map's Redis store (test_export_pages.py uses it too, never at once)


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


def holdings(centre: Centre, phone: str) -> tuple[int, list[int], int]:
    """The customer's id, address ids and search history count."""
    demo = make_engine(centre.settings.demo_url)
    try:
        with demo.connect() as conn:
            user_id = conn.execute(select(users.c.id).where(users.c.phone == phone)).scalar_one()
            ids = conn.execute(
                select(addresses.c.id).where(addresses.c.user_id == user_id).order_by("id")
            ).scalars()
            searches = conn.execute(
                select(func.count()).where(search_history.c.user_id == user_id)
            ).scalar_one()
            return int(user_id), list(ids), int(searches)
    finally:
        demo.dispose()


def test_the_page_offers_the_map_s_items_and_a_preselected_row(client: httpx.Client) -> None:
    """Each group with its label; a row a platform page preselected, named by number only."""
    page = client.get("/privacy/delete", params={"item": "platform.addresses:7"})
    assert page.status_code == 200
    for ref in ("platform.addresses", "platform.search_history", "platform.favourites"):
        assert f'value="{ref}"' in page.text
    assert 'value="platform.orders"' not in page.text
    assert 'value="platform.addresses:7" checked' in page.text
    assert gettext("en", "kinds.delete.all", what="search history") in page.text
    assert 'href="/privacy/delete"' in client.get("/privacy").text


def test_the_ticked_items_go_after_the_code_and_nothing_else(
    client: httpx.Client, centre: Centre
) -> None:
    """One address and all search history; the other addresses stay."""
    phone = customer_phone(centre.settings)
    _user, ids, searches = holdings(centre, phone)
    assert ids and searches
    before = len(codes(client))
    chosen = [f"platform.addresses:{ids[0]}", "platform.search_history"]
    token = csrf(client, "/privacy/delete")
    page = client.post(
        "/privacy/delete", data={"csrf_token": token, "contact": phone, "items": chosen}
    )
    assert page.status_code == 200, page.text
    assert 'action="/privacy/delete/verify"' in page.text
    data = {"csrf_token": token, "contact": phone, "code": wait_for_code(client, before)}
    done = client.post("/privacy/delete/verify", data={**data, "confirm": "yes"})
    assert done.status_code == 303, done.text
    page = wait_for_state(client, done.headers["location"], ("completed",))
    assert gettext("en", "kinds.status.completed.delete") in page
    assert gettext("en", "privacy.status.completed") not in page
    _user, left, searches_left = holdings(centre, phone)
    assert left == ids[1:]
    assert searches_left == 0


def test_nothing_ticked_or_an_item_not_offered_is_a_422_on_the_page(client: httpx.Client) -> None:
    """The form comes back with the error; no request, no code."""
    token = csrf(client, "/privacy/delete")
    before = len(codes(client))
    empty = client.post("/privacy/delete", data={"csrf_token": token, "contact": "13800138000"})
    assert empty.status_code == 422
    assert gettext("en", "kinds.delete.none_chosen") in empty.text
    odd = client.post(
        "/privacy/delete",
        data={"csrf_token": token, "contact": "13800138000", "items": ["platform.orders"]},
    )
    assert odd.status_code == 422
    assert gettext("en", "kinds.error.scope") in odd.text
    assert len(codes(client)) == before
