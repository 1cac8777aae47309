"""The public certificate page: genuine certificates are confirmed, forged ones explained."""

from __future__ import annotations

import re

import httpx

from exitright.clock import SystemClock
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.keys import load_key
from exitright.ledger import certificates, service, signing
from tests.conftest import LiveServer


def issue_certificate(settings: Settings) -> str:
    """A certificate signed by the deployment's key, citing a real ledger entry."""
    engine = make_engine(settings.engine_url)
    try:
        with engine.begin() as conn:
            entry = service.append(
                conn, SystemClock(), "request.completed", request_id="req_page", subject="sp_x"
            )
            key = signing.current(
                conn, SystemClock(), signing.wrapping_key(load_key(settings, "secret"))
            )
        claims = {
            "iss": "test",
            "iat": 1,
            "jti": "req_page",
            "sub": "sp_x",
            "kind": "cancel",
            "ledger_entry": entry.hash,
        }
        return certificates.issue(claims, key)
    finally:
        engine.dispose()


def post(server: LiveServer, token: str, lang: str = "en") -> httpx.Response:
    """Open the form (for the CSRF token), then submit ``token``."""
    with httpx.Client(base_url=server.url) as client:
        form = client.get(f"/certificates/verify?lang={lang}")
        match = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert match, "the form carries a CSRF token"
        return client.post(
            "/certificates/verify", data={"csrf_token": match.group(1), "token": token}
        )


def test_a_genuine_certificate_is_confirmed_with_its_ledger_record(
    settings: Settings, live_server: LiveServer
) -> None:
    """The page says it is genuine and that the ledger holds the entry it cites."""
    r = post(live_server, issue_certificate(settings))
    assert r.status_code == 200
    assert "This certificate is genuine" in r.text
    assert "present in this platform" in r.text


def test_a_changed_certificate_is_refused_in_plain_words(
    settings: Settings, live_server: LiveServer
) -> None:
    """Flipping one character of the signature is explained, not a stack trace."""
    token = issue_certificate(settings)
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    r = post(live_server, forged, lang="zh-CN")
    assert r.status_code == 200
    assert "无法确认该证明" in r.text


def test_the_form_refuses_a_post_without_csrf_token(live_server: LiveServer) -> None:
    """A cross-site form post is refused with the error model's forbidden."""
    r = httpx.post(
        f"{live_server.url}/certificates/verify",
        data={"token": "x"},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
