"""Pre-check declarations: lawful ones load, unlawful conditions are refused by name."""

from __future__ import annotations

from typing import Any

import pytest

from exitright.cancellation.errors import PreCheckConfigError
from exitright.cancellation.prechecks import (
    DEFAULT_PRE_CHECKS,
    FORBIDDEN_DEMANDS,
    PreCheck,
    ResolutionKind,
    parse_pre_checks,
    validate_pre_checks,
)
from exitright.errors import ErrorCode

from .catalogs import catalog_keys


def test_the_default_pre_checks_are_lawful_and_have_texts_in_both_languages() -> None:
    """Open orders, wallet balance, disputes and security lock pass the validator."""
    for lang in ("en", "zh_CN"):
        validate_pre_checks(DEFAULT_PRE_CHECKS, catalog_keys=catalog_keys(lang))


def test_declarations_from_settings_become_pre_checks() -> None:
    """A link and a refund, as a deployment would declare them."""
    checks = parse_pre_checks(
        [
            {"id": "open_orders", "resolution": "link", "link": "/orders?open=1"},
            {"id": "wallet_balance", "resolution": "refund-to-original-method"},
        ]
    )
    assert [c.resolution for c in checks] == [
        ResolutionKind.LINK,
        ResolutionKind.REFUND_TO_ORIGINAL_METHOD,
    ]
    assert checks[0].explanation_key == "requests.precheck.open_orders.explanation"
    assert checks[1].to_dict()["resolution"] == "refund_to_original_method"


@pytest.mark.parametrize(
    "declaration",
    [
        {"id": "unpaid_fee", "resolution": "payment"},
        {"id": "deposit", "resolution": "transfer"},
        {"id": "identity", "resolution": "wait", "requires": ["document"]},
        {"id": "old_enough", "resolution": "wait", "requires": ["minimum_account_age"]},
        {"id": "hotline", "resolution": "phone_call"},
        {"id": "face", "resolution": "wait", "requires": ["Face Scan"]},
        {"id": "loan", "resolution": "link", "link": "/loan", "requires": ["loan"]},
    ],
)
def test_a_pre_check_demanding_a_forbidden_condition_is_refused_by_name(
    declaration: dict[str, Any],
) -> None:
    """Payments, transfers, documents, account age, phone calls and the like never pass."""
    with pytest.raises(PreCheckConfigError) as caught:
        parse_pre_checks([{"id": "fine", "resolution": "wait"}, declaration])
    message = str(caught.value)
    assert repr(declaration["id"]) in message
    assert caught.value.params["pre_check"] == declaration["id"]
    assert caught.value.params["rule"] in {"CN-UX-no-payment", "CN-ECL-24-conditions"}
    assert caught.value.to_exitright_error().code is ErrorCode.INVALID_CONFIG


def test_an_unknown_resolution_kind_is_refused_rather_than_trusted() -> None:
    """A kind the validator cannot judge is not allowed through."""
    with pytest.raises(PreCheckConfigError) as caught:
        parse_pre_checks([{"id": "custom", "resolution": "visit_our_office_maybe"}])
    assert "unknown resolution" in str(caught.value)


@pytest.mark.parametrize(
    ("declaration", "problem"),
    [
        ({"id": "Bad Id", "resolution": "wait"}, "needs an id"),
        ({"id": "orders", "resolution": "link"}, "needs a link"),
        ({"id": "orders", "resolution": "link", "link": "javascript:x"}, "link must be"),
        ({"id": "orders", "resolution": "wait", "colour": "red"}, "unknown keys"),
        ({"id": "orders", "resolution": "wait", "requires": "sign_in"}, "must be a list"),
        (
            {
                "id": "orders",
                "resolution": "wait",
                "explanation_key": "requests.precheck.x.explanation",
            },
            "explanation_key must be",
        ),
    ],
)
def test_a_malformed_declaration_is_refused(declaration: dict[str, Any], problem: str) -> None:
    """Typos and missing links stop start-up with the problem named."""
    with pytest.raises(PreCheckConfigError) as caught:
        parse_pre_checks([declaration])
    assert problem in str(caught.value)


def test_a_pre_check_without_catalog_texts_is_refused() -> None:
    """Every block must explain itself in zh-CN and en."""
    with pytest.raises(PreCheckConfigError) as caught:
        parse_pre_checks([{"id": "mystery", "resolution": "wait"}], catalog_keys=catalog_keys("en"))
    assert "requests.precheck.mystery.explanation" in str(caught.value)


def test_duplicate_ids_are_refused() -> None:
    """Two declarations with one id would share texts and confuse the status page."""
    with pytest.raises(PreCheckConfigError):
        validate_pre_checks(
            [PreCheck("x1", ResolutionKind.WAIT), PreCheck("x1", ResolutionKind.WAIT)]
        )


def test_no_forbidden_demand_is_also_a_resolution_kind() -> None:
    """The allowed list and the forbidden list never overlap."""
    assert not set(FORBIDDEN_DEMANDS) & {k.value for k in ResolutionKind}
