"""Security headers, cookie flags and request ids over real HTTP, on a page and on ``/v1``."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from http.cookies import SimpleCookie

import httpx
import pytest

from exitright.config import Settings
from tests.conftest import LiveServer

KEY = base64.b64encode(b"k" * 32).decode()


@pytest.fixture
def production(settings: Settings) -> Iterator[LiveServer]:
    """A live server with environment=production (every key configured, as production requires)."""
    configured = settings.model_copy(
        update={
            "environment": "production",
            "secret_key": KEY,
            "pseudonym_key": KEY,
            "vault_master_key": KEY,
            "demo_enabled": False,
            "worker_in_process": False,
        }
    )
    with LiveServer(Settings.model_validate(configured.model_dump())) as server:
        yield server


def csp(response: httpx.Response) -> dict[str, str]:
    """The Content-Security-Policy as {directive: sources}."""
    parts = [p.strip() for p in response.headers["content-security-policy"].split(";") if p.strip()]
    return {p.split(" ", 1)[0]: p.split(" ", 1)[1] if " " in p else "" for p in parts}


def cookies(response: httpx.Response) -> dict[str, dict[str, str | bool]]:
    """Each Set-Cookie by name, with its attributes (lower-case keys)."""
    out: dict[str, dict[str, str | bool]] = {}
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            out[name] = {k.lower(): v for k, v in morsel.items() if v}
    return out


def assert_strict_headers(response: httpx.Response) -> None:
    """The headers every page and API response carries."""
    policy = csp(response)
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert "'unsafe-eval'" not in response.headers["content-security-policy"]
    assert policy["frame-ancestors"] == "'none'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_a_page_has_a_strict_csp_and_an_httponly_lax_session_cookie(
    live_server: LiveServer,
) -> None:
    """The home page: no inline script or style allowed, no framing, cookie not for scripts."""
    r = httpx.get(f"{live_server.url}/?lang=en")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert_strict_headers(r)
    jar = cookies(r)
    session = jar["exitright_session"]
    assert session["httponly"] is True
    assert str(session["samesite"]).lower() == "lax"
    assert "secure" not in session  # development serves plain http on loopback
    assert jar["lang"]["httponly"] is True and str(jar["lang"]["samesite"]).lower() == "lax"


def test_the_api_and_its_errors_carry_the_same_headers(live_server: LiveServer) -> None:
    """A /v1 success, a /v1 401 and a 404 page all get the strict headers."""
    for path, status in (("/v1/meta", 200), ("/v1/requests", 401), ("/no-such-page", 404)):
        r = httpx.get(f"{live_server.url}{path}", headers={"Accept": "text/html"})
        assert r.status_code == status, path
        assert_strict_headers(r)


def test_the_docs_page_keeps_frame_ancestors_none(live_server: LiveServer) -> None:
    """Swagger UI needs inline script (its own policy), but may still not be framed."""
    r = httpx.get(f"{live_server.url}/docs")
    assert r.status_code == 200
    assert csp(r)["frame-ancestors"] == "'none'"


def test_production_cookies_are_secure(production: LiveServer) -> None:
    """environment=production: the session and language cookies are Secure as well."""
    r = httpx.get(f"{production.url}/?lang=zh-CN")
    assert r.status_code == 200
    assert_strict_headers(r)
    jar = cookies(r)
    for name in ("exitright_session", "lang"):
        assert jar[name]["secure"] is True, name
        assert jar[name]["httponly"] is True, name
        assert str(jar[name]["samesite"]).lower() == "lax", name
    assert httpx.get(f"{production.url}/v1/meta").status_code == 200


def test_a_sane_request_id_is_echoed_and_any_other_replaced(live_server: LiveServer) -> None:
    """X-Request-ID: kept if plain and free of PI, else a fresh id; always in the response."""
    url = f"{live_server.url}/v1/meta"
    assert httpx.get(url, headers={"X-Request-ID": "lb-7f3a:42"}).headers["x-request-id"] == (
        "lb-7f3a:42"
    )
    for bad in ("13800138000", "a" * 65, "x y", "li.wei@example.cn"):
        echoed = httpx.get(url, headers={"X-Request-ID": bad}).headers["x-request-id"]
        assert echoed != bad and len(echoed) == 26, bad
    first = httpx.get(url).headers["x-request-id"]
    second = httpx.get(url).headers["x-request-id"]
    assert first != second
