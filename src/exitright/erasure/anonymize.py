"""The anonymize methods of a data map, applied to one value. Pure and idempotent.

Idempotent matters: a step that crashes after its store committed runs again over rows it already
changed, and must leave them as they are. ``hash`` recognises its own output for that reason.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date, datetime
from typing import Any

from exitright.datamap.model import Fixed, Method, Truncate
from exitright.pii.detect import redact

HASH_PREFIX = "h"
DEFAULT_HASH_LENGTH = 17


class Hasher:
    """Keyed hashes of values (HMAC-SHA256, hex), shortened to fit a column."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __call__(self, value: str, length: int | None = None) -> str:
        """``h`` followed by hex digits; a value that already is such a hash is returned as is."""
        n = max(8, min(length or DEFAULT_HASH_LENGTH, 65))
        if re.fullmatch(rf"{HASH_PREFIX}[0-9a-f]{{{n - 1}}}", value):
            return value
        digest = hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()
        return HASH_PREFIX + digest[: n - 1]


def to_month(value: Any) -> Any:
    """A date or datetime moved to the first day of its month (midnight)."""
    if isinstance(value, datetime):
        return value.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if isinstance(value, date):
        return value.replace(day=1)
    if isinstance(value, str) and re.match(r"\d{4}-\d{2}", value):
        return value[:7] + "-01" + (" 00:00:00" if len(value) > 10 else "")
    return value


def apply(method: Method, value: Any, hasher: Hasher, length: int | None = None) -> Any:
    """The anonymized form of ``value`` under ``method`` (``None`` stays ``None``)."""
    if isinstance(method, Fixed):
        return method.fixed
    if method == "null" or value is None:
        return None
    if isinstance(method, Truncate):
        return str(value)[: method.truncate]
    if method == "hash":
        return hasher(str(value), length)
    if method == "month":
        return to_month(value)
    if method == "redact":
        return redact(str(value))
    raise ValueError(f"unknown method {method!r}")


def needs_value(method: Method) -> bool:
    """Whether the new value depends on the old one (so the row must be read first)."""
    return not (isinstance(method, Fixed) or method == "null")


def add_months(moment: datetime | date, months: int) -> date:
    """The date ``months`` calendar months after ``moment`` (clamped to the month's last day)."""
    d = moment.date() if isinstance(moment, datetime) else moment
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return date(year, month, 28)
