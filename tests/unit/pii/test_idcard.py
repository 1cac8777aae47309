"""Resident ID numbers: the GB 11643 checksum, birth dates, region codes."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exitright.demo.regions import DISTRICTS
from exitright.pii.idcard import (
    ID_NUMBER_PATTERN,
    birth_date,
    check_character,
    is_valid_id_number,
    make_id_number,
)

# Examples printed in GB 11643-1999 and widely used as test values.
STANDARD_EXAMPLES = ("11010519491231002X", "440524188001010014")


@pytest.mark.parametrize("number", STANDARD_EXAMPLES)
def test_the_standard_examples_are_valid(number: str) -> None:
    """The numbers printed in the standard pass, lower-case x included."""
    assert is_valid_id_number(number)
    assert is_valid_id_number(number.lower())
    assert check_character(number[:17]) == number[17]


def test_check_character_x_stands_for_ten() -> None:
    """A weighted sum of 2 (mod 11) gives the check character X."""
    assert check_character("11010519491231002") == "X"


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("110105194912310021", "wrong check character"),
        ("000105194912310028", "no such province"),
        ("110105194902300023", "30 February"),
        ("11010519491231002", "17 characters"),
        ("11010519491231002Y", "Y is not a check character"),
        ("１１０１０５１９４９１２３１００２X", "full-width digits"),
    ],
)
def test_malformed_numbers_are_refused(number: str, why: str) -> None:
    """Each kind of malformed number is refused."""
    assert not is_valid_id_number(number), why


def test_a_birth_date_after_today_is_refused_when_today_is_given() -> None:
    """The caller's date bounds the birth date; without one, any real date passes."""
    number = make_id_number("110105", date(2030, 1, 1), 1)
    assert is_valid_id_number(number)
    assert not is_valid_id_number(number, today=date(2026, 11, 1))


def test_make_id_number_encodes_sex_and_birth_date() -> None:
    """An odd sequence is a man's number, and the birth date reads back."""
    number = make_id_number("330106", date(1990, 5, 17), 123)
    assert number.startswith("33010619900517123")
    assert birth_date(number) == date(1990, 5, 17)
    assert int(number[16]) % 2 == 1


def test_make_id_number_refuses_a_region_that_does_not_exist() -> None:
    """A region outside the province codes is refused rather than producing an invalid number."""
    with pytest.raises(ValueError, match="region_code"):
        make_id_number("990101", date(1990, 1, 1), 1)
    with pytest.raises(ValueError, match="sequence"):
        make_id_number("110101", date(1990, 1, 1), 1000)


@given(
    region=st.sampled_from([d.code for d in DISTRICTS]),
    born=st.dates(min_value=date(1850, 1, 1), max_value=date(2025, 12, 31)),
    sequence=st.integers(min_value=0, max_value=999),
    position=st.integers(min_value=0, max_value=16),
    delta=st.integers(min_value=1, max_value=9),
)
def test_every_built_number_is_valid_and_any_single_digit_change_is_caught(
    region: str, born: date, sequence: int, position: int, delta: int
) -> None:
    """MOD 11-2 detects every single-digit error, so a changed digit never passes."""
    number = make_id_number(region, born, sequence)
    assert is_valid_id_number(number)
    digit = (int(number[position]) + delta) % 10
    changed = number[:position] + str(digit) + number[position + 1 :]
    assert check_character(changed[:17]) != number[17]


def test_the_pattern_finds_a_number_in_text_but_not_inside_longer_digits() -> None:
    """Free text: a number is found between CJK characters, not inside a 20-digit order number."""
    assert ID_NUMBER_PATTERN.findall("身份证11010519491231002X，请核对") == ["11010519491231002X"]
    assert ID_NUMBER_PATTERN.findall("订单E20240101000000001234") == []
