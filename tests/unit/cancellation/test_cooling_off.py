"""Cooling-off: its default, and the start-up check that it fits inside the deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from exitright.cancellation.cooling_off import CoolingOffPolicy, validate_timing
from exitright.cancellation.deadlines import (
    compute_deadline,
    deadline_policy,
    latest_processing_start,
)
from exitright.cancellation.errors import TimingConfigError
from exitright.cancellation.model import Actor, Request, RequestKind
from exitright.clock import FixedClock
from exitright.errors import ErrorCode


def test_the_default_cooling_off_is_seven_days() -> None:
    """Seven calendar days from the moment it starts."""
    start = datetime(2025, 1, 24, 2, tzinfo=UTC)
    assert CoolingOffPolicy().ends_at(start) == start + timedelta(days=7)


def test_zero_days_of_cooling_off_are_allowed() -> None:
    """A deployment may choose no waiting at all."""
    assert CoolingOffPolicy(0).ends_at(datetime(2025, 1, 1, tzinfo=UTC)) == datetime(
        2025, 1, 1, tzinfo=UTC
    )


def test_a_negative_cooling_off_is_refused() -> None:
    """Negative days are a typo, not a policy."""
    with pytest.raises(TimingConfigError):
        CoolingOffPolicy(-1)


def test_the_default_configuration_fits_every_regime() -> None:
    """Seven days of cooling-off and three of processing fit cn, gdpr and ccpa."""
    for regime in ("cn", "gdpr", "ccpa"):
        budget = validate_timing(deadline_policy(regime), CoolingOffPolicy())
        assert budget.slack >= 0
        assert regime in budget.describe()


def test_a_cooling_off_that_defeats_the_cn_deadline_is_refused_with_a_clear_message() -> None:
    """14 days of cooling-off plus 3 of processing cannot fit 15 working days."""
    with pytest.raises(TimingConfigError) as caught:
        validate_timing(deadline_policy("cn"), CoolingOffPolicy(14), processing_days=3)
    message = str(caught.value)
    assert "needs 17 working days" in message and "allows 15" in message
    assert "cooling_off_days" in message
    assert caught.value.to_exitright_error().code is ErrorCode.INVALID_CONFIG


def test_a_shorter_promise_shrinks_the_budget() -> None:
    """Promising 10 working days leaves no room for 7 + 5."""
    with pytest.raises(TimingConfigError):
        validate_timing(
            deadline_policy("cn", promised_working_days=10), CoolingOffPolicy(7), processing_days=5
        )


def test_gdpr_is_checked_against_its_shortest_month_without_extension() -> None:
    """28 days: 21 + 7 fits, 21 + 8 does not."""
    gdpr = deadline_policy("gdpr")
    assert validate_timing(gdpr, CoolingOffPolicy(21), processing_days=7).slack == 0
    with pytest.raises(TimingConfigError):
        validate_timing(gdpr, CoolingOffPolicy(21), processing_days=8)


def test_ccpa_is_checked_against_45_days() -> None:
    """30 + 15 fits, 30 + 16 does not."""
    ccpa = deadline_policy("ccpa")
    assert validate_timing(ccpa, CoolingOffPolicy(30), processing_days=15).slack == 0
    with pytest.raises(TimingConfigError):
        validate_timing(ccpa, CoolingOffPolicy(30), processing_days=16)


def test_processing_needs_at_least_a_day() -> None:
    """An allowance of zero days is not a plan."""
    with pytest.raises(TimingConfigError):
        validate_timing(deadline_policy("cn"), CoolingOffPolicy(), processing_days=0)


def test_a_late_verification_shortens_cooling_off_so_the_deadline_holds() -> None:
    """Verified on the 12th working day, a 7-day wait is cut to leave 3 working days to process."""
    policy = deadline_policy("cn")
    clock = FixedClock(datetime(2025, 1, 24, 2, tzinfo=UTC))  # Fri 10:00 CST; due 20 Feb
    request = Request.submit(
        request_id="r",
        kind=RequestKind.CANCEL,
        subject_ref="psn",
        actor=Actor.user(),
        clock=clock,
        deadlines=policy,
    )
    clock.set(datetime(2025, 2, 14, 2, tzinfo=UTC))  # Fri 14 Feb, 11th working day
    request.verify(Actor.system(), clock)
    cutoff = latest_processing_start(policy, request.deadline, 3)
    # The last three working days are 18, 19, 20 Feb: processing must start by 24:00 on 17 Feb.
    assert cutoff == datetime(2025, 2, 17, 16, tzinfo=UTC)
    request.start_cooling_off(CoolingOffPolicy(7), Actor.system(), clock, not_after=cutoff)
    assert request.cooling_off_until == cutoff
    assert request.history[-1].note == "shortened to meet the deadline"


def test_an_early_verification_keeps_the_full_cooling_off() -> None:
    """With time to spare, the cut-off changes nothing."""
    policy = deadline_policy("gdpr")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    deadline = compute_deadline(policy, start)
    cutoff = latest_processing_start(policy, deadline, 3)
    assert cutoff == datetime(2025, 1, 30, tzinfo=UTC)  # 30, 31 Jan and 1 Feb stay free
    assert CoolingOffPolicy(7).ends_at(start, cutoff) == start + timedelta(days=7)


def test_a_cut_off_in_the_past_ends_cooling_off_at_once() -> None:
    """A cooling-off never ends before it starts."""
    start = datetime(2025, 1, 10, tzinfo=UTC)
    assert CoolingOffPolicy(7).ends_at(start, start - timedelta(days=1)) == start
