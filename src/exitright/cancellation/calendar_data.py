"""Holiday-arrangement data files: next year's official calendar without a code release.

The State Council publishes each year's arrangement (国务院办公厅关于××年部分节假日安排的通知)
late in the year before, usually after the ``chinese_calendar`` package last shipped. An operator
copies the notice into a small TOML file, drops it into the deployment's calendar directory and
restarts; deadlines then count with it, and provisional due dates can be recomputed
(:func:`exitright.cancellation.deadlines.refresh_deadline`). The format is documented in
``calendars/README.md``; ``calendars/example-cn-2026.toml`` restates the 2026 notice in it.

Parsing is pure (:func:`parse_arrangement` takes text). :func:`load_arrangements` reads files and
is the one place in this package that touches the file system; bootstrap calls it once at start-up.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Final

from exitright.cancellation.errors import CalendarDataError
from exitright.cancellation.workdays import HolidayPeriod, YearArrangement

__all__ = [
    "FORMAT_VERSION",
    "load_arrangements",
    "packaged_arrangements",
    "parse_arrangement",
]

FORMAT_VERSION: Final = 1
_TOP_KEYS: Final = frozenset({"format", "country", "year", "source", "url", "published", "holiday"})
_PERIOD_KEYS: Final = frozenset({"name", "name_en", "from", "to", "make_up_workdays"})
# Longest real rest period is 9 days (Spring Festival 2026); a month means a typo in a year.
_MAX_PERIOD: Final = timedelta(days=31)


def _fail(origin: str, problem: str) -> CalendarDataError:
    return CalendarDataError(f"{origin}: {problem}", file=origin, problem=problem)


def _as_date(value: Any, origin: str, where: str) -> date:
    # TOML has native dates (2027-01-01); quoted ISO strings are accepted too, as people write them.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _fail(origin, f"{where} must be a date like 2027-01-01, not {value!r}")


def _period(raw: Any, origin: str, index: int) -> HolidayPeriod:
    where = f"holiday #{index + 1}"
    if not isinstance(raw, Mapping):
        raise _fail(origin, f"{where} must be a table")
    unknown = set(raw) - _PERIOD_KEYS
    if unknown:
        raise _fail(origin, f"{where} has unknown keys {sorted(unknown)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _fail(origin, f"{where} needs a name")
    where = f"holiday {name!r}"
    if "from" not in raw or "to" not in raw:
        raise _fail(origin, f"{where} needs 'from' and 'to'")
    start = _as_date(raw["from"], origin, f"{where}.from")
    end = _as_date(raw["to"], origin, f"{where}.to")
    if end < start:
        raise _fail(origin, f"{where} ends before it starts")
    if end - start > _MAX_PERIOD:
        raise _fail(origin, f"{where} is longer than a month")
    make_up_raw = raw.get("make_up_workdays", [])
    if not isinstance(make_up_raw, list):
        raise _fail(origin, f"{where}.make_up_workdays must be a list of dates")
    make_up = tuple(_as_date(v, origin, f"{where}.make_up_workdays") for v in make_up_raw)
    for day in make_up:
        if start <= day <= end:
            raise _fail(origin, f"{where}: {day.isoformat()} is both a rest day and a working day")
        # A make-up working day replaces a weekend day; on a weekday it would change nothing,
        # so it is almost certainly a mistyped date.
        if day.weekday() < 5:
            raise _fail(origin, f"{where}: make-up working day {day.isoformat()} is not a weekend")
    return HolidayPeriod(name=name.strip(), start=start, end=end, make_up_workdays=make_up)


def parse_arrangement(text: str, origin: str = "<arrangement>") -> YearArrangement:
    """Parse one arrangement file; raise :class:`CalendarDataError` naming the problem."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(origin, f"not valid TOML ({exc})") from None
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise _fail(origin, f"unknown keys {sorted(unknown)}")
    if raw.get("format") != FORMAT_VERSION:
        raise _fail(origin, f"format must be {FORMAT_VERSION}")
    if raw.get("country") != "CN":
        raise _fail(origin, 'country must be "CN"')
    year = raw.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1949 < year < 9999:
        raise _fail(origin, "year must be a year such as 2027")
    source = raw.get("source")
    if not isinstance(source, str) or not source.strip():
        raise _fail(origin, "source must name the official notice")
    periods_raw = raw.get("holiday")
    if not isinstance(periods_raw, list) or not periods_raw:
        raise _fail(origin, "at least one [[holiday]] is required")
    periods = tuple(_period(p, origin, i) for i, p in enumerate(periods_raw))
    # A notice may reach back into late December of the year before (the 2019 notice made
    # 2018-12-29 a working day), never further and never into the next year.
    first_allowed, last_allowed = date(year - 1, 12, 1), date(year, 12, 31)
    seen: dict[date, str] = {}
    for period in periods:
        for day in (*period.days(), *period.make_up_workdays):
            if not first_allowed <= day <= last_allowed:
                raise _fail(origin, f"{day.isoformat()} lies outside the year {year}")
            if day in seen:
                raise _fail(
                    origin, f"{day.isoformat()} appears in both {seen[day]!r} and {period.name!r}"
                )
            seen[day] = period.name
    return YearArrangement(year=year, source=source.strip(), periods=periods)


def load_arrangements(paths: Iterable[Path]) -> tuple[YearArrangement, ...]:
    """Read arrangement files and directories (every ``*.toml`` inside, sorted by name).

    A missing directory yields nothing, so a deployment without one starts normally; a file that
    exists but is wrong stops start-up with a message naming the file.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.toml")))
        elif path.exists():
            files.append(path)
    out: list[YearArrangement] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(str(file), f"cannot be read ({exc.__class__.__name__})") from None
        out.append(parse_arrangement(text, str(file)))
    return tuple(out)


def packaged_arrangements() -> tuple[YearArrangement, ...]:
    """Arrangements shipped inside this package as ``calendars/cn-YYYY.toml``.

    Examples (``example-*.toml``) are documentation and never loaded.
    """
    base = resources.files("exitright.cancellation") / "calendars"
    out: list[YearArrangement] = []
    for entry in sorted(base.iterdir(), key=lambda e: e.name):
        name = entry.name
        if name.startswith("cn-") and name.endswith(".toml"):
            out.append(parse_arrangement(entry.read_text(encoding="utf-8"), f"calendars/{name}"))
    return tuple(out)
