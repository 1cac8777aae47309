"""The web app over real HTTP on loopback: health, the /v1 error model, pages and headers."""

from __future__ import annotations

import httpx

from exitright.errors import ErrorCode
from tests.conftest import LiveServer


def assert_error_model(response: httpx.Response, status: int, code: str) -> None:
    """Every failure has the same shape: code, message in zh-CN and en, details."""
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert set(body["error"]["message"]) == {"zh-CN", "en"}
    assert all(body["error"]["message"].values())
    assert isinstance(body["error"]["details"], dict)


def test_healthz_reports_a_migrated_database(live_server: LiveServer) -> None:
    """/healthz is 200 once the engine database is at the newest revision."""
    r = httpx.get(f"{live_server.url}/healthz")
    assert r.status_code == 200
    assert r.json()["database"] == "ok"


def test_unknown_api_path_is_a_404_in_the_error_model(live_server: LiveServer) -> None:
    """Clients get JSON under /v1 whatever they send in Accept."""
    r = httpx.get(f"{live_server.url}/v1/does-not-exist", headers={"Accept": "text/html"})
    assert_error_model(r, 404, "not_found")


def test_wrong_method_is_a_405_in_the_error_model(live_server: LiveServer) -> None:
    """Method errors use the model too, not Starlette's plain text."""
    r = httpx.delete(f"{live_server.url}/v1/meta")
    assert_error_model(r, 405, "method_not_allowed")


def test_every_error_code_is_listed_by_the_api(live_server: LiveServer) -> None:
    """GET /v1/errors documents each stable code with both messages."""
    r = httpx.get(f"{live_server.url}/v1/errors")
    assert r.status_code == 200
    listed = {e["code"] for e in r.json()}
    assert listed == {c.value for c in ErrorCode}


def test_openapi_document_describes_the_error_model(live_server: LiveServer) -> None:
    """The OpenAPI document at /openapi.json carries ErrorResponse; /docs renders."""
    spec = httpx.get(f"{live_server.url}/openapi.json").json()
    assert "ErrorResponse" in spec["components"]["schemas"]
    assert httpx.get(f"{live_server.url}/docs").status_code == 200


def test_pages_switch_language_and_remember_it(live_server: LiveServer) -> None:
    """?lang=en switches the page to English and sets a cookie for the next visit."""
    with httpx.Client(base_url=live_server.url) as client:
        zh = client.get("/", headers={"Accept-Language": "zh-CN"})
        assert '<html lang="zh-CN">' in zh.text
        en = client.get("/?lang=en")
        assert '<html lang="en">' in en.text
        assert en.cookies.get("lang") == "en"
        again = client.get("/", headers={"Accept-Language": "zh-CN"})
        assert '<html lang="en">' in again.text


def test_page_errors_render_in_the_visitors_language(live_server: LiveServer) -> None:
    """A browser asking for a missing page gets the error page, not JSON or a trace."""
    r = httpx.get(f"{live_server.url}/no-such-page?lang=en", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert "text/html" in r.headers["content-type"]
    assert "Nothing was found at this address." in r.text
    assert "Traceback" not in r.text


def test_pages_carry_security_headers_and_no_inline_script(live_server: LiveServer) -> None:
    """CSP forbids inline script and framing; the page itself has no <script>."""
    r = httpx.get(f"{live_server.url}/")
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<script" not in r.text
    session = r.headers.get("set-cookie", "")
    assert "httponly" in session.lower()
    assert "samesite=lax" in session.lower()
