"""The holiday-arrangement file format: what it accepts and what it refuses, by name."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from exitright.cancellation.calendar_data import (
    load_arrangements,
    packaged_arrangements,
    parse_arrangement,
)
from exitright.cancellation.errors import CalendarDataError
from exitright.errors import ErrorCode

HEADER = 'format = 1\ncountry = "CN"\nyear = 2027\nsource = "notice"\n'


def test_a_minimal_file_parses_into_periods_and_make_up_days() -> None:
    """One holiday with one make-up day."""
    text = (
        HEADER
        + '[[holiday]]\nname = "春节"\nfrom = 2027-02-05\nto = 2027-02-11\n'
        + 'make_up_workdays = ["2027-01-31"]\n'
    )
    arrangement = parse_arrangement(text)
    assert arrangement.year == 2027
    assert arrangement.overrides()[date(2027, 1, 31)] is True
    assert arrangement.overrides()[date(2027, 2, 8)] is False


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("", "at least one [[holiday]]"),
        ('[[holiday]]\nname = "x"\nfrom = 2027-02-05\n', "needs 'from' and 'to'"),
        ('[[holiday]]\nname = "x"\nfrom = 2027-02-05\nto = 2027-02-01\n', "ends before it starts"),
        ('[[holiday]]\nname = "x"\nfrom = 2027-01-01\nto = 2027-03-01\n', "longer than a month"),
        ('[[holiday]]\nname = "x"\nfrom = 2028-01-01\nto = 2028-01-02\n', "outside the year"),
        (
            '[[holiday]]\nname = "x"\nfrom = 2027-02-05\nto = 2027-02-06\n'
            "make_up_workdays = [2027-02-01]\n",
            "is not a weekend",
        ),
        (
            '[[holiday]]\nname = "x"\nfrom = 2027-02-05\nto = 2027-02-07\n'
            "make_up_workdays = [2027-02-06]\n",
            "both a rest day and a working day",
        ),
        (
            '[[holiday]]\nname = "a"\nfrom = 2027-02-05\nto = 2027-02-07\n'
            '[[holiday]]\nname = "b"\nfrom = 2027-02-07\nto = 2027-02-08\n',
            "appears in both",
        ),
        ('[[holiday]]\nname = "x"\nfrom = "soon"\nto = 2027-02-01\n', "must be a date"),
        ('[[holiday]]\nname = "x"\nstart = 2027-02-01\nto = 2027-02-01\n', "unknown keys"),
    ],
)
def test_a_mistyped_file_is_refused_with_the_problem_named(body: str, problem: str) -> None:
    """Each typing mistake that would shift deadlines silently stops start-up instead."""
    with pytest.raises(CalendarDataError) as caught:
        parse_arrangement(HEADER + body, "cn-2027.toml")
    assert problem in str(caught.value)
    assert "cn-2027.toml" in str(caught.value)
    assert caught.value.to_exitright_error().code is ErrorCode.INVALID_FILE


@pytest.mark.parametrize(
    "header",
    [
        'format = 2\ncountry = "CN"\nyear = 2027\nsource = "n"\n',
        'format = 1\ncountry = "HK"\nyear = 2027\nsource = "n"\n',
        'format = 1\ncountry = "CN"\nyear = "2027"\nsource = "n"\n',
        'format = 1\ncountry = "CN"\nyear = 2027\n',
        'format = 1\ncountry = "CN"\nyear = 2027\nsource = "n"\nyaer = 1\n',
        "this is not toml = = =",
    ],
)
def test_a_wrong_header_is_refused(header: str) -> None:
    """Format, country, year and source are checked before anything else."""
    with pytest.raises(CalendarDataError):
        parse_arrangement(header + '[[holiday]]\nname = "x"\nfrom = 2027-01-01\nto = 2027-01-01\n')


def test_a_missing_directory_loads_nothing(tmp_path: Path) -> None:
    """A deployment without a calendar directory starts normally."""
    assert load_arrangements([tmp_path / "calendars"]) == ()


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 give an error naming the file."""
    bad = tmp_path / "cn-2027.toml"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(CalendarDataError) as caught:
        load_arrangements([bad])
    assert str(bad) in str(caught.value)


def test_examples_shipped_in_the_package_are_not_loaded() -> None:
    """Only calendars/cn-YYYY.toml would be; the example is documentation."""
    assert all(
        a.source != "国务院办公厅关于2026年部分节假日安排的通知" for a in packaged_arrangements()
    )
