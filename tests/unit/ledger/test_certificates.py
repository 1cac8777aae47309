"""Deletion certificates: signed claims that verify with the published keys and nothing else."""

from __future__ import annotations

import base64
import json
from typing import Any

from joserfc.jwk import OKPKey

from exitright.ledger import certificates, signing

CLAIMS: dict[str, Any] = {
    "iss": "https://shop.example",
    "iat": 1764331200,
    "jti": "req_01",
    "sub": "sp_abcdef",
    "kind": "cancel",
    "regime": "cn",
    "ledger_entry": "a" * 64,
    "stores": {"platform": {"orders": {"deleted": 0, "retained": 3}}},
}


def keypair(kid: str) -> tuple[OKPKey, dict[str, Any]]:
    """A signing key and the JWK Set publishing its public half."""
    key = OKPKey.generate_key("Ed25519", parameters={"kid": kid, "alg": "Ed25519", "use": "sig"})
    return key, {"keys": [key.as_dict(private=False)]}


def test_a_certificate_verifies_with_the_published_key_and_returns_its_claims() -> None:
    """Issue, then verify against the JWKS: the claims come back unchanged."""
    key, jwks = keypair("k1")
    token = certificates.issue(CLAIMS, key)
    check = certificates.verify(token, signing.key_set(jwks))
    assert check.ok, check.reason
    assert check.claims == CLAIMS
    assert check.kid == "k1"


def test_a_certificate_signed_by_another_key_is_refused() -> None:
    """A forger's key with the same kid does not verify."""
    key, _ = keypair("k1")
    _, published = keypair("k1")
    check = certificates.verify(certificates.issue(CLAIMS, key), signing.key_set(published))
    assert not check.ok
    assert "signature" in check.reason


def test_changing_a_claim_breaks_the_signature() -> None:
    """Editing the payload (e.g. the counts) after signing is detected."""
    key, jwks = keypair("k1")
    header, payload, sig = certificates.issue(CLAIMS, key).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["stores"]["platform"]["orders"]["retained"] = 0
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    check = certificates.verify(f"{header}.{forged}.{sig}", signing.key_set(jwks))
    assert not check.ok


def test_old_certificates_stay_verifiable_after_rotation() -> None:
    """A JWKS holding the retired and the new key verifies certificates of both."""
    old, old_jwks = keypair("old")
    new, new_jwks = keypair("new")
    both = {"keys": old_jwks["keys"] + new_jwks["keys"]}
    for key in (old, new):
        assert certificates.verify(certificates.issue(CLAIMS, key), signing.key_set(both)).ok


def test_garbage_is_refused_with_a_reason_not_an_exception() -> None:
    """Pasted nonsense gets a verdict, never a traceback."""
    _, jwks = keypair("k1")
    for junk in ("", "abc", "a.b.c", "...", "eyJ.eyJ.sig"):
        check = certificates.verify(junk, signing.key_set(jwks))
        assert not check.ok
        assert check.reason


def test_required_claims_are_enforced_when_issuing() -> None:
    """A certificate without its ledger entry hash cannot be issued."""
    key, _ = keypair("k1")
    claims = {k: v for k, v in CLAIMS.items() if k != "ledger_entry"}
    try:
        certificates.issue(claims, key)
    except ValueError as exc:
        assert "ledger_entry" in str(exc)
    else:
        raise AssertionError("issue() accepted claims without ledger_entry")
