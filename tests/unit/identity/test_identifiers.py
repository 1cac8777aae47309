"""Identifiers: one number however it is typed, keyed hashes, masks that hide the middle."""

from __future__ import annotations

import pytest

from exitright.errors import ExitRightError
from exitright.identity.identifiers import identifier_hash, ledger_subject, mask, parse_identifier
from exitright.pii.detect import kinds

KEY = b"i" * 32


@pytest.mark.parametrize(
    "typed", ["13812345678", "+86 138-1234-5678", "0086 13812345678", "86-138 1234 5678"]
)
def test_a_mainland_mobile_is_one_identifier_however_it_is_typed(typed: str) -> None:
    """Every common way of writing the number lands on +86 and 11 digits."""
    assert parse_identifier("phone", typed).value == "+8613812345678"


def test_other_countries_are_accepted_in_e164() -> None:
    """A UK mobile keeps its country code."""
    assert parse_identifier("phone", "+44 7911 123456").value == "+447911123456"


@pytest.mark.parametrize("bad", ["12345", "1381234567", "+86 140 1234 5678", "abc", ""])
def test_a_malformed_phone_is_a_clear_error(bad: str) -> None:
    """Not a number we can text: 422 with its own message."""
    with pytest.raises(ExitRightError) as exc:
        parse_identifier("phone", bad)
    assert exc.value.message_id == "identity.error.invalid_phone"


def test_emails_are_compared_lowercased() -> None:
    """Ann@Example.CN and ann@example.cn are one identifier with one hash."""
    a, b = parse_identifier("email", "Ann@Example.CN"), parse_identifier("email", "ann@example.cn")
    assert identifier_hash(KEY, a) == identifier_hash(KEY, b)


def test_masks_hide_the_middle() -> None:
    """Logs and pages show 138****5678, never the number."""
    assert mask(parse_identifier("phone", "13812345678")) == "138****5678"
    assert mask(parse_identifier("email", "ann@example.cn")) == "a***@example.cn"
    assert "13812345678" not in repr(parse_identifier("phone", "13812345678"))


def test_hashes_are_keyed_and_ledger_subjects_never_look_like_personal_data() -> None:
    """Another key gives another hash; the ledger form trips no detector."""
    number = parse_identifier("phone", "13812345678")
    assert identifier_hash(KEY, number) != identifier_hash(b"j" * 32, number)
    for i in range(300):
        subject = ledger_subject(identifier_hash(KEY, parse_identifier("phone", f"1380000{i:04d}")))
        assert subject.startswith("idr_")
        assert kinds(subject) - {"name"} == set()
