"""Signing keys: create, rotate, publish (JWKS) and use the Ed25519 keys of this deployment.

Keys live in the engine database so that every web process and worker signs with the same key
and rotation needs no file distribution. Private keys are encrypted at rest with AES-GCM under
a key derived (HKDF) from the deployment's secret key; the public halves form the JWKS.
Algorithm: ``Ed25519`` — the fully-specified JOSE name (RFC 9864) of EdDSA over Ed25519;
verifiers also accept the older name ``EdDSA``.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC
from typing import Any, cast

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from joserfc.jwk import KeySet, OKPKey
from sqlalchemy import Connection, Table, insert, select, update

from exitright.clock import Clock
from exitright.ledger.models import SigningKey

ALGORITHM = "Ed25519"
ACCEPTED_ALGORITHMS = ["Ed25519", "EdDSA"]
_TABLE = cast(Table, SigningKey.__table__)


def wrapping_key(secret: bytes) -> bytes:
    """The AES-256 key that encrypts signing keys, derived from the deployment secret."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"exitright signing keys v1"
    ).derive(secret)


def _now(clock: Clock) -> str:
    return clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rotate(conn: Connection, clock: Clock, wrap: bytes) -> str:
    """Create a new signing key, retire the current one (still published), return the new kid."""
    now = _now(clock)
    kid = f"{now[:10].replace('-', '')}-{secrets.token_hex(4)}"
    key = OKPKey.generate_key("Ed25519", parameters={"kid": kid, "alg": ALGORITHM, "use": "sig"})
    nonce = os.urandom(12)
    private = AESGCM(wrap).encrypt(nonce, key.as_pem(private=True), kid.encode())
    conn.execute(update(_TABLE).where(_TABLE.c.retired_at.is_(None)).values(retired_at=now))
    conn.execute(
        insert(_TABLE).values(
            kid=kid,
            created_at=now,
            retired_at=None,
            public_jwk=key.as_dict(private=False),
            private_enc=nonce + private,
        )
    )
    return kid


def current(conn: Connection, clock: Clock, wrap: bytes) -> OKPKey:
    """The key that signs now; the first call on a new deployment creates one."""
    row = conn.execute(
        select(_TABLE.c.kid, _TABLE.c.private_enc)
        .where(_TABLE.c.retired_at.is_(None))
        .order_by(_TABLE.c.created_at.desc())
        .limit(1)
    ).first()
    if row is None:
        rotate(conn, clock, wrap)
        return current(conn, clock, wrap)
    blob: bytes = row.private_enc
    pem = AESGCM(wrap).decrypt(blob[:12], blob[12:], row.kid.encode())
    return OKPKey.import_key(pem, parameters={"kid": row.kid, "alg": ALGORITHM, "use": "sig"})


def jwks(conn: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every public key, current and retired, as a JWK Set (RFC 7517)."""
    rows = conn.execute(select(_TABLE.c.public_jwk).order_by(_TABLE.c.created_at)).all()
    return {"keys": [dict(r.public_jwk) for r in rows]}


def key_set(document: dict[str, Any]) -> KeySet:
    """A JWK Set document as a joserfc KeySet (public keys only are kept)."""
    return KeySet.import_key_set({"keys": [_public(k) for k in document.get("keys", [])]})


def _public(jwk: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in jwk.items() if k != "d"}
