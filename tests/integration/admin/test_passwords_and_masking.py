"""Password hashes and identifier masks, without a server."""

from __future__ import annotations

from exitright.admin.masking import mask
from exitright.admin.passwords import (
    DUMMY_HASH,
    hash_password,
    password_problem,
    verify_password,
)
from exitright.cancellation.ports import Identifiers


def test_a_hash_verifies_its_password_only_and_is_salted() -> None:
    """Same password, two hashes; a wrong password, a malformed hash and the dummy never match."""
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first != second
    assert first.startswith("scrypt$15$8$3$")
    assert verify_password("correct horse battery", first)
    assert not verify_password("correct horse batterz", first)
    assert not verify_password("anything", "scrypt$99$8$1$xx$yy")
    assert not verify_password("anything", "not a hash")
    assert not verify_password("anything", DUMMY_HASH)


def test_weak_passwords_are_named() -> None:
    """Too short, too long, or the name itself."""
    assert password_problem("short", "li.lei") == "admin.error.password_short"
    assert password_problem("x" * 300, "li.lei") == "admin.error.password_long"
    assert password_problem("Wang.Fang.Ops", "wang.fang.ops") == "admin.error.password_is_name"
    assert password_problem("a long test passphrase", "li.lei") is None


def test_masks_keep_only_what_matches_a_phone_call() -> None:
    """138****5678 for a phone (also with +86), a***@***.com for an e-mail."""
    assert mask(Identifiers("phone", "13812345678")) == "138****5678"
    assert mask(Identifiers("phone", "+86 138 1234 5678")) == "138****5678"
    assert mask(Identifiers("email", "alice@example.com")) == "a***@***.com"
    assert mask(Identifiers("user_id", "u12345678")) == "u1***"
