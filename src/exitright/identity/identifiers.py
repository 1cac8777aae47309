"""Identifiers a code can reach (phone, e-mail): normalizing, keyed hashing and masking.

Everything the identity tables keep about a phone number or e-mail address is its keyed hash
(:func:`identifier_hash`, HMAC-SHA256 under the deployment's pseudonym key over the normalized
form), so the same number typed as ``+86 138-1234-5678`` or ``13812345678`` lands on the same row
and nobody without the key can test a number against the tables. :func:`mask` is the only form
that may appear in a log line or on a page.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Final

from exitright.errors import ErrorCode, ExitRightError
from exitright.identity.otp import Factor
from exitright.pii.phone import normalize_mobile
from exitright.pseudonym import keyed_hash

__all__ = ["Identifier", "identifier_hash", "ledger_subject", "mask", "parse_identifier"]

_HASH_PURPOSE: Final = "identity.identifier"
_E164: Final = re.compile(r"\+[1-9]\d{6,14}")
_SEPARATORS: Final = re.compile(r"[\s\-\u00a0().]")
_EMAIL: Final = re.compile(r"[^@\s]{1,64}@[^@\s]{1,252}\.[^@\s.]{2,63}")


@dataclass(frozen=True)
class Identifier:
    """A normalized phone number (E.164, ``+86…`` for mainland mobiles) or e-mail address."""

    factor: Factor
    value: str

    def __repr__(self) -> str:
        # Keeps the plain value out of tracebacks and debug logs.
        return f"Identifier({self.factor.value}, {mask(self)})"

    @property
    def keyed_form(self) -> str:
        """The string that is hashed: ``phone:+8613812345678`` or ``email:a@b.cn``."""
        return f"{self.factor.value}:{self.value}"

    @property
    def national_mobile(self) -> str | None:
        """The bare 11 digits of a mainland mobile number, else None."""
        if self.factor is Factor.PHONE and self.value.startswith("+86"):
            return self.value[3:]
        return None


def _invalid(factor: str) -> ExitRightError:
    return ExitRightError(
        ErrorCode.INVALID_REQUEST,
        details={"field": factor},
        message_id=f"identity.error.invalid_{factor}",
    )


def parse_identifier(factor: Factor | str, value: str) -> Identifier:
    """The normalized identifier, or 422 ``identity.error.invalid_phone`` / ``invalid_email``.

    A phone is a mainland mobile number written in any common way (normalized to ``+86`` and
    11 digits) or any other number in E.164 form (``+`` and country code).
    """
    kind = Factor(factor)
    raw = value.strip()
    if kind is Factor.PHONE:
        mobile = normalize_mobile(raw)
        if mobile is not None:
            return Identifier(kind, "+86" + mobile)
        compact = _SEPARATORS.sub("", raw)
        if compact.startswith("00"):
            compact = "+" + compact[2:]
        if _E164.fullmatch(compact) and not compact.startswith("+86"):
            return Identifier(kind, compact)
        raise _invalid("phone")
    lowered = raw.lower()
    if len(lowered) > 254 or not _EMAIL.fullmatch(lowered):
        raise _invalid("email")
    return Identifier(kind, lowered)


def identifier_hash(key: bytes, identifier: Identifier) -> str:
    """The hex keyed hash the identity tables store instead of the identifier."""
    return keyed_hash(key, _HASH_PURPOSE, identifier.keyed_form)


def ledger_subject(hash_hex: str) -> str:
    """The pseudonym of an identifier in the ledger (``idr_`` + base32, derived from its hash).

    Base32 (letters and the digits 2–7) never looks like a phone, ID or card number to the
    ledger's personal-data detectors, which a hex string sometimes would.
    """
    return "idr_" + base64.b32encode(bytes.fromhex(hash_hex)[:20]).decode().lower()


def mask(identifier: Identifier) -> str:
    """A display form that hides the middle: ``138****5678``, ``+4479****5678``, ``a***@qq.com``."""
    if identifier.factor is Factor.EMAIL:
        local, _, domain = identifier.value.partition("@")
        return f"{local[:1]}***@{domain}"
    national = identifier.national_mobile
    if national is not None:
        return f"{national[:3]}****{national[-4:]}"
    digits = identifier.value
    return f"{digits[:5]}****{digits[-4:]}"
