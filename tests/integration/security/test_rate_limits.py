"""Every endpoint that checks a secret is rate-limited: 429 after the limit, keyed without PI.

The privacy centre's code check and resend, the demo shop's sign-in code and code sending, and
the admin console's password sign-in — each over real HTTP. ``POST /v1/requests/{id}/verify``
checks no code (an API key with ``requests:verify`` asserts the platform signed the user in),
so it has no guess to limit; its key is what protects it (see test_authorization_matrix.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, MetaData, select

from exitright.admin import operators
from exitright.admin.models import Role, SignInAttempt
from exitright.clock import SystemClock
from exitright.config import Settings
from exitright.identity.otp import DEFAULT_POLICY
from tests.integration.privacy.conftest import (
    Centre,
    codes,
    csrf,
    customer_phone,
    privacy_server,
    wait_for_code,
)

REDIS_DB = 2  # the demo map's Redis store; other suites use 3 to 13
_ALERT = re.compile(r'role="alert"[^>]*>([^<]+)<')
PASSWORD = "a long test passphrase"


@pytest.fixture
def centre(settings: Settings) -> Iterator[Centre]:
    """The privacy centre, the demo shop and the console on one live server (no worker)."""
    with privacy_server(settings, cooling_off_days=7, worker=False, redis_db=REDIS_DB) as live:
        yield live


@pytest.fixture
def client(centre: Centre) -> Iterator[httpx.Client]:
    """A browser-like client in English, not following redirects."""
    with httpx.Client(base_url=centre.url, headers={"Accept-Language": "en"}, timeout=30) as c:
        yield c


def table_text(engine: Engine, *names: str) -> str:
    """Every value of the named engine tables, as one string (to look for plaintext in)."""
    meta = MetaData()
    meta.reflect(engine, only=list(names))
    with engine.connect() as conn:
        return " ".join(
            str(v) for name in names for row in conn.execute(select(meta.tables[name])) for v in row
        )


def test_the_privacy_code_check_is_429_after_five_wrong_codes_even_for_the_right_code(
    client: httpx.Client, centre: Centre
) -> None:
    """Five wrong codes lock the challenge: 429 with Retry-After; the right code is refused."""
    phone = customer_phone(centre.settings)
    before = len(codes(client))
    client.post("/privacy/cancel", data={"csrf_token": csrf(client), "contact": phone})
    right = wait_for_code(client, before)
    wrong = "000000" if right != "000000" else "111111"
    form = {"csrf_token": csrf(client), "contact": phone, "confirm": "yes"}
    answers = [
        client.post("/privacy/cancel/verify", data={**form, "code": wrong})
        for _ in range(DEFAULT_POLICY.max_attempts)
    ]
    assert [a.status_code for a in answers] == [422] * (DEFAULT_POLICY.max_attempts - 1) + [429]
    locked = client.post("/privacy/cancel/verify", data={**form, "code": right})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 60
    assert _ALERT.search(locked.text), "the page says why"
    # The limit is kept under a keyed hash of the number, never the number.
    stored = table_text(centre.app.state.engine, "identity_challenges", "identity_sends")
    assert phone not in stored and phone[-8:] not in stored


def test_a_new_privacy_code_too_soon_is_429(client: httpx.Client, centre: Centre) -> None:
    """Resending at once: 429 (the identity service's spacing of codes)."""
    phone = customer_phone(centre.settings)
    before = len(codes(client))
    client.post("/privacy/cancel", data={"csrf_token": csrf(client), "contact": phone})
    wait_for_code(client, before)
    again = client.post(
        "/privacy/cancel/resend", data={"csrf_token": csrf(client), "contact": phone}
    )
    assert again.status_code == 429 and _ALERT.search(again.text)


def _shop_csrf(client: httpx.Client) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/shop/signin").text)
    assert found is not None
    return found.group(1)


def _shop_code(client: httpx.Client) -> str:
    found = re.search(r'class="otp">(\d{6})<', client.get("/shop/dev/codes").text)
    assert found is not None
    return found.group(1)


def test_the_shop_sign_in_code_is_429_after_five_wrong_codes_even_replaying_the_cookie(
    client: httpx.Client,
) -> None:
    """Wrong codes count on the code's row: an old session cookie replayed does not reset them."""
    token = _shop_csrf(client)
    sent = client.post("/shop/signin", data={"csrf_token": token, "phone": "19900000021"})
    assert sent.status_code == 303
    right = _shop_code(client)
    wrong = "000000" if right != "000000" else "111111"
    fresh_cookie = dict(client.cookies)  # the session right after the code was sent
    statuses = []
    for _ in range(5):
        client.cookies.clear()
        client.cookies.update(fresh_cookie)  # every try from the same, "first-try" session
        r = client.post("/shop/signin/code", data={"csrf_token": token, "code": wrong})
        statuses.append(r.status_code)
    assert statuses == [422, 422, 422, 422, 429]
    client.cookies.clear()
    client.cookies.update(fresh_cookie)
    burnt = client.post("/shop/signin/code", data={"csrf_token": token, "code": right})
    assert burnt.status_code == 429, "the code is burnt: the right one no longer signs in"
    assert _ALERT.search(burnt.text)


def test_a_second_shop_code_within_a_minute_is_429(client: httpx.Client) -> None:
    """Sending codes to one number is spaced (the SMS bill is an attack surface too)."""
    token = _shop_csrf(client)
    first = client.post("/shop/signin", data={"csrf_token": token, "phone": "19900000022"})
    again = client.post("/shop/signin", data={"csrf_token": token, "phone": "19900000022"})
    assert first.status_code == 303 and again.status_code == 429


def test_admin_sign_in_is_429_after_five_wrong_passwords_and_keeps_no_name_or_address(
    client: httpx.Client, centre: Centre
) -> None:
    """Password guessing stops at the name's limit; attempts are stored as keyed hashes only."""
    engine = centre.app.state.engine
    operators.create_operator(engine, SystemClock(), "li.wei@example.cn", Role.ADMIN, PASSWORD)
    page = client.get("/admin/sign-in")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    form = {"csrf_token": found.group(1), "name": "li.wei@example.cn"}
    statuses = [
        client.post("/admin/sign-in", data={**form, "password": f"guess {i}"}).status_code
        for i in range(operators.NAME_LIMIT)
    ]
    assert statuses == [401] * operators.NAME_LIMIT
    locked = client.post("/admin/sign-in", data={**form, "password": PASSWORD})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 60
    stored = table_text(engine, "admin_sign_in_attempts")
    assert "li.wei" not in stored and "127.0.0.1" not in stored
    with engine.connect() as conn:
        keys = conn.execute(select(SignInAttempt.key_hash)).scalars().all()
    assert len(keys) == 2 * operators.NAME_LIMIT  # one per name, one per address and try
    assert all(re.fullmatch(r"[0-9a-f]{64}", k) for k in keys)
