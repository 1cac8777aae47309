"""The demo shop over real HTTP: sign up and in with a one-time code, orders, Account & privacy."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.demo.schema import users
from exitright.demo.seed import demo_phones
from tests.conftest import LiveServer
from tests.integration.demo.shop_server import shop_server


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    """ExitRight with the shop on 60 seeded users."""
    with shop_server(settings) as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    """A browser-like client: keeps cookies, does not follow redirects by itself."""
    with httpx.Client(base_url=server.url, headers={"Accept-Language": "zh-CN"}) as c:
        yield c


def csrf(client: httpx.Client, path: str = "/shop/signin") -> str:
    """The CSRF token of a page's form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, f"{path} has no form"
    return match.group(1)


def latest_code(client: httpx.Client) -> str:
    """The newest code on the developer page."""
    match = re.search(r'class="otp">(\d{6})<', client.get("/shop/dev/codes").text)
    assert match
    return match.group(1)


def sign_in(client: httpx.Client, phone: str) -> httpx.Response:
    """Request a code for ``phone`` and type it in; returns the code form's response."""
    token = csrf(client)
    sent = client.post("/shop/signin", data={"csrf_token": token, "phone": phone})
    assert sent.status_code == 303 and sent.headers["location"] == "/shop/signin/code"
    return client.post("/shop/signin/code", data={"csrf_token": token, "code": latest_code(client)})


def test_the_home_page_offers_sign_in_and_account_and_privacy(client: httpx.Client) -> None:
    """Signed out, the shop shows products, a sign-in button and the Account & privacy link."""
    page = client.get("/shop/")
    assert page.status_code == 200
    assert 'href="/shop/signin"' in page.text and 'href="/shop/account"' in page.text
    assert "账号与隐私" in page.text
    assert "Account &amp; privacy" in client.get("/shop/?lang=en").text


def test_a_new_number_signs_up_with_a_code_and_lands_on_account_and_privacy(
    client: httpx.Client, settings: Settings
) -> None:
    """The code creates the account, with a wallet, and opens Account & privacy."""
    done = sign_in(client, "+86 199-0000-0001")
    assert done.status_code == 303 and done.headers["location"] == "/shop/account?welcome=1"
    page = client.get("/shop/account?welcome=1")
    assert "199****0001" in page.text and "19900000001" not in page.text
    engine = make_engine(settings.demo_url)
    with engine.connect() as conn:
        assert conn.execute(select(users.c.id).where(users.c.phone == "19900000001")).first()
    engine.dispose()


def test_a_seeded_user_signs_in_and_sees_their_orders(
    client: httpx.Client, settings: Settings
) -> None:
    """The busiest demo user gets their orders, newest first, with order numbers."""
    engine = make_engine(settings.demo_url)
    phone = demo_phones(engine)[0]
    engine.dispose()
    done = sign_in(client, phone)
    assert done.headers["location"] == "/shop/"
    orders = client.get("/shop/orders")
    assert orders.status_code == 200
    numbers = re.findall(r"<code>(E\d{20})</code>", orders.text)
    assert numbers and numbers == sorted(numbers, key=lambda n: n[1:9], reverse=True)


def test_a_wrong_code_is_refused_and_a_code_works_only_once(client: httpx.Client) -> None:
    """Wrong code: 422 with a message; a used code cannot sign in again."""
    token = csrf(client)
    client.post("/shop/signin", data={"csrf_token": token, "phone": "19900000002"})
    code = latest_code(client)
    wrong = "000000" if code != "000000" else "111111"
    refused = client.post("/shop/signin/code", data={"csrf_token": token, "code": wrong})
    assert refused.status_code == 422 and "验证码不正确" in refused.text
    assert (
        client.post("/shop/signin/code", data={"csrf_token": token, "code": code}).status_code
        == 303
    )
    client.post("/shop/signout", data={"csrf_token": token})
    client.cookies.clear()
    # A fresh session cannot reuse it either: it has no pending code at all.
    again = client.post("/shop/signin/code", data={"csrf_token": csrf(client), "code": code})
    assert again.status_code == 303 and again.headers["location"] == "/shop/signin"


@pytest.mark.parametrize("phone", ["12345", "14012345678", "138001380001"])
def test_an_invalid_number_gets_the_form_back_with_a_message(
    client: httpx.Client, phone: str
) -> None:
    """Not a mainland mobile number: 422 and the reason, no code sent."""
    page = client.post("/shop/signin", data={"csrf_token": csrf(client), "phone": phone})
    assert page.status_code == 422
    assert "请输入正确的中国大陆手机号" in page.text


def test_a_second_code_within_a_minute_is_refused(client: httpx.Client) -> None:
    """Codes are rate-limited per number."""
    token = csrf(client)
    assert (
        client.post("/shop/signin", data={"csrf_token": token, "phone": "19900000003"}).status_code
        == 303
    )
    again = client.post("/shop/signin", data={"csrf_token": token, "phone": "19900000003"})
    assert again.status_code == 429


def test_forms_without_the_csrf_token_are_refused(client: httpx.Client) -> None:
    """A cross-site post cannot request codes or sign in."""
    assert client.post("/shop/signin", data={"phone": "19900000004"}).status_code == 403


def test_pages_for_signed_in_users_send_others_to_sign_in(client: httpx.Client) -> None:
    """Orders and Account & privacy redirect to the sign-in page when signed out."""
    for path in ("/shop/orders", "/shop/account"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/shop/signin"


def test_the_developer_page_does_not_exist_in_production(settings: Settings) -> None:
    """Production has no code page: it answers 404."""
    keys = {f"{name}_key": SecretStr(f"{name}-key-for-tests-only-0123456789abcdef")
            for name in ("secret", "pseudonym", "vault_master")}  # fmt: skip
    production = settings.model_copy(update={"environment": "production", **keys})
    with shop_server(production) as live, httpx.Client(base_url=live.url) as c:
        assert c.get("/shop/dev/codes").status_code == 404
