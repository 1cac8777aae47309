"""Signing keys in the engine DB: rotation keeps old keys published; private keys encrypted."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import text

from exitright.clock import FixedClock
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.ledger import certificates, signing
from tests.conftest import LiveServer

CLOCK = FixedClock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
WRAP = signing.wrapping_key(b"k" * 32)
CLAIMS = {
    "iss": "x",
    "iat": 1,
    "jti": "r",
    "sub": "sp_x",
    "kind": "cancel",
    "ledger_entry": "0" * 64,
}


def test_rotation_keeps_old_certificates_verifiable_from_the_jwks(engine_url: str) -> None:
    """A certificate signed before a rotation verifies with the JWKS published after it."""
    migrate.upgrade(engine_url)
    engine = make_engine(engine_url)
    try:
        with engine.begin() as conn:
            first = signing.current(conn, CLOCK, WRAP)
            token = certificates.issue(CLAIMS, first)
            new_kid = signing.rotate(conn, CLOCK, WRAP)
            second = signing.current(conn, CLOCK, WRAP)
            jwks = signing.jwks(conn)
            stored = conn.execute(text("SELECT private_enc FROM signing_keys")).scalars().all()
        assert second.kid == new_kid != first.kid
        assert {k["kid"] for k in jwks["keys"]} == {first.kid, second.kid}
        assert all("d" not in k for k in jwks["keys"])
        assert certificates.verify(token, signing.key_set(jwks)).ok
        assert all(b"PRIVATE KEY" not in bytes(blob) for blob in stored)
    finally:
        engine.dispose()


def test_jwks_is_published_at_the_well_known_url(live_server: LiveServer) -> None:
    """/.well-known/jwks.json lists at least the current public key, and no private part."""
    r = httpx.get(f"{live_server.url}/.well-known/jwks.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/jwk-set+json")
    keys = r.json()["keys"]
    assert keys
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k for k in keys)
