"""Keyed pseudonyms of subjects: what the ledger, certificates, logs and metrics show instead.

HMAC-SHA256 under the deployment's pseudonym key, so the same subject always gets the same
pseudonym, nobody without the key can compute or reverse it, and the key can be rotated by
re-keying stored pseudonyms. Pure: the key is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def pseudonym(key: bytes, platform: str, subject_key: str) -> str:
    """The pseudonym of the account ``subject_key`` of ``platform`` (``sp_`` + 32 base32 chars)."""
    mac = hmac.new(key, f"subject\x00{platform}\x00{subject_key}".encode(), hashlib.sha256).digest()
    return "sp_" + base64.b32encode(mac[:20]).decode().lower()


def keyed_hash(key: bytes, purpose: str, value: str) -> str:
    """A hex keyed hash of ``value`` for ``purpose`` (e.g. the residual sweep's identifier set)."""
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()
