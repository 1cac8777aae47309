"""Submission limits: 429 rate_limited after N, per client address, identifier and API key."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from exitright.config import Settings
from exitright.i18n import gettext
from exitright.identity.ratelimit import RateLimitHit
from tests.integration.privacy.conftest import Centre, csrf, privacy_server
from tests.integration.requests.conftest import platform_phones, start_api
from tests.integration.web.test_api import assert_error_model

REDIS_DB = 1  # the demo map's Redis store for this module (no other suite uses 1)


@pytest.fixture
def centre(settings: Settings) -> Iterator[Centre]:
    """The privacy centre with small page limits: 1 per identifier, 3 per address."""
    limited = settings.model_copy(
        update={"submit_limit_per_identifier": 1, "submit_limit_per_ip": 3}
    )
    with privacy_server(limited, cooling_off_days=7, worker=False, redis_db=REDIS_DB) as live:
        yield live


def start(client: httpx.Client, contact: str) -> httpx.Response:
    return client.post("/privacy/cancel", data={"csrf_token": csrf(client), "contact": contact})


def limited_message(lang: str) -> str:
    """The start of the rate-limit message, before its number of seconds."""
    return gettext(lang, "prechecks.error.rate_limited").split("{", 1)[0]


def test_the_logged_out_page_refuses_a_second_request_for_the_same_number(
    centre: Centre,
) -> None:
    """Per identifier (keyed hash): the second submission is 429 with a Retry-After."""
    [phone] = platform_phones(centre.settings, 1)
    with httpx.Client(base_url=centre.url, headers={"Accept-Language": "zh-CN"}) as client:
        assert start(client, phone).status_code == 200
        again = start(client, phone)
    assert again.status_code == 429
    assert limited_message("zh-CN") in again.text
    assert int(again.headers["retry-after"]) > 0
    assert phone in again.text  # the form keeps what the person typed, nothing else echoes it


def test_the_logged_out_page_refuses_the_fourth_request_from_one_address(
    centre: Centre,
) -> None:
    """Per client address: three numbers pass, the fourth is refused, in English too."""
    phones = platform_phones(centre.settings, 4)
    with httpx.Client(base_url=centre.url, headers={"Accept-Language": "en"}) as client:
        for phone in phones[:3]:
            assert start(client, phone).status_code == 200
        refused = start(client, phones[3])
    assert refused.status_code == 429
    assert limited_message("en") in refused.text


def test_the_limit_table_holds_keyed_hashes_never_an_address_or_a_number(
    centre: Centre,
) -> None:
    """What is counted is an HMAC: no phone number and no client address in clear."""
    [phone] = platform_phones(centre.settings, 1)
    with httpx.Client(base_url=centre.url) as client:
        start(client, phone)
    engine = centre.app.state.engine
    with engine.connect() as conn:
        rows = conn.execute(select(RateLimitHit.bucket, RateLimitHit.key_hash)).all()
    assert {b for b, _ in rows} == {"page-address", "identifier"}
    for _bucket, key in rows:
        assert re.fullmatch(r"[0-9a-f]{64}", key)
        assert phone not in key and "127.0.0.1" not in key


def test_the_api_answers_429_rate_limited_after_the_keys_limit(
    platform_settings: Settings,
) -> None:
    """Per API key: the third submission is 429 in the error model, zh-CN and en, Retry-After."""
    server, api = start_api(platform_settings.model_copy(update={"submit_limit_per_key": 2}))
    with server:
        phones = platform_phones(api.settings, 3)
        url = f"{api.url}/v1/requests"
        for phone in phones[:2]:
            body = {"kind": "cancel", "identifiers": {"phone": phone}}
            assert httpx.post(url, json=body, headers=api.auth(api.writer)).status_code == 201
        body = {"kind": "cancel", "identifiers": {"phone": phones[2]}}
        refused = httpx.post(url, json=body, headers=api.auth(api.writer))
        other_key = httpx.post(url, json=body, headers=api.auth(api.other))
    assert_error_model(refused, 429, "rate_limited")
    error = refused.json()["error"]
    assert error["message"]["en"].startswith(limited_message("en"))
    assert error["message"]["zh-CN"].startswith(limited_message("zh-CN"))
    assert int(refused.headers["retry-after"]) == error["details"]["retry_after"] > 0
    assert phones[2] not in refused.text
    assert other_key.status_code == 201  # the limit is the key's, not everyone's
