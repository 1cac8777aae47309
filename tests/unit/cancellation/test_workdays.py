"""Working-day calendars: the official PRC weeks, data files for later years, US business days."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exitright.cancellation.calendar_data import load_arrangements, parse_arrangement
from exitright.cancellation.errors import CalendarDataError
from exitright.cancellation.workdays import (
    ChinaWorkdays,
    HolidayPeriod,
    UsBusinessDays,
    YearArrangement,
    add_working_days,
    count_working_days,
    us_federal_holidays,
)

from .strategies import arrangements

DATA = Path(__file__).parent / "data"
EXAMPLE = Path(__file__).parents[3] / "src/exitright/cancellation/calendars/example-cn-2026.toml"
CN = ChinaWorkdays()


def _days(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end`` inclusive."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


@pytest.mark.parametrize(
    "day",
    [date(2025, 1, 26), date(2025, 2, 8), date(2025, 9, 28), date(2025, 10, 11)],
)
def test_make_up_weekend_days_of_2025_are_working_days(day: date) -> None:
    """Sundays and Saturdays the State Council made working days count."""
    assert day.weekday() >= 5
    assert CN.is_workday(day) is True


def test_spring_festival_2025_is_a_week_of_rest() -> None:
    """28 January to 4 February 2025 are rest days, weekdays included."""
    assert all(CN.is_workday(d) is False for d in _days(date(2025, 1, 28), date(2025, 2, 4)))
    assert CN.is_workday(date(2025, 1, 27)) is True
    assert CN.is_workday(date(2025, 2, 5)) is True


def test_spring_festival_2026_rests_nine_days_between_two_working_saturdays() -> None:
    """15–23 February 2026 rest; Saturdays 14 and 28 February are worked."""
    assert all(CN.is_workday(d) is False for d in _days(date(2026, 2, 15), date(2026, 2, 23)))
    assert CN.is_workday(date(2026, 2, 14)) is True
    assert CN.is_workday(date(2026, 2, 28)) is True


def test_national_day_2025_rests_eight_days() -> None:
    """1–8 October 2025 (National Day with Mid-autumn) are rest days."""
    assert all(CN.is_workday(d) is False for d in _days(date(2025, 10, 1), date(2025, 10, 8)))
    assert CN.is_workday(date(2025, 10, 9)) is True


def test_a_week_around_national_day_2025_counts_its_working_days() -> None:
    """26 Sep – 12 Oct 2025 holds 6 working days: 28, 29, 30 Sep and 9, 10, 11 Oct."""
    counted = count_working_days(CN, date(2025, 9, 26), date(2025, 10, 12))
    assert counted.days == 6 and not counted.provisional


def test_a_year_without_data_is_unknown_rather_than_an_error() -> None:
    """2027 is not in the installed package; the calendar says so instead of raising."""
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2027, 1, 4))
    assert CN.is_workday(date(2027, 1, 4)) is None
    assert not CN.covers(2027)
    assert CN.covers(2026)


def test_the_example_file_agrees_with_the_package_on_every_day_of_2026() -> None:
    """The documented format, filled in from the real 2026 notice, reproduces the official data."""
    arrangement = parse_arrangement(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE))
    from_file = ChinaWorkdays([arrangement], use_package=False)
    for day in _days(date(2026, 1, 1), date(2026, 12, 31)):
        assert from_file.is_workday(day) == CN.is_workday(day), day


def test_a_data_file_extends_the_calendar_into_the_next_year() -> None:
    """With a 2027 file loaded, 2027 days are known, holidays and make-up days included."""
    calendar = ChinaWorkdays(load_arrangements([DATA]))
    assert calendar.covers(2027)
    assert calendar.is_workday(date(2027, 1, 1)) is False  # listed rest day
    assert calendar.is_workday(date(2027, 1, 4)) is True  # an ordinary Monday
    assert calendar.is_workday(date(2027, 1, 31)) is True  # make-up Sunday
    assert calendar.is_workday(date(2027, 2, 8)) is False  # Monday inside Spring Festival
    assert calendar.is_workday(date(2027, 3, 6)) is False  # an ordinary Saturday
    assert calendar.is_workday(date(2026, 10, 10)) is True  # 2026 still from the package
    assert calendar.sources() == {2027: "test fixture (hypothetical, not official)"}


def test_a_file_may_move_a_day_in_the_december_before_its_year() -> None:
    """Like 2018-12-29 in the 2019 notice, a file can make late December a working day."""
    arrangement = YearArrangement(
        2027,
        "test",
        (HolidayPeriod("元旦", date(2027, 1, 1), date(2027, 1, 3), (date(2026, 12, 27),)),),
    )
    assert CN.is_workday(date(2026, 12, 27)) is False  # a Sunday per the package
    assert ChinaWorkdays([arrangement]).is_workday(date(2026, 12, 27)) is True


def test_two_files_for_one_year_are_refused() -> None:
    """Which of two arrangements is right cannot be guessed."""
    one = YearArrangement(2027, "a", (HolidayPeriod("x", date(2027, 1, 1), date(2027, 1, 1)),))
    other = YearArrangement(2027, "b", (HolidayPeriod("x", date(2027, 1, 1), date(2027, 1, 2)),))
    with pytest.raises(CalendarDataError):
        ChinaWorkdays([one, other])


def test_counting_past_the_data_is_provisional_and_counts_every_day() -> None:
    """From 2026-12-30, days of 2027 count as working days and mark the count provisional."""
    result = add_working_days(CN, date(2026, 12, 30), 5)
    # 31 Dec 2026 (Thu) is known; 1–4 Jan 2027 are unknown and count.
    assert result.last_day == date(2027, 1, 4)
    assert result.provisional


@settings(max_examples=200, deadline=None)
@given(
    arrangement=arrangements(2027),
    start=st.dates(date(2026, 11, 1), date(2027, 12, 31)),
    count=st.integers(min_value=1, max_value=30),
)
def test_a_provisional_count_is_never_later_than_the_true_one(
    arrangement: YearArrangement, start: date, count: int
) -> None:
    """Whatever 2027's official arrangement turns out to be, the guess ends no later."""
    guessed = add_working_days(CN, start, count)
    true = add_working_days(ChinaWorkdays([arrangement]), start, count)
    assert guessed.last_day <= true.last_day
    assert not true.provisional or true.last_day.year > 2027


@given(st.dates(), st.integers(min_value=0, max_value=40))
def test_counting_never_crashes_on_a_date(start: date, count: int) -> None:
    """Any date at all, up to the end of the calendar, gives an answer."""
    result = add_working_days(CN, start, count)
    assert result.last_day >= start


def test_us_federal_holidays_of_2025() -> None:
    """The eleven observed federal holidays of 2025."""
    assert us_federal_holidays(2025) == {
        date(2025, 1, 1),
        date(2025, 1, 20),
        date(2025, 2, 17),
        date(2025, 5, 26),
        date(2025, 6, 19),
        date(2025, 7, 4),
        date(2025, 9, 1),
        date(2025, 10, 13),
        date(2025, 11, 11),
        date(2025, 11, 27),
        date(2025, 12, 25),
    }


def test_a_saturday_new_year_is_observed_on_the_friday_of_the_year_before() -> None:
    """1 January 2022 was a Saturday: 31 December 2021 was the holiday."""
    assert date(2021, 12, 31) in us_federal_holidays(2021)
    assert date(2021, 12, 24) in us_federal_holidays(2021)  # Christmas on a Saturday
    assert UsBusinessDays().is_workday(date(2021, 12, 31)) is False
    assert UsBusinessDays().is_workday(date(2021, 12, 30)) is True
