"""Identifier values can never widen a key or path pattern."""

from __future__ import annotations

import pytest

from exitright.connectors.patterns import (
    UnsafeValueError,
    fill,
    has_glob,
    path_escape,
    redis_escape,
    unescape_redis,
)


def test_glob_characters_in_a_value_are_escaped_for_redis() -> None:
    filled = fill("session:{user_id}:*", {"user_id": "1*"}, redis_escape)
    assert filled == "session:1\\*:*"
    assert (
        unescape_redis(fill("cart:{user_id}", {"user_id": "a?b"}, redis_escape) or "") == "cart:a?b"
    )
    assert not has_glob(fill("cart:{user_id}", {"user_id": "[x]"}, redis_escape) or "")


@pytest.mark.parametrize("value", ["..", ".", "a/b", "a\\b", "", "x\x00"])
def test_values_that_would_change_directory_are_refused(value: str) -> None:
    with pytest.raises(UnsafeValueError):
        path_escape(value)


def test_a_missing_identifier_means_no_pattern_at_all() -> None:
    assert fill("sms:{phone}", {"user_id": "1"}, redis_escape) is None
    assert fill("idcards/{user_id}/*", {"user_id": "4[2]"}, path_escape) == "idcards/4[[]2]/*"
