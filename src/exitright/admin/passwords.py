"""Operator passwords: scrypt from the standard library, parameters stored with each hash.

Format: ``scrypt$<log2 n>$<r>$<p>$<salt b64>$<hash b64>``. The parameters travel with the hash, so
raising them later only affects new and changed passwords. No dependency is added for this
(argon2 is not installed in the project's environment).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

__all__ = ["MIN_LENGTH", "hash_password", "password_problem", "verify_password"]

MIN_LENGTH: Final = 12
MAX_LENGTH: Final = 256
# n = 2**15, r = 8: about 32 MiB and a few tens of milliseconds per check (OWASP's scrypt floor
# is n = 2**17 with p = 1, or the same cost spread as n = 2**15 with p = 3 — we use p = 3).
_LOG2_N: Final = 15
_R: Final = 8
_P: Final = 3
_LEN: Final = 32


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=_LEN, maxmem=256 * n * r * p
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` with its parameters."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _LOG2_N, _R, _P)
    return f"scrypt${_LOG2_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time comparison; False if malformed)."""
    try:
        scheme, log2_n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt" or not 10 <= int(log2_n) <= 20:
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(password[:MAX_LENGTH], base64.b64decode(salt), int(log2_n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# A hash to check against when the name is unknown, so both cases take the same time.
DUMMY_HASH: Final = (
    "scrypt$15$8$3$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
)


def password_problem(password: str, name: str) -> str | None:
    """A catalog key saying what is wrong with a new password, or None if it is acceptable."""
    if len(password) < MIN_LENGTH:
        return "admin.error.password_short"
    if len(password) > MAX_LENGTH:
        return "admin.error.password_long"
    if password.strip().lower() == name.strip().lower():
        return "admin.error.password_is_name"
    return None
