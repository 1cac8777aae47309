""" "Download my data" over real HTTP: the page, the code, the status page's link, the zip.

Also the REST side: ``GET /v1/requests/{id}/export`` for the key that created the request only.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Iterator

import httpx
import pytest

from exitright.clock import SystemClock
from exitright.config import Settings
from exitright.i18n import gettext
from exitright.web import auth
from tests.integration.privacy.conftest import (
    Centre,
    codes,
    csrf,
    customer_phone,
    privacy_server,
    wait_for_code,
    wait_for_state,
)

STATUS = re.compile(r"^/privacy/requests/(req_[a-z2-7]+)$")
REDIS_DB = 10  # the demo map's Redis store for this module; other suites use 3-9 and 11-13


@pytest.fixture
def centre(settings: Settings) -> Iterator[Centre]:
    """The privacy centre with the in-process worker (an access request needs no cooling-off)."""
    with privacy_server(settings, cooling_off_days=7, redis_db=REDIS_DB) as live:
        yield live


@pytest.fixture
def client(centre: Centre) -> Iterator[httpx.Client]:
    """A browser-like client in Chinese: keeps cookies, does not follow redirects."""
    with httpx.Client(base_url=centre.url, headers={"Accept-Language": "zh-CN"}) as c:
        yield c


def request_access(client: httpx.Client, phone: str) -> str:
    """The access flow up to the status page; returns its path."""
    before = len(codes(client))
    token = csrf(client, "/privacy/access")
    page = client.post("/privacy/access", data={"csrf_token": token, "contact": phone})
    assert page.status_code == 200, page.text
    assert 'action="/privacy/access/verify"' in page.text
    assert gettext("zh-CN", "kinds.verify.confirm.access") in page.text
    code = wait_for_code(client, before)
    data = {"csrf_token": csrf(client, "/privacy/access"), "contact": phone, "code": code}
    done = client.post("/privacy/access/verify", data={**data, "confirm": "yes"})
    assert done.status_code == 303, done.text
    assert STATUS.match(done.headers["location"])
    return str(done.headers["location"])


def test_the_privacy_centre_leads_to_download_my_data_which_lists_the_tables(
    client: httpx.Client,
) -> None:
    """The centre's home links to the page; it lists the tables and categories from the map."""
    assert 'href="/privacy/access"' in client.get("/privacy").text
    page = client.get("/privacy/access")
    assert page.status_code == 200
    assert "<code>platform.orders</code>" in page.text
    assert "<code>platform.products</code>" not in page.text  # reference data, not yours
    assert gettext("zh-CN", "privacy.pi.contact.phone") in page.text
    assert gettext("zh-CN", "kinds.access.steps.download", days=7) in page.text


def test_a_verified_access_request_is_downloaded_from_its_status_page(
    client: httpx.Client, centre: Centre
) -> None:
    """Code, confirm, the worker prepares the zip, the status page links it, it downloads."""
    phone = customer_phone(centre.settings)
    path = request_access(client, phone)
    page = wait_for_state(client, path, ("completed",))
    assert f'href="{path}/export"' in page
    reply = client.get(f"{path}/export")
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/zip"
    assert "attachment" in reply.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(reply.content)) as zf:
        assert {"manifest.json", "platform/users.json", "platform/orders.csv"} <= set(zf.namelist())

    # Another browser does not get it, nor learns that it exists.
    with httpx.Client(base_url=centre.url) as stranger:
        assert stranger.get(f"{path}/export").status_code == 404


def test_a_wrong_number_gets_the_form_again_and_a_cancellation_has_no_export(
    client: httpx.Client, centre: Centre
) -> None:
    """Bad input is a 422 on the page; the export of a non-access request is a 409, not a 500."""
    token = csrf(client, "/privacy/access")
    bad = client.post("/privacy/access", data={"csrf_token": token, "contact": "12"})
    assert bad.status_code == 422
    assert 'action="/privacy/access"' in bad.text
    assert client.post("/privacy/access/verify", data={"csrf_token": token}).status_code == 303
    assert client.get("/privacy/nothing/verify").status_code == 404


def test_only_the_key_that_asked_downloads_the_export_over_the_api(centre: Centre) -> None:
    """POST kind=access, verify, the worker completes it; its key downloads, others get 404."""
    engine = centre.app.state.engine
    clock = SystemClock()
    scopes = ["requests:write", "requests:read", "requests:verify"]
    mine = auth.create_key(engine, clock, "shop", scopes)[1]
    other = auth.create_key(engine, clock, "other", scopes)[1]
    admin = auth.create_key(engine, clock, "ops", ["admin"])[1]
    phone = customer_phone(centre.settings)
    with httpx.Client(base_url=centre.url, headers={"Authorization": f"Bearer {mine}"}) as api:
        created = api.post("/v1/requests", json={"kind": "access", "identifiers": {"phone": phone}})
        assert created.status_code == 201, created.text
        request_id = created.json()["id"]
        assert created.json()["export_url"] is None
        assert api.post(f"/v1/requests/{request_id}/verify").status_code == 200
        body = created.json()
        deadline = time.monotonic() + 30
        while body["state"] != "completed" and time.monotonic() < deadline:
            time.sleep(0.2)
            body = api.get(f"/v1/requests/{request_id}").json()
        assert body["state"] == "completed", body
        assert body["export_url"] == f"/v1/requests/{request_id}/export"
        reply = api.get(body["export_url"])
        assert reply.status_code == 200
        assert reply.headers["content-type"] == "application/zip"
        zipfile.ZipFile(io.BytesIO(reply.content)).testzip()

        scoped = api.post(
            "/v1/requests",
            json={"kind": "access", "identifiers": {"phone": phone}, "scope": ["orders"]},
        )
        assert scoped.status_code == 422
        error = scoped.json()["error"]
        assert error["code"] == "invalid_request"
        assert error["message"]["en"] == gettext("en", "kinds.error.scope")
    for token in (other, admin):
        with httpx.Client(base_url=centre.url, headers={"Authorization": f"Bearer {token}"}) as c:
            assert c.get(f"/v1/requests/{request_id}/export").status_code == 404
