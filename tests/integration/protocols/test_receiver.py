"""Incoming SETs from trusted issuers: signature, issuer, audience checked; each acted on once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import OKPKey
from sqlalchemy import Connection, Engine, select, text

from exitright.clock import Clock, FixedClock
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.identity.identifiers import parse_identifier
from exitright.identity.recycled import Source
from exitright.identity.wiring import build_guard
from exitright.protocols import receiver
from exitright.protocols import set as sets
from exitright.protocols.config import TrustedIssuer
from exitright.protocols.receiver import Handlers, RecycledIdentifier, TrustedIssuers
from tests.conftest import LiveServer
from tests.integration.protocols.conftest import ISSUER, Loopback, personal_data_in

CARRIER = "https://carrier.example"
PHONE = "13912345678"
CARRIER_KEY = OKPKey.generate_key("Ed25519", parameters={"kid": "c1", "alg": "Ed25519"})
IMPOSTOR_KEY = OKPKey.generate_key("Ed25519", parameters={"kid": "c1", "alg": "Ed25519"})


def carrier_set(
    jti: str,
    *,
    event: str = "identifier-recycled",
    aud: str = ISSUER,
    iss: str = CARRIER,
    key: OKPKey = CARRIER_KEY,
    sub_id: dict[str, str] | None = None,
) -> str:
    """A SET as the carrier would send it."""
    claims = sets.build_claims(
        issuer=iss,
        audience=aud,
        event=event,
        sub_id=sub_id or sets.subject_id("phone_number", PHONE),
        jti=jti,
        iat=1_795_000_000,
    )
    return sets.sign(claims, key)


@pytest.fixture
def carrier_jwks() -> Iterator[str]:
    """The carrier's JWKS, served on loopback."""
    app = FastAPI()

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        return {"keys": [CARRIER_KEY.as_dict(private=False)]}

    with Loopback(app) as server:
        yield f"{server.url}/jwks"


@pytest.fixture
def server(settings: Settings, carrier_jwks: str) -> Iterator[LiveServer]:
    """ExitRight trusting the carrier, with our issuer set to ISSUER."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "protocols.toml").write_text(
        f'issuer = "{ISSUER}"\n\n[[trusted_issuers]]\nissuer = "{CARRIER}"\n'
        f'jwks_uri = "{carrier_jwks}"\n',
        encoding="utf-8",
    )
    with LiveServer(settings) as live:
        yield live


def _push(server: LiveServer, token: str, media: str = sets.MEDIA_TYPE) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/events/receive",
        content=token.encode(),
        headers={"Content-Type": media, "Accept": "application/json"},
    )


def test_identifier_recycled_feeds_the_recycled_number_guard_once(
    server: LiveServer, settings: Settings
) -> None:
    """202 twice for the same jti; one risc-event mark for the guard; no phone stored anywhere."""
    token = carrier_set("c-1")
    assert _push(server, token).status_code == 202
    assert _push(server, token).status_code == 202
    engine = make_engine(settings.engine_url)
    try:
        with engine.connect() as conn:
            parked = conn.execute(text("SELECT id FROM recycled_identifier_notices")).all()
            received = conn.execute(text("SELECT outcome FROM security_events_received")).all()
        marks = build_guard(settings, engine).marks(parse_identifier("phone", PHONE))
        assert [(m.source, m.reference) for m in marks] == [(Source.RISC_EVENT, "risc:c-1")]
        assert parked == []  # the guard is wired: nothing waits in the fallback table
        assert [r.outcome for r in received] == ["marked"]
        assert personal_data_in(engine, needles=(PHONE,)) == []
    finally:
        engine.dispose()


def test_without_a_guard_identifier_recycled_is_parked_as_a_keyed_hash(
    engine: Engine, clock: FixedClock
) -> None:
    """A bare receiver (no guard registered) keeps the keyed hash for the guard to pick up."""
    trusted = TrustedIssuers(
        [TrustedIssuer(issuer=CARRIER, jwks={"keys": [CARRIER_KEY.as_dict(private=False)]})],
        our_issuer=ISSUER,
    )
    key = b"p" * 32
    receipt = receiver.receive(engine, clock, carrier_set("p-1"), trusted, Handlers(key))
    assert receipt.outcome == "recorded"
    with engine.connect() as conn:
        parked = conn.execute(
            text("SELECT kind, identifier_hash FROM recycled_identifier_notices")
        ).all()
    assert [tuple(r) for r in parked] == [("phone", receiver.identifier_hash(key, "phone", PHONE))]
    assert personal_data_in(engine, needles=(PHONE,)) == []


@pytest.mark.parametrize(
    ("token", "err"),
    [
        (carrier_set("c-2", key=IMPOSTOR_KEY), "invalid_key"),
        (carrier_set("c-3", aud="https://someone-else.example"), "invalid_audience"),
        (carrier_set("c-4", iss="https://impostor.example"), "invalid_issuer"),
        ("a.b", "invalid_request"),
    ],
    ids=["forged", "wrong-audience", "wrong-issuer", "garbage"],
)
def test_a_bad_set_is_refused_with_the_rfc_8935_error(
    server: LiveServer, token: str, err: str
) -> None:
    """400 with {"err", "description"} and nothing recorded."""
    response = _push(server, token)
    assert response.status_code == 400
    assert response.json()["err"] == err
    assert set(response.json()) == {"err", "description"}


def test_the_wrong_media_type_is_an_invalid_request(server: LiveServer) -> None:
    """RFC 8935 §2: a SET travels as application/secevent+jwt."""
    response = _push(server, carrier_set("c-5"), media="application/json")
    assert (response.status_code, response.json()["err"]) == (400, "invalid_request")


def test_account_purged_from_an_issuer_that_is_not_upstream_has_no_effect(
    server: LiveServer, settings: Settings
) -> None:
    """A carrier is not an identity provider of ours: accepted, recorded, no request opened."""
    token = carrier_set("c-6", event="account-purged", sub_id=sets.subject_id("opaque", "u-9"))
    assert _push(server, token).status_code == 202
    engine = make_engine(settings.engine_url)
    try:
        with engine.connect() as conn:
            outcome = conn.execute(text("SELECT outcome FROM security_events_received")).scalar()
            opened = conn.execute(text("SELECT COUNT(*) FROM requests")).scalar()
    finally:
        engine.dispose()
    assert (outcome, opened) == ("not_upstream", 0)


def test_account_purged_without_a_starter_is_accepted_and_left_for_an_operator(
    engine: Engine, clock: FixedClock
) -> None:
    """A bare receiver (no starter registered) records the event as no_handler."""
    trusted = TrustedIssuers(
        [
            TrustedIssuer(
                issuer=CARRIER,
                jwks={"keys": [CARRIER_KEY.as_dict(private=False)]},
                opens_cancellation=True,
            )
        ],
        our_issuer=ISSUER,
    )
    token = carrier_set("c-7", event="account-purged", sub_id=sets.subject_id("opaque", "u-9"))
    receipt = receiver.receive(engine, clock, token, trusted, Handlers(b"p" * 32))
    assert (receipt.outcome, receipt.duplicate) == ("no_handler", False)


class FakeGuard:
    """A recycled-number guard that remembers what it was told."""

    def __init__(self) -> None:
        self.notices: list[RecycledIdentifier] = []

    def identifier_recycled(
        self, conn: Connection, clock: Clock, notice: RecycledIdentifier
    ) -> str:
        self.notices.append(notice)
        return "guarded"


def test_a_registered_guard_gets_the_identifier_instead_of_the_table(
    engine: Engine, clock: FixedClock
) -> None:
    """With a guard wired, it receives the notice in memory; nothing is parked."""
    guard = FakeGuard()
    trusted = TrustedIssuers(
        [TrustedIssuer(issuer=CARRIER, jwks={"keys": [CARRIER_KEY.as_dict(private=False)]})],
        our_issuer=ISSUER,
    )
    handlers = Handlers(b"p" * 32, guard=guard)
    receipt = receiver.receive(engine, clock, carrier_set("g-1"), trusted, handlers)
    again = receiver.receive(engine, clock, carrier_set("g-1"), trusted, handlers)
    assert (receipt.outcome, receipt.duplicate, again.duplicate) == ("guarded", False, True)
    assert [(n.kind, n.value, n.jti) for n in guard.notices] == [("phone", "+86" + PHONE, "g-1")]
    with engine.connect() as conn:
        assert conn.execute(select(receiver.RECYCLED.c.id)).all() == []


def test_an_issuer_limited_to_some_events_is_denied_the_others(
    engine: Engine, clock: FixedClock
) -> None:
    """A carrier allowed identifier-recycled only may not purge accounts: access_denied."""
    trusted = TrustedIssuers(
        [
            TrustedIssuer(
                issuer=CARRIER,
                jwks={"keys": [CARRIER_KEY.as_dict(private=False)]},
                events=["identifier-recycled"],
            )
        ],
        our_issuer=ISSUER,
    )
    with pytest.raises(sets.SetError) as caught:
        receiver.receive(
            engine,
            clock,
            carrier_set("d-1", event="account-purged"),
            trusted,
            Handlers(b"p" * 32),
        )
    assert caught.value.err == "access_denied"


def test_ssf_configuration_describes_us_as_a_transmitter(server: LiveServer) -> None:
    """Discovery: issuer, jwks_uri, both delivery methods, the poll endpoint."""
    doc = httpx.get(f"{server.url}/.well-known/ssf-configuration").json()
    assert doc["issuer"] == ISSUER
    assert doc["jwks_uri"].endswith("/.well-known/jwks.json")
    assert doc["delivery_methods_supported"] == ["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"]
    assert doc["poll_endpoint"].endswith("/v1/events/poll")
    assert doc["spec_version"] == "1_0"


def test_an_issuer_key_rotation_is_picked_up_from_its_jwks_url() -> None:
    """A SET signed with a kid the cache has not seen triggers one refetch of the JWKS."""
    from exitright.protocols.jwks import JwksCache

    published = {"keys": [CARRIER_KEY.as_dict(private=False)]}
    app = FastAPI()

    @app.get("/jwks")
    def jwks() -> dict[str, Any]:
        return published

    rotated = OKPKey.generate_key("Ed25519", parameters={"kid": "c2", "alg": "Ed25519"})
    with Loopback(app) as server:
        cache = JwksCache(f"{server.url}/jwks", min_refetch=0)
        assert {k.kid for k in cache.keys().keys} == {"c1"}
        published["keys"].append(rotated.as_dict(private=False))
        token = carrier_set("r-1", key=rotated)
        event = sets.verify(token, cache.keys("c2"), issuer=CARRIER, audience=ISSUER)
    assert event.kid == "c2"
