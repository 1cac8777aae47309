"""18-digit PRC resident identity numbers (GB 11643-1999): checksum, validation, construction.

Layout: 6-digit administrative region code (GB/T 2260), 8-digit birth date ``YYYYMMDD``, 3-digit
sequence code (odd for men, even for women), and a check character computed with ISO 7064
MOD 11-2 over the first 17 digits (``X`` stands for 10). Used by the demo generator to make valid
numbers and by the personal-data detectors to tell a real ID number from any 18 digits.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

__all__ = [
    "ID_NUMBER_PATTERN",
    "PROVINCE_CODES",
    "birth_date",
    "check_character",
    "is_valid_id_number",
    "make_id_number",
]

# Weights 2^(17-i) mod 11 for positions 1..17, and the check characters for sum mod 11 = 0..10.
_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK: Final = "10X98765432"

# Province-level codes (first two digits of GB/T 2260): a number starting with anything else
# cannot have been issued, which removes most false positives among random 18-digit strings.
PROVINCE_CODES: Final = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82",
    }
)  # fmt: skip

# An ID number in text: 17 digits and a digit or X, not glued to further digits or letters.
ID_NUMBER_PATTERN: Final = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")

# Earlier "birth dates" are digits that happen to parse, not people (the standard's own example
# number was born in 1880).
_EARLIEST_BIRTH: Final = date(1850, 1, 1)


def check_character(first17: str) -> str:
    """The check character (``0``–``9`` or ``X``) for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("expected exactly 17 ASCII digits")
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


def birth_date(id_number: str) -> date | None:
    """The birth date encoded in an 18-digit ID number, or None when it is not a real date."""
    digits = id_number[6:14]
    if len(digits) != 8 or not digits.isascii() or not digits.isdigit():
        return None
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None
    return born if born >= _EARLIEST_BIRTH else None


def is_valid_id_number(value: str, *, today: date | None = None) -> bool:
    """Whether ``value`` is a well-formed 18-digit ID number.

    Checks the province code, that the birth date exists (and is not after ``today`` when
    given — the caller passes its clock's date, this module reads no clock), and the check
    character. A lower-case ``x`` is accepted, as people type it that way.
    """
    if len(value) != 18 or not value.isascii():
        return False
    first17, last = value[:17], value[17].upper()
    if not first17.isdigit() or not (last.isdigit() or last == "X"):
        return False
    if first17[:2] not in PROVINCE_CODES:
        return False
    born = birth_date(value)
    if born is None or (today is not None and born > today):
        return False
    return check_character(first17) == last


def make_id_number(region_code: str, born: date, sequence: int) -> str:
    """Build a valid ID number from a 6-digit region code, a birth date and a 0–999 sequence.

    The sequence's parity carries the sex (odd: male), as on issued numbers.
    """
    if len(region_code) != 6 or not region_code.isdigit() or region_code[:2] not in PROVINCE_CODES:
        raise ValueError("region_code must be a 6-digit GB/T 2260 code")
    if not 0 <= sequence <= 999:
        raise ValueError("sequence must be within 0..999")
    first17 = f"{region_code}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)
