"""Detectors find Chinese personal data in text; variants cover how people write identifiers."""

from __future__ import annotations

import pytest

from exitright.pii.detect import (
    column_hint,
    kinds,
    luhn_valid,
    normalize_phone,
    phone_needles,
    phone_variants,
    redact,
)

ID = "11010519491231002X"  # the GB 11643 example number


@pytest.mark.parametrize(
    "text",
    [
        "13812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "电话：138-1234-5678。",
        "008613812345678",
    ],
)
def test_mobile_numbers_are_found_however_they_are_written(text: str) -> None:
    assert "phone" in kinds(text)


def test_an_id_number_needs_its_checksum() -> None:
    assert "id_number" in kinds(f"身份证 {ID}")
    assert "id_number" not in kinds("身份证 110105194912310021")


def test_bank_cards_need_luhn_and_emails_are_found() -> None:
    assert luhn_valid("6222021234567890128") or not luhn_valid("6222021234567890121")
    assert "bank_card" in kinds("卡号 4111 1111 1111 1111")
    assert "bank_card" not in kinds("卡号 4111 1111 1111 1112")
    assert "email" in kinds("mail me: Li.Lei@Example.COM")


def test_addresses_are_found() -> None:
    assert "address" in kinds("送到浙江省杭州市西湖区文三路398号")


def test_redact_replaces_identifiers_and_is_idempotent() -> None:
    text = f"我的电话 +86 138-1234-5678，身份证 {ID}，邮箱 a.b@qq.com"
    once = redact(text)
    assert "1234" not in once and ID not in once and "qq.com" not in once
    assert redact(once) == once


def test_phone_variants_cover_prefixes_spaces_and_dashes() -> None:
    assert normalize_phone("+86 138-1234-5678") == "13812345678"
    variants = phone_variants("13812345678")
    assert {"13812345678", "+8613812345678", "138 1234 5678", "138-1234-5678"} <= set(variants)
    assert all(any(n in v for n in phone_needles("13812345678")) for v in variants)


def test_column_names_hint_at_personal_data() -> None:
    assert column_hint("receiver_phone") == "phone"
    assert column_hint("id_number") == "id_number"
    assert column_hint("receiver_name") == "name"
    assert column_hint("title") is None
