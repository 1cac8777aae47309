"""Mainland mobile numbers: allocated prefixes, normalization, finding them in text."""

from __future__ import annotations

import pytest

from exitright.pii.phone import MOBILE_PATTERN, is_valid_mobile, normalize_mobile


@pytest.mark.parametrize("number", ["13812345678", "15012345678", "17712345678", "18912345678",
                                    "19912345678", "16612345678", "14712345678"])  # fmt: skip
def test_numbers_with_allocated_prefixes_are_valid(number: str) -> None:
    """Each carrier block the platform sees in practice is accepted."""
    assert is_valid_mobile(number)


@pytest.mark.parametrize(
    "number",
    ["12012345678", "14012345678", "15412345678", "19412345678", "1381234567", "138123456789",
     "23812345678", "1381234567a", "１３８１２３４５６７８"],
)  # fmt: skip
def test_unallocated_prefixes_and_wrong_lengths_are_invalid(number: str) -> None:
    """Prefixes never allocated to subscribers, wrong lengths and non-ASCII digits are refused."""
    assert not is_valid_mobile(number)


@pytest.mark.parametrize(
    "written",
    ["13812345678", "138 1234 5678", "138-1234-5678", "+86 138 1234 5678", "+8613812345678",
     "0086 13812345678", "8613812345678", "+86-138-1234-5678", " 138 1234 5678 "],
)  # fmt: skip
def test_every_common_spelling_normalizes_to_eleven_digits(written: str) -> None:
    """However the number was typed, the bare form comes out."""
    assert normalize_mobile(written) == "13812345678"


def test_normalizing_something_that_is_not_a_mobile_number_gives_none() -> None:
    """Landlines and short codes are not mobile numbers."""
    assert normalize_mobile("010-12345678") is None
    assert normalize_mobile("95588") is None


def test_the_pattern_finds_numbers_in_chinese_text_but_not_inside_longer_digit_runs() -> None:
    """Chat text: found next to CJK characters; not inside an order or ID number."""
    text = "我电话是+86 138-1234-5678，地址在杭州。备用15912345678"
    found = [normalize_mobile(m.group(0)) for m in MOBILE_PATTERN.finditer(text)]
    assert found == ["13812345678", "15912345678"]
    assert MOBILE_PATTERN.search("订单E20240101000013812345678") is None
    assert MOBILE_PATTERN.search("11010519491231002X") is None
