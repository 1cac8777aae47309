"""The Clock port: aware UTC instants, and a fixed clock tests can move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from exitright.clock import Clock, FixedClock, SystemClock, as_utc


def test_the_system_clock_gives_aware_utc() -> None:
    """The production clock never returns a naive datetime."""
    now = SystemClock().now()
    assert now.tzinfo is UTC


def test_a_fixed_clock_converts_to_utc_and_moves_only_when_told() -> None:
    """Beijing 10:00 is 02:00 UTC; advancing moves it exactly."""
    clock = FixedClock(datetime(2025, 1, 1, 10, tzinfo=timezone(timedelta(hours=8))))
    assert clock.now() == datetime(2025, 1, 1, 2, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    assert clock.advance(timedelta(minutes=5)) == datetime(2025, 1, 1, 2, 5, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    """A naive time has no instant; guessing its zone is how deadlines drift."""
    with pytest.raises(ValueError, match="naive"):
        as_utc(datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        FixedClock(datetime(2025, 1, 1))


def test_both_clocks_satisfy_the_port() -> None:
    """Services can take either."""
    assert isinstance(SystemClock(), Clock)
    assert isinstance(FixedClock(datetime(2025, 1, 1, tzinfo=UTC)), Clock)
