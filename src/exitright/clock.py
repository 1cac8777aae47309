"""The Clock port: the only way the core learns what time it is.

Core modules (``cancellation``, ``identity.otp``) never call ``datetime.now()``; they receive a
``Clock``. Production wires :class:`SystemClock`; tests use :class:`FixedClock` and move it by hand,
so deadlines, cooling-off and lock-outs are tested without sleeping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FixedClock", "SystemClock", "as_utc"]


@runtime_checkable
class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


def as_utc(value: datetime) -> datetime:
    """Return ``value`` converted to UTC; refuse naive datetimes.

    A naive datetime has no defined instant, and guessing its zone is how deadlines drift by
    eight hours, so it is a programming error here rather than something to paper over.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: pass a timezone-aware value")
    return value.astimezone(UTC)


class SystemClock:
    """The machine's clock (production)."""

    def now(self) -> datetime:
        """The current instant in UTC."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, at: datetime) -> None:
        self._at = as_utc(at)

    def now(self) -> datetime:
        """The instant this clock was set to."""
        return self._at

    def set(self, at: datetime) -> None:
        """Jump to ``at`` (which may be earlier: tests of clock skew need that)."""
        self._at = as_utc(at)

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` and return the new instant."""
        self._at = self._at + delta
        return self._at
