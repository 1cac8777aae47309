"""PRC working days between two dates, for observed completion times in profiles.

Uses the official holiday and make-up working day calendar (``chinesecalendar``). For a year
without official data every calendar day counts as a working day, so the count can only be too
high — never flattering the platform — and it is marked provisional (DESIGN.md, "the holiday
calendar is data, and it runs out").
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar


def working_days_between(start: dt.date, end: dt.date) -> tuple[int, bool]:
    """Working days after ``start`` up to and including ``end``, and whether it is provisional."""
    count, provisional = 0, False
    day = start + dt.timedelta(days=1)
    while day <= end:
        try:
            workday = bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            workday, provisional = True, True
        count += workday
        day += dt.timedelta(days=1)
    return count, provisional
