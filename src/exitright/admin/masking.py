"""Masked identifiers for operators: enough to match a phone call, never the whole value."""

from __future__ import annotations

from exitright.cancellation.ports import Identifiers
from exitright.pii.detect import normalize_phone

__all__ = ["mask"]


def mask(identifiers: Identifiers) -> str:
    """``138****5678`` for a phone, ``a***@***.com`` for an e-mail, ``us***`` for an account id."""
    value = identifiers.value.strip()
    if identifiers.kind == "phone":
        phone = normalize_phone(value) or value
        return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"
    if identifiers.kind == "email":
        local, _, domain = value.partition("@")
        tld = domain.rsplit(".", 1)[-1] if "." in domain else ""
        return f"{local[:1]}***@***" + (f".{tld}" if tld else "")
    return value[:2] + "***" if len(value) > 4 else "***"
