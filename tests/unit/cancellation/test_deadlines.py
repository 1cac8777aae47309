"""Deadlines by regime: cn working days, gdpr months, ccpa days, extensions and overdue flags."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exitright.cancellation.calendar_data import load_arrangements
from exitright.cancellation.deadlines import (
    CHINA_STANDARD_TIME as CST,
)
from exitright.cancellation.deadlines import (
    Deadline,
    DeadlinePolicy,
    Regime,
    add_months,
    compute_deadline,
    deadline_policy,
    extend_deadline,
    is_overdue,
    is_receipt_confirmation_overdue,
    refresh_deadline,
)
from exitright.cancellation.errors import ConfigurationError, ExtensionNotAllowedError
from exitright.cancellation.model import Actor, Request, RequestKind
from exitright.clock import FixedClock

from .strategies import instants

CN = deadline_policy("cn")
GDPR = deadline_policy("gdpr")
CCPA = deadline_policy("ccpa")


def _last_day(policy: DeadlinePolicy, received: datetime) -> date:
    """The last day of the period for a request received at ``received``."""
    return compute_deadline(policy, received).last_day


@pytest.mark.parametrize(
    ("received", "last_day"),
    [
        # Spring Festival 2025: 26 Jan (Sun) and 8 Feb (Sat) count, 28 Jan – 4 Feb do not.
        (datetime(2025, 1, 24, 10, 0, tzinfo=CST), date(2025, 2, 20)),
        # Filed on a holiday: counting starts with the next working day, 5 Feb.
        (datetime(2025, 1, 30, 10, 0, tzinfo=CST), date(2025, 2, 24)),
        # Spring Festival 2026: 14 Feb and 28 Feb (Saturdays) count, 15–23 Feb do not.
        (datetime(2026, 2, 13, 10, 0, tzinfo=CST), date(2026, 3, 12)),
        # National Day 2025: 28 Sep (Sun) and 11 Oct (Sat) count, 1–8 Oct do not.
        (datetime(2025, 9, 26, 10, 0, tzinfo=CST), date(2025, 10, 23)),
    ],
)
def test_cn_deadlines_count_fifteen_official_working_days(
    received: datetime, last_day: date
) -> None:
    """Known weeks around the long holidays give the dates counted by hand from the notices."""
    deadline = compute_deadline(CN, received)
    assert deadline.last_day == last_day
    assert not deadline.provisional
    # The period ends at 24:00 Beijing time, i.e. 16:00 UTC on the last day.
    assert deadline.due_at == datetime.combine(last_day, datetime.min.time(), UTC) + timedelta(
        hours=16
    )


def test_a_request_filed_late_at_night_is_counted_from_the_next_working_day() -> None:
    """23:30 on a Friday and 10:00 the same Friday give the same deadline."""
    assert _last_day(CN, datetime(2025, 1, 24, 23, 30, tzinfo=CST)) == date(2025, 2, 20)


def test_the_day_boundary_is_midnight_in_beijing_not_in_utc() -> None:
    """Half an hour apart across Beijing midnight moves the deadline by one working day."""
    before = _last_day(CN, datetime(2025, 9, 29, 15, 30, tzinfo=UTC))  # Mon 23:30 CST
    after = _last_day(CN, datetime(2025, 9, 29, 16, 30, tzinfo=UTC))  # Tue 00:30 CST
    assert (before, after) == (date(2025, 10, 27), date(2025, 10, 28))


def test_a_deployment_may_promise_fewer_working_days_but_not_more() -> None:
    """The promise is capped at 15 working days (认定方法 §6)."""
    ten = deadline_policy("cn", promised_working_days=10)
    assert _last_day(ten, datetime(2025, 3, 3, 10, tzinfo=CST)) == date(2025, 3, 17)
    with pytest.raises(ConfigurationError):
        deadline_policy("cn", promised_working_days=20)


def test_an_unknown_regime_or_zone_is_refused_at_start_up() -> None:
    """Configuration errors name the setting."""
    with pytest.raises(ConfigurationError) as caught:
        deadline_policy("uk")
    assert caught.value.params["setting"] == "regime"
    with pytest.raises(ConfigurationError):
        deadline_policy("gdpr", timezone_name="Mars/Olympus")


def test_a_deadline_in_a_year_without_data_is_provisional_and_early() -> None:
    """Filed 20 Dec 2026: every day of January 2027 counts until the 2027 notice is loaded."""
    received = datetime(2026, 12, 20, 10, tzinfo=CST)
    guess = compute_deadline(CN, received)
    assert guess.provisional
    assert guess.last_day == date(2027, 1, 6)
    with_data = deadline_policy(
        "cn", arrangements=load_arrangements([Path(__file__).parent / "data"])
    )
    true = refresh_deadline(with_data, guess)
    assert not true.provisional
    # 21–31 Dec give 9 working days; the fixture rests 1–3 Jan, so 4–8 Jan and 11 Jan follow.
    assert true.last_day == date(2027, 1, 11)
    assert guess.due_at <= true.due_at


@given(instants(end=datetime(2027, 12, 31, tzinfo=UTC)))
def test_a_provisional_deadline_never_follows_a_known_one(received: datetime) -> None:
    """Whatever the date, known data gives a non-provisional date; unknown data an earlier one."""
    deadline = compute_deadline(CN, received)
    assert deadline.due_at > received
    if deadline.last_day.year <= 2026:
        assert not deadline.provisional


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
def test_no_date_crashes_any_regime(naive: datetime) -> None:
    """From year 1 to 9999, every regime answers."""
    received = naive.replace(tzinfo=UTC)
    for policy in (CN, GDPR, CCPA):
        assert compute_deadline(policy, received).due_at >= received


@pytest.mark.parametrize(
    ("received", "last_day"),
    [
        (date(2025, 1, 31), date(2025, 2, 28)),
        (date(2024, 1, 31), date(2024, 2, 29)),
        (date(2025, 1, 29), date(2025, 2, 28)),
        (date(2025, 3, 31), date(2025, 4, 30)),
        (date(2025, 1, 15), date(2025, 2, 15)),
        (date(2025, 12, 31), date(2026, 1, 31)),
    ],
)
def test_gdpr_one_month_ends_on_the_same_date_or_the_months_last_day(
    received: date, last_day: date
) -> None:
    """Jan 31 → Feb 28 (Feb 29 in a leap year); Mar 31 → Apr 30."""
    at = datetime.combine(received, datetime.min.time(), UTC) + timedelta(hours=12)
    deadline = compute_deadline(GDPR, at)
    assert deadline.last_day == last_day
    assert deadline.due_at == datetime.combine(
        last_day + timedelta(days=1), datetime.min.time(), UTC
    )


def test_gdpr_days_are_counted_in_the_deployments_zone() -> None:
    """At 23:30 UTC on 31 Jan it is already 1 Feb in Berlin."""
    berlin = deadline_policy("gdpr", timezone_name="Europe/Berlin")
    late = datetime(2025, 1, 31, 23, 30, tzinfo=UTC)
    assert compute_deadline(berlin, late).last_day == date(2025, 3, 1)
    assert compute_deadline(GDPR, late).last_day == date(2025, 2, 28)


def test_gdpr_extension_counts_from_receipt_and_allows_two_months_at_most() -> None:
    """Jan 31 + 3 months is Apr 30 (not Feb 28 + 2 = Apr 28); a third month is refused."""
    received = datetime(2025, 1, 31, 9, tzinfo=UTC)
    deadline = compute_deadline(GDPR, received)
    once = extend_deadline(GDPR, deadline, reason="complex", now=received, months=1)
    assert once.final_last_day == date(2025, 3, 31)
    twice = extend_deadline(GDPR, once, reason="still complex", now=received, months=1)
    assert twice.final_last_day == date(2025, 4, 30)
    assert twice.last_day == date(2025, 2, 28)  # the original period stays visible
    with pytest.raises(ExtensionNotAllowedError):
        extend_deadline(GDPR, twice, reason="more", now=received, months=1)


def test_gdpr_extension_must_be_recorded_within_the_first_month_with_a_reason() -> None:
    """Too late or without a reason, an extension is refused."""
    received = datetime(2025, 1, 31, 9, tzinfo=UTC)
    deadline = compute_deadline(GDPR, received)
    with pytest.raises(ExtensionNotAllowedError):
        extend_deadline(GDPR, deadline, reason="late", now=deadline.due_at, months=1)
    with pytest.raises(ExtensionNotAllowedError):
        extend_deadline(GDPR, deadline, reason="   ", now=received, months=1)
    with pytest.raises(ExtensionNotAllowedError):
        extend_deadline(GDPR, deadline, reason="days", now=received, days=10)
    ok = extend_deadline(
        GDPR, deadline, reason="ok", now=deadline.due_at - timedelta(seconds=1), months=2
    )
    assert ok.final_last_day == date(2025, 4, 30)


def test_cn_has_no_extension() -> None:
    """The 15 working days are a ceiling."""
    deadline = compute_deadline(CN, datetime(2025, 3, 3, tzinfo=UTC))
    with pytest.raises(ExtensionNotAllowedError):
        extend_deadline(CN, deadline, reason="busy", now=datetime(2025, 3, 3, tzinfo=UTC), days=5)


def test_ccpa_gives_45_calendar_days_and_10_business_days_to_confirm() -> None:
    """Received 1 Jan 2025 (a holiday): respond by 15 Feb, confirm by 15 Jan."""
    deadline = compute_deadline(CCPA, datetime(2025, 1, 1, 12, tzinfo=UTC))
    assert deadline.last_day == date(2025, 2, 15)
    assert deadline.confirm_receipt_by == datetime(2025, 1, 16, tzinfo=UTC)


def test_ccpa_confirmation_skips_thanksgiving() -> None:
    """From Thu 20 Nov 2025, ten business days skip the weekends and 27 Nov."""
    deadline = compute_deadline(CCPA, datetime(2025, 11, 20, 12, tzinfo=UTC))
    assert deadline.confirm_receipt_by == datetime(2025, 12, 6, tzinfo=UTC)
    assert deadline.last_day == date(2026, 1, 4)


def test_ccpa_extends_by_up_to_45_days_in_total() -> None:
    """45 + 45 = 90 days at most, and only with a reason."""
    received = datetime(2025, 1, 1, 12, tzinfo=UTC)
    deadline = compute_deadline(CCPA, received)
    extended = extend_deadline(CCPA, deadline, reason="volume", now=received, days=45)
    assert extended.final_last_day == date(2025, 4, 1)
    with pytest.raises(ExtensionNotAllowedError):
        extend_deadline(CCPA, extended, reason="more", now=received, days=1)
    with pytest.raises(ExtensionNotAllowedError):
        extend_deadline(CCPA, deadline, reason="months", now=received, months=1)


def test_add_months_clamps_to_the_months_end_and_never_overflows() -> None:
    """Month arithmetic for the edge of the calendar."""
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert add_months(date(9999, 12, 1), 1) == date.max


def test_a_deadline_survives_a_round_trip_through_its_dict() -> None:
    """What the repository stores restores an equal deadline, extensions included."""
    received = datetime(2025, 1, 1, 12, tzinfo=UTC)
    deadline = extend_deadline(
        CCPA, compute_deadline(CCPA, received), reason="volume", now=received, days=10
    )
    assert Deadline.from_dict(deadline.to_dict()) == deadline


def _request(policy: DeadlinePolicy, at: datetime) -> tuple[Request, FixedClock]:
    """A submitted request."""
    clock = FixedClock(at)
    request = Request.submit(
        request_id="r",
        kind=RequestKind.ACCESS,
        subject_ref="psn",
        actor=Actor.user(),
        clock=clock,
        deadlines=policy,
    )
    return request, clock


def test_an_open_request_is_overdue_from_the_first_instant_after_its_period() -> None:
    """Due at 24:00 Beijing time on the last day; 23:59:59 is still in time."""
    request, _ = _request(CN, datetime(2025, 1, 24, 10, tzinfo=CST))
    end = request.deadline.due_at
    assert not is_overdue(request, end - timedelta(seconds=1))
    assert is_overdue(request, end)


def test_a_closed_request_is_never_flagged_overdue() -> None:
    """Completed late is history, not a flag in the queue."""
    request, clock = _request(CN, datetime(2025, 1, 24, 10, tzinfo=CST))
    system = Actor.system()
    request.verify(system, clock)
    request.execute(system, clock)
    clock.set(request.deadline.due_at + timedelta(days=3))
    request.complete(system, clock)
    assert not is_overdue(request, clock.now())


def test_an_extended_request_is_measured_against_its_new_date() -> None:
    """After a gdpr extension the request is not overdue at the original date."""
    request, clock = _request(GDPR, datetime(2025, 1, 31, 9, tzinfo=UTC))
    request.extend_deadline(GDPR, "complex", Actor.operator("op"), clock, months=1)
    assert not is_overdue(request, request.deadline.due_at)
    assert is_overdue(request, request.deadline.final_due_at)


def test_a_ccpa_request_without_confirmation_is_flagged_after_ten_business_days() -> None:
    """Confirming receipt clears the flag."""
    request, clock = _request(CCPA, datetime(2025, 1, 1, 12, tzinfo=UTC))
    due = request.deadline.confirm_receipt_by
    assert due is not None
    assert is_receipt_confirmation_overdue(request, due)
    request.confirm_receipt(Actor.system(), clock)
    assert not is_receipt_confirmation_overdue(request, due)
    assert not is_receipt_confirmation_overdue(
        replace(request, receipt_confirmed_at=None), due - timedelta(seconds=1)
    )


def test_the_regime_is_recorded_on_the_request() -> None:
    """Changing the deployment later does not change old requests' rules."""
    request, _ = _request(GDPR, datetime(2025, 1, 1, tzinfo=UTC))
    assert request.regime is Regime.GDPR
