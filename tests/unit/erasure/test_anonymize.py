"""Anonymize methods are idempotent, so a rerun after a crash changes nothing more."""

from __future__ import annotations

from datetime import date, datetime

from hypothesis import given
from hypothesis import strategies as st

from exitright.datamap.model import Fixed, Truncate
from exitright.erasure.anonymize import Hasher, add_months, apply

hasher = Hasher(b"k" * 32)


@given(st.text(max_size=40), st.sampled_from(["null", "hash", "redact"]))
def test_applying_a_method_twice_equals_applying_it_once(value: str, method: str) -> None:
    once = apply(method, value, hasher, 20)  # type: ignore[arg-type]
    assert apply(method, once, hasher, 20) == once  # type: ignore[arg-type]


def test_keyed_hashes_are_stable_fit_the_column_and_differ_per_value() -> None:
    a, b = hasher("13812345678", 11), hasher("13812345679", 11)
    assert len(a) == 11 and a != b and hasher("13812345678", 11) == a


def test_month_fixed_and_truncate() -> None:
    assert apply("month", datetime(2024, 5, 17, 13, 2), hasher) == datetime(2024, 5, 1)
    assert apply("month", date(2024, 5, 17), hasher) == date(2024, 5, 1)
    assert apply(Fixed(fixed="[removed]"), "x", hasher) == "[removed]"
    assert apply(Truncate(truncate=3), "浙江省杭州市", hasher) == "浙江省"


def test_retention_periods_add_calendar_months() -> None:
    assert add_months(datetime(2024, 2, 29, 10), 36) == date(2027, 2, 28)
    assert add_months(date(2024, 8, 31), 6) == date(2025, 2, 28)
