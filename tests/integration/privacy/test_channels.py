"""Official channels from settings on every cancellation page; the signed-in phone prefilled."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from exitright.config import Settings
from exitright.db.requests import RequestRow
from exitright.i18n import gettext
from tests.integration.privacy.conftest import (
    Centre,
    codes,
    csrf,
    customer_phone,
    privacy_server,
    wait_for_code,
)
from tests.integration.requests.test_prechecks import shop_sign_in

REDIS_DB = 0  # the demo map's Redis store for this module (no other suite uses 0)
WEBSITE = "https://shop.example.cn/account/cancel"
APP = "优享生活"
HOTLINE = "400-000-0000"


@pytest.fixture
def centre(settings: Settings) -> Iterator[Centre]:
    """The privacy centre with the platform's official channels configured."""
    configured = settings.model_copy(
        update={
            "official_website": WEBSITE,
            "official_app_name": APP,
            "official_hotline": HOTLINE,
        }
    )
    with privacy_server(configured, cooling_off_days=7, redis_db=REDIS_DB) as live:
        yield live


def assert_channels(page: str, lang: str = "zh-CN") -> None:
    """The no-payment notice names every configured channel."""
    notice = page[page.index('id="no-payment"') :]
    notice = notice[: notice.index("</aside>")]
    assert gettext(lang, "requests.no_payment_notice").split("{")[0] in notice
    assert WEBSITE in notice and APP in notice and HOTLINE in notice
    assert 'data-channel="hotline"' in notice


def test_every_cancellation_page_says_no_money_and_names_the_official_channels(
    centre: Centre,
) -> None:
    """Centre, cancel, code, status and the shop's Account & privacy page, from settings."""
    phone = customer_phone(centre.settings)
    with httpx.Client(base_url=centre.url, headers={"Accept-Language": "zh-CN"}) as client:
        for path in ("/privacy", "/privacy/cancel"):
            assert_channels(client.get(path).text)
        before = len(codes(client))
        code_page = client.post(
            "/privacy/cancel", data={"csrf_token": csrf(client), "contact": phone}
        )
        assert_channels(code_page.text)
        data = {
            "csrf_token": csrf(client),
            "contact": phone,
            "code": wait_for_code(client, before),
            "confirm": "yes",
        }
        status = client.post("/privacy/cancel/verify", data=data).headers["location"]
        assert_channels(client.get(status).text)
    with httpx.Client(base_url=centre.url, headers={"Accept-Language": "en"}) as shop:
        shop_sign_in(shop, centre.settings, customer_phone(centre.settings))
        assert_channels(shop.get("/shop/account").text, "en")


def test_without_settings_the_demo_names_its_own_website_and_app(settings: Settings) -> None:
    """The default: this deployment's cancellation address and the demo shop's name."""
    with (
        privacy_server(settings, cooling_off_days=7, worker=False, redis_db=REDIS_DB) as live,
        httpx.Client(base_url=live.url, headers={"Accept-Language": "zh-CN"}) as client,
    ):
        page = client.get("/privacy/cancel").text
    notice = page[page.index('id="no-payment"') :]
    assert f"{settings.public_url}/privacy/cancel" in notice
    assert gettext("zh-CN", "shop.name") in notice
    assert 'data-channel="hotline"' not in notice  # no number is invented


def test_the_cancel_page_prefills_the_signed_in_shop_users_phone_without_submitting(
    centre: Centre,
) -> None:
    """Signed in to the shop: the phone is in the form; nothing was submitted for it."""
    phone = customer_phone(centre.settings)
    with httpx.Client(base_url=centre.url) as client:
        blank = client.get("/privacy/cancel").text
        assert re.search(r'name="contact"[^>]*value=""', blank, re.S)
        shop_sign_in(client, centre.settings, phone)
        page = client.get("/privacy/cancel").text
    assert re.search(rf'name="contact"[^>]*value="{phone}"', page, re.S)
    with centre.app.state.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(RequestRow)).scalar_one() == 0
