"""identifier-recycled from a carrier reaches the demo shop's sign-in, over real HTTP.

The carrier signs a RISC ``identifier-recycled`` SET for a number it gave to someone else and
pushes it to ``/v1/events/receive``; the recycled-number guard keeps a ``risc-event`` mark; the
next code to that number no longer opens the old owner's account in the demo shop: it is frozen
and the new holder is offered a fresh one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import OKPKey
from sqlalchemy import Engine

from exitright.clock import SystemClock
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.identity.identifiers import parse_identifier
from exitright.identity.recycled import Source
from exitright.identity.wiring import build_guard
from exitright.protocols import set as sets
from tests.conftest import LiveServer
from tests.integration.demo.shop_server import shop_server
from tests.integration.demo.test_shop_pages import sign_in
from tests.integration.demo.test_shop_recycled import browser, order_numbers, owners
from tests.integration.protocols.conftest import Loopback

CARRIER = "https://carrier.example"
OURS = "https://shop.example"
CARRIER_KEY = OKPKey.generate_key("Ed25519", parameters={"kid": "carrier-1", "alg": "Ed25519"})


def recycled(jti: str, phone: str) -> str:
    """The carrier's identifier-recycled SET for ``phone``, issued now."""
    claims = sets.build_claims(
        issuer=CARRIER,
        audience=OURS,
        event="identifier-recycled",
        sub_id=sets.subject_id("phone_number", phone),
        jti=jti,
        iat=int(SystemClock().now().timestamp()),
    )
    return sets.sign(claims, CARRIER_KEY)


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    """ExitRight with the demo shop, trusting the carrier (its JWKS served on loopback)."""
    app = FastAPI()

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        return {"keys": [CARRIER_KEY.as_dict(private=False)]}

    with Loopback(app) as carrier:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        (settings.data_dir / "protocols.toml").write_text(
            f'issuer = "{OURS}"\n\n[[trusted_issuers]]\nissuer = "{CARRIER}"\n'
            f'jwks_uri = "{carrier.url}/jwks"\nevents = ["identifier-recycled"]\n',
            encoding="utf-8",
        )
        with shop_server(settings) as live:
            yield live


@pytest.fixture
def demo(settings: Settings) -> Iterator[Engine]:
    """The demo platform's database."""
    engine = make_engine(settings.demo_url)
    yield engine
    engine.dispose()


def test_a_recycled_number_set_stops_a_code_from_opening_the_old_account(
    server: LiveServer, settings: Settings, demo: Engine
) -> None:
    """SET in → risc-event mark → the code to that number is told it changed hands."""
    [(_, control), (old, phone)] = owners(demo, 2)
    with browser(server) as owner:
        # Control: a number nobody reported opens its owner's account with a code.
        assert sign_in(owner, control).headers["location"] == "/shop/"
        assert order_numbers(owner) != []

    answer = httpx.post(
        f"{server.url}/v1/events/receive",
        content=recycled("carrier-77", phone).encode(),
        headers={"Content-Type": sets.MEDIA_TYPE},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text

    engine = make_engine(settings.engine_url)
    try:
        guard = build_guard(settings, engine)
        identifier = parse_identifier("phone", phone)
        assert [(m.source, m.reference) for m in guard.marks(identifier)] == [
            (Source.RISC_EVENT, "risc:carrier-77")
        ]
        with browser(server) as newcomer:
            done = sign_in(newcomer, phone)
            assert done.headers["location"] == "/shop/signin/changed-hands"
            opened = newcomer.get("/shop/orders")
            assert opened.status_code == 303 and opened.headers["location"] == "/shop/signin"
        assert guard.frozen(f"user:{old}") is not None
    finally:
        engine.dispose()
