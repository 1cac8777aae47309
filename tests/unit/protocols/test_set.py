"""SETs per RFC 8417 and the SSF profile: exact header and claims, and every refusal's err code."""

from __future__ import annotations

import base64
import json
import warnings
from typing import Any

import pytest
from joserfc import jws
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet, OKPKey

from exitright.protocols import set as sets

ISSUER = "https://shop.example"
AUDIENCE = "https://courier.example/events"


def _key(kid: str) -> OKPKey:
    return OKPKey.generate_key("Ed25519", parameters={"kid": kid, "alg": "Ed25519", "use": "sig"})


KEY = _key("k1")
OTHER = _key("k1")  # same kid, different key: a forgery
KEYS = KeySet([KEY])


def _decode(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _claims(**overrides: Any) -> dict[str, Any]:
    claims = sets.build_claims(
        issuer=ISSUER,
        audience=AUDIENCE,
        event="account-purged",
        sub_id=sets.subject_id("opaque", "courier-ref-42"),
        jti="a" * 32,
        iat=1_795_000_000,
        txn="req_1",
    )
    claims.update(overrides)
    return claims


def _unsigned(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'secevent+jwt'})}.{part(claims)}."


def _raw(header: dict[str, Any], claims: dict[str, Any], key: OKPKey = KEY) -> str:
    alg = header["alg"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)  # EdDSA, deliberately
        return jws.serialize_compact(header, json.dumps(claims).encode(), key, algorithms=[alg])


def test_header_and_claims_are_exactly_those_of_rfc_8417_and_ssf() -> None:
    """Header typ/alg/kid; claims iss iat jti aud txn sub_id events — and no sub, no exp."""
    token = sets.sign(_claims(), KEY)
    header_part, claims_part, _ = token.split(".")
    assert _decode(header_part) == {"alg": "Ed25519", "typ": "secevent+jwt", "kid": "k1"}
    claims = _decode(claims_part)
    assert set(claims) == {"iss", "iat", "jti", "aud", "txn", "sub_id", "events"}
    assert claims["sub_id"] == {"format": "opaque", "id": "courier-ref-42"}
    assert claims["events"] == {
        "https://schemas.openid.net/secevent/risc/event-type/account-purged": {}
    }
    assert isinstance(claims["iat"], int)


def test_a_signed_set_verifies_and_reads_back() -> None:
    """What we sign, a receiver with our JWKS accepts."""
    event = sets.verify(sets.sign(_claims(), KEY), KEYS, issuer=ISSUER, audience=AUDIENCE)
    assert event.name == "account-purged"
    assert event.jti == "a" * 32
    assert event.txn == "req_1"
    assert event.sub_id == {"format": "opaque", "id": "courier-ref-42"}
    assert event.kid == "k1"


def test_the_older_eddsa_algorithm_name_is_accepted() -> None:
    """Verifiers accept alg EdDSA as well as the fully-specified Ed25519 (RFC 9864)."""
    legacy = OKPKey.generate_key("Ed25519", parameters={"kid": "old"})  # a JWK without alg
    token = _raw({"alg": "EdDSA", "typ": "secevent+jwt", "kid": "old"}, _claims(), legacy)
    event = sets.verify(token, KeySet([legacy]), issuer=ISSUER, audience=AUDIENCE)
    assert event.jti == "a" * 32


@pytest.mark.parametrize(
    ("token_of", "issuer", "audience", "err"),
    [
        (lambda: sets.sign(_claims(), OTHER), ISSUER, AUDIENCE, "invalid_key"),
        (lambda: sets.sign(_claims(), KEY), ISSUER, "https://someone.else", "invalid_audience"),
        (lambda: sets.sign(_claims(iss="https://evil"), KEY), ISSUER, AUDIENCE, "invalid_issuer"),
        (lambda: sets.sign(_claims(sub="x"), KEY), ISSUER, AUDIENCE, "invalid_request"),
        (lambda: sets.sign(_claims(exp=2_000_000_000), KEY), ISSUER, AUDIENCE, "invalid_request"),
        (
            lambda: sets.sign(
                _claims(events={sets.RISC + "account-purged": {}, sets.RISC + "opt-in": {}}), KEY
            ),
            ISSUER,
            AUDIENCE,
            "invalid_request",
        ),
        (lambda: sets.sign(_claims(events={}), KEY), ISSUER, AUDIENCE, "invalid_request"),
        (lambda: sets.sign(_claims(iat="today"), KEY), ISSUER, AUDIENCE, "invalid_request"),
        (
            lambda: sets.sign(_claims(sub_id={"format": "email"}), KEY),
            ISSUER,
            AUDIENCE,
            "invalid_request",
        ),
        (
            lambda: _raw({"alg": "Ed25519", "typ": "JWT", "kid": "k1"}, _claims()),
            ISSUER,
            AUDIENCE,
            "invalid_request",
        ),
        (lambda: "not-a-jws", ISSUER, AUDIENCE, "invalid_request"),
        (lambda: _unsigned(_claims()), ISSUER, AUDIENCE, "invalid_key"),
    ],
    ids=[
        "forged",
        "wrong-audience",
        "wrong-issuer",
        "sub",
        "exp",
        "two-events",
        "no-event",
        "iat",
        "sub_id",
        "typ",
        "garbage",
        "unsigned",
    ],
)
def test_each_bad_set_is_refused_with_its_rfc_8935_err(
    token_of: Any, issuer: str, audience: str, err: str
) -> None:
    """Every refusal names the RFC 8935 error code a receiver answers with."""
    with pytest.raises(sets.SetError) as caught:
        sets.verify(token_of(), KEYS, issuer=issuer, audience=audience)
    assert caught.value.err == err
    assert set(caught.value.body()) == {"err", "description"}


def test_audience_may_be_a_list_holding_ours() -> None:
    """aud as an array is accepted when it contains our audience."""
    token = sets.sign(_claims(aud=["https://x", AUDIENCE]), KEY)
    assert sets.verify(token, KEYS, issuer=ISSUER, audience=AUDIENCE).audience == (
        "https://x",
        AUDIENCE,
    )


def test_subject_identifiers_follow_rfc_9493() -> None:
    """Phone numbers become E.164; e-mails and opaque ids keep their value."""
    assert sets.subject_id("phone_number", "138 0013 8000") == {
        "format": "phone_number",
        "phone_number": "+8613800138000",
    }
    assert sets.subject_id("email", "a@example.com") == {
        "format": "email",
        "email": "a@example.com",
    }
    assert sets.subject_id("iss_sub", "u1", issuer=ISSUER) == {
        "format": "iss_sub",
        "iss": ISSUER,
        "sub": "u1",
    }
    with pytest.raises(ValueError, match=r"E\.164"):
        sets.subject_id("phone_number", "call me")


def test_legacy_risc_subject_inside_the_event_is_read() -> None:
    """An older RISC issuer puts the subject in the event payload; we still find it."""
    claims = _claims()
    del claims["sub_id"]
    claims["events"] = {
        sets.RISC + "identifier-recycled": {"subject": {"format": "email", "email": "a@b.cn"}}
    }
    event = sets.verify(sets.sign(claims, KEY), KEYS, issuer=ISSUER, audience=AUDIENCE)
    assert event.sub_id == {"format": "email", "email": "a@b.cn"}
