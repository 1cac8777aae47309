"""Deletion certificates: compact JWS (Ed25519) over the claims of a completed request.

The payload carries only pseudonymous facts — request id, subject pseudonym, kind, regime,
times, counts per store and table, retention with legal basis and expiry, residual result,
recipients told, and the hash of the ledger entry that recorded the completion — so it can be
shown to anyone, and checked by anyone holding the published JWKS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OKPKey

from exitright.ledger.signing import ACCEPTED_ALGORITHMS, ALGORITHM

TYPE = "exitright-deletion-certificate+jwt"
REQUIRED_CLAIMS = ("iss", "iat", "jti", "sub", "kind", "ledger_entry")


@dataclass(frozen=True)
class CertificateCheck:
    """What verifying a certificate found."""

    ok: bool
    reason: str
    claims: Mapping[str, Any] | None = None
    kid: str | None = None


def issue(claims: Mapping[str, Any], key: OKPKey) -> str:
    """Sign ``claims`` into a compact JWS certificate."""
    missing = [c for c in REQUIRED_CLAIMS if c not in claims]
    if missing:
        raise ValueError(f"certificate claims missing: {', '.join(missing)}")
    header = {"alg": ALGORITHM, "kid": key.kid, "typ": TYPE}
    payload = json.dumps(dict(claims), sort_keys=True, ensure_ascii=False).encode()
    return jws.serialize_compact(header, payload, key, algorithms=[ALGORITHM])


def verify(token: str, keys: KeySet) -> CertificateCheck:
    """Check the signature against ``keys`` and the claims' shape; never raises on bad input."""
    text = token.strip()
    if text.count(".") != 2:
        return CertificateCheck(False, "not a compact JWS (expected three dot-separated parts)")
    try:
        obj = jws.deserialize_compact(text, keys, algorithms=ACCEPTED_ALGORITHMS)
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        reason = getattr(exc, "error", None) or type(exc).__name__
        return CertificateCheck(False, f"signature not valid for the published keys ({reason})")
    header = obj.headers()
    kid = header.get("kid")
    if header.get("typ") != TYPE:
        return CertificateCheck(False, "signed, but not an ExitRight deletion certificate", kid=kid)
    try:
        claims = json.loads(obj.payload)
    except (ValueError, UnicodeDecodeError):
        return CertificateCheck(False, "signed, but the payload is not JSON", kid=kid)
    missing = [c for c in REQUIRED_CLAIMS if c not in claims]
    if missing:
        return CertificateCheck(False, f"claims missing: {', '.join(missing)}", kid=kid)
    return CertificateCheck(True, "signature valid", claims=claims, kid=kid)
