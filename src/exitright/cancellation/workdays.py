"""Working-day calendars: the official PRC arrangement and US business days.

A calendar answers one question per day: is it a working day? For the PRC the answer is data —
each year's holidays and make-up working days (调休上班) are set by the State Council late in the
year before. :class:`ChinaWorkdays` combines what the ``chinese_calendar`` package ships with
arrangement files loaded at start-up (see :mod:`exitright.cancellation.calendar_data`); for a
year neither knows it answers ``None`` ("no official data") instead of raising, and the deadline
code then counts that day as a working day, which can only make a due date earlier, never later.

US business days (CCPA regulations §7001: Monday to Friday except national holidays) follow fixed
rules, so :class:`UsBusinessDays` computes the federal holidays for any year.
"""

from __future__ import annotations

import calendar as _calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Protocol

import chinese_calendar

from exitright.cancellation.errors import CalendarDataError

__all__ = [
    "ChinaWorkdays",
    "CountResult",
    "HolidayPeriod",
    "UsBusinessDays",
    "WorkdayCalendar",
    "WorkingDayCount",
    "YearArrangement",
    "add_working_days",
    "count_working_days",
    "us_federal_holidays",
]


class WorkdayCalendar(Protocol):
    """Tells whether a day is a working day; ``None`` when there is no official data for it."""

    def is_workday(self, day: date) -> bool | None:
        """True for a working day, False for a rest day, None when unknown."""
        ...


@dataclass(frozen=True)
class HolidayPeriod:
    """One festival: rest from ``start`` to ``end`` inclusive, and its make-up working days."""

    name: str
    start: date
    end: date
    make_up_workdays: tuple[date, ...] = ()

    def days(self) -> Iterable[date]:
        """Every rest day of the period."""
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)


@dataclass(frozen=True)
class YearArrangement:
    """The official arrangement for one year (one State Council notice)."""

    year: int
    source: str
    periods: tuple[HolidayPeriod, ...]

    def overrides(self) -> dict[date, bool]:
        """Days that differ from the Monday-to-Friday rule: rest days False, make-up days True."""
        out: dict[date, bool] = {}
        for period in self.periods:
            for day in period.days():
                out[day] = False
            for day in period.make_up_workdays:
                out[day] = True
        return out


@cache
def _package_covers(year: int) -> bool:
    # The package raises NotImplementedError outside its data range; probing once per year keeps
    # us independent of its private constants, and a newer package release is picked up as is.
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


class ChinaWorkdays:
    """The PRC working-day calendar: package data plus arrangement files, file data winning.

    A file describes its year completely, so for a year a file covers, days the file does not
    mention follow the Monday-to-Friday rule even if the package says otherwise (a correction).
    Days a file names outside its own year (a notice may move a working day into late December of
    the year before) override whatever else is known about them.
    """

    def __init__(
        self, arrangements: Iterable[YearArrangement] = (), *, use_package: bool = True
    ) -> None:
        self._use_package = use_package
        self._file_years: dict[int, str] = {}
        self._overrides: dict[date, tuple[bool, str]] = {}
        for arrangement in arrangements:
            if arrangement.year in self._file_years:
                raise CalendarDataError(
                    f"two arrangement files for {arrangement.year}: "
                    f"{self._file_years[arrangement.year]!r} and {arrangement.source!r}",
                    year=arrangement.year,
                )
            self._file_years[arrangement.year] = arrangement.source
            for day, working in arrangement.overrides().items():
                known = self._overrides.get(day)
                if known is not None and known[0] != working:
                    raise CalendarDataError(
                        f"{day.isoformat()} is a working day in one arrangement and a rest day in "
                        f"another ({known[1]!r}, {arrangement.source!r})",
                        day=day.isoformat(),
                    )
                self._overrides[day] = (working, arrangement.source)

    def is_workday(self, day: date) -> bool | None:
        """Whether ``day`` is a PRC working day; ``None`` for a year without official data."""
        override = self._overrides.get(day)
        if override is not None:
            return override[0]
        if day.year in self._file_years:
            return day.weekday() < 5
        if self._use_package and _package_covers(day.year):
            return bool(chinese_calendar.is_workday(day))
        return None

    def covers(self, year: int) -> bool:
        """Whether official data is known for ``year``."""
        return year in self._file_years or (self._use_package and _package_covers(year))

    def sources(self) -> dict[int, str]:
        """The arrangement files in use, by year (for the admin console and start-up log)."""
        return dict(self._file_years)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    # n >= 1 counts from the start of the month, n == -1 is the last such weekday.
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year, month, _calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date:
    # 5 U.S.C. 6103(b): a holiday on Saturday is observed on Friday, on Sunday on Monday.
    if day.weekday() == 5:
        return day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@cache
def us_federal_holidays(year: int) -> frozenset[date]:
    """The observed US federal holidays that fall in ``year`` (5 U.S.C. 6103)."""
    if not 1 <= year <= 9998:
        return frozenset()
    days: set[date] = set()
    # The next year's New Year's Day is observed on Dec 31 when Jan 1 is a Saturday.
    for y in (year, year + 1):
        fixed = [date(y, 1, 1), date(y, 7, 4), date(y, 11, 11), date(y, 12, 25)]
        if y >= 2021:  # Juneteenth became a federal holiday in 2021
            fixed.append(date(y, 6, 19))
        days.update(_observed(d) for d in fixed)
        days.update(
            {
                _nth_weekday(y, 1, 0, 3),  # Birthday of Martin Luther King, Jr.
                _nth_weekday(y, 2, 0, 3),  # Washington's Birthday
                _nth_weekday(y, 5, 0, -1),  # Memorial Day
                _nth_weekday(y, 9, 0, 1),  # Labor Day
                _nth_weekday(y, 10, 0, 2),  # Columbus Day
                _nth_weekday(y, 11, 3, 4),  # Thanksgiving Day
            }
        )
    return frozenset(d for d in days if d.year == year)


class UsBusinessDays:
    """Monday to Friday except observed federal holidays; known for every year."""

    def is_workday(self, day: date) -> bool | None:
        """Whether ``day`` is a US business day."""
        return day.weekday() < 5 and day not in us_federal_holidays(day.year)


@dataclass(frozen=True)
class WorkingDayCount:
    """A number of working days and whether any day in the span lacked official data."""

    days: int
    provisional: bool


@dataclass(frozen=True)
class CountResult:
    """The outcome of counting working days: the last day and whether any day was guessed."""

    last_day: date
    provisional: bool


def _next(day: date) -> date | None:
    return None if day == date.max else day + timedelta(days=1)


def add_working_days(calendar: WorkdayCalendar, after: date, count: int) -> CountResult:
    """The ``count``-th working day after ``after`` (``after`` itself is never counted).

    A day without official data counts as a working day and marks the result provisional, so a
    provisional result is never later than the true one. Never raises on a date: at the end of
    the representable range it stops at ``date.max``, provisionally.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    day, counted, provisional = after, 0, False
    # Official data never has more than a few weeks of rest in a row; a calendar that claims
    # more is broken, and counting its days as working keeps the result on the early side.
    budget = count * 7 + 366
    while counted < count:
        following = _next(day)
        if following is None:
            return CountResult(day, True)
        day = following
        budget -= 1
        status = calendar.is_workday(day)
        if status is None or budget < 0:
            provisional = True
            counted += 1
        elif status:
            counted += 1
    return CountResult(day, provisional)


def count_working_days(calendar: WorkdayCalendar, start: date, end: date) -> WorkingDayCount:
    """How many working days lie after ``start`` up to and including ``end``.

    This is the measurement the audit kit applies to a platform (submission → completion, rubric
    rule CN-RD-6-deadline); unknown days count as working days and mark the count provisional.
    """
    counted, provisional, day = 0, False, start
    while day < end:
        following = _next(day)
        if following is None:
            break
        day = following
        status = calendar.is_workday(day)
        if status is None:
            provisional = True
        if status is None or status:
            counted += 1
    return WorkingDayCount(counted, provisional)
