"""``POST /v1/requests`` with kind ``delete`` (and ``correct``) over real HTTP; the OpenAPI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from exitright.clock import SystemClock
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.demo.schema import search_history, users
from exitright.web import auth
from tests.integration.privacy.conftest import Centre, customer_phone, privacy_server

REDIS_DB = 10  # the demo map's Redis store (the test_*_pages.py modules use it too, never at once)


@pytest.fixture
def centre(settings: Settings) -> Iterator[Centre]:
    """The API with the in-process worker."""
    with privacy_server(settings, cooling_off_days=7, redis_db=REDIS_DB) as live:
        yield live


@pytest.fixture
def api(centre: Centre) -> Iterator[httpx.Client]:
    """A platform back end's client (write, read, verify)."""
    scopes = ["requests:write", "requests:read", "requests:verify"]
    token = auth.create_key(centre.app.state.engine, SystemClock(), "shop", scopes)[1]
    with httpx.Client(base_url=centre.url, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


def completed(api: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    """Submit, verify (the platform signed the user in) and wait for the worker to finish."""
    created = api.post("/v1/requests", json=body)
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    assert api.post(f"/v1/requests/{request_id}/verify").status_code == 200
    deadline = time.monotonic() + 30
    shown = created.json()
    while shown["state"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.2)
        shown = api.get(f"/v1/requests/{request_id}").json()
    assert shown["state"] == "completed", shown
    return dict(shown)


def searches(centre: Centre, phone: str) -> tuple[str, int]:
    """The customer's nickname and number of searches."""
    demo = make_engine(centre.settings.demo_url)
    try:
        with demo.connect() as conn:
            user_id, nickname = conn.execute(
                select(users.c.id, users.c.nickname).where(users.c.phone == phone)
            ).one()
            n = conn.execute(
                select(func.count()).where(search_history.c.user_id == user_id)
            ).scalar_one()
            return str(nickname), int(n)
    finally:
        demo.dispose()


def test_a_platform_deletes_items_and_corrects_fields_over_the_api(
    api: httpx.Client, centre: Centre
) -> None:
    """kind=delete with a scope, kind=correct with values; responses never echo the values."""
    phone = customer_phone(centre.settings)
    assert searches(centre, phone)[1] > 0
    deleted = completed(
        api,
        {"kind": "delete", "identifiers": {"phone": phone}, "scope": ["platform.search_history"]},
    )
    assert deleted["scope"] == ["platform.search_history"]
    assert searches(centre, phone)[1] == 0

    fixed = completed(
        api,
        {
            "kind": "correct",
            "identifiers": {"phone": phone},
            "values": {"platform.users.nickname": "API 改名"},
        },
    )
    assert fixed["scope"] == ["platform.users.nickname"]
    assert "API 改名" not in str(fixed)
    assert searches(centre, phone)[0] == "API 改名"


def test_bad_items_and_values_are_4xx_in_the_error_model(api: httpx.Client) -> None:
    """An item not offered, a value of the wrong kind, values on a delete: 422 with a code."""
    for body in (
        {"kind": "delete", "identifiers": {"phone": "13800138000"}, "scope": ["platform.orders"]},
        {
            "kind": "correct",
            "identifiers": {"phone": "13800138000"},
            "values": {"platform.users.email": "nope"},
        },
        {
            "kind": "delete",
            "identifiers": {"phone": "13800138000"},
            "scope": ["platform.search_history"],
            "values": {"platform.users.nickname": "x"},
        },
    ):
        reply = api.post("/v1/requests", json=body)
        assert reply.status_code == 422, reply.text
        error = reply.json()["error"]
        assert error["code"] == "invalid_request"
        assert error["message"]["zh-CN"] and error["message"]["en"]
        assert "nope" not in reply.text


def test_the_openapi_documents_the_kinds_bodies_and_the_export(api: httpx.Client) -> None:
    """SubmitBody has scope and values with their formats; the export path is listed."""
    spec = api.get("/openapi.json").json()
    body = spec["components"]["schemas"]["SubmitBody"]
    assert {"scope", "values"} <= set(body["properties"])
    assert "store.table:key" in body["properties"]["scope"]["description"]
    assert "correctable" in body["properties"]["values"]["description"]
    assert "/v1/requests/{request_id}/export" in spec["paths"]
