"""The rubric as code: every rule passes one profile and fails another; no evidence, no verdict."""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import pytest

from exitright.audit import rules_ecl, rules_intl, rules_pipl, rules_std
from exitright.audit.profile import Evaluation, Profile
from exitright.audit.rules import BY_ID, RULES, assess
from exitright.audit.verdict import Severity, Tag, Verdict

RUBRIC_IDS = [
    "CN-ECL-24-disclose",
    "CN-ECL-24-conditions",
    "CN-ECL-24-query-correct",
    "CN-ECL-24-delete",
    "CN-ECL-31-retain",
    "CN-PIPL-47-storage-only",
    "CN-PIPL-47-stop-use",
    "CN-PIPL-15-withdraw",
    "CN-PIPL-50-intake",
    "CN-PIPL-50-reasons",
    "CN-CSL-43-delete-correct",
    "CN-CSL-42-no-onward",
    "CN-RD-6-effective",
    "CN-RD-6-deadline",
    "CN-35273-8.5-simple",
    "CN-35273-8.5-verify",
    "CN-35273-8.5-consequences",
    "CN-35273-8.7-30days",
    "CN-UX-entry-taps",
    "CN-UX-cooling-off",
    "CN-UX-no-payment",
    "CN-ID-recycled",
    "GDPR-12-deadline",
    "GDPR-17-erase",
    "GDPR-19-recipients",
    "US-CCPA-7021",
    "US-CCPA-7022",
    "STORE-APPLE-5.1.1v",
    "STORE-GPLAY-web",
]
EVIDENCE = [{"kind": "note", "text": "observed by the test"}]


def profile(scope: list[str] | None = None, **findings: dict[str, Any]) -> Profile:
    """A profile with the given findings, each with a piece of evidence."""
    data: dict[str, Any] = {"platform": {"name": "Test platform"}}
    if scope is not None:
        data["evaluation"] = {"scope": scope}
    for name, values in findings.items():
        data[name] = {**values, "evidence": EVIDENCE}
    return Profile.model_validate(data)


ALL = ["cn", "gdpr", "ccpa", "apple", "google_play"]
DONE = {"result": "deleted", "old_login_fails": True}

# rule id → (a profile it passes, a profile it fails)
CASES: dict[str, tuple[Profile, Profile]] = {
    "CN-ECL-24-disclose": (
        profile(
            disclosure={
                "way": True,
                "procedure": True,
                "preconditions": True,
                "timeline": True,
                "retained_data": True,
                "matches_product": True,
            }
        ),
        profile(disclosure={"way": False}),
    ),
    "CN-ECL-24-conditions": (
        profile(preconditions={"items": []}),
        profile(preconditions={"items": [{"kind": "account_age"}]}),
    ),
    "CN-ECL-24-query-correct": (
        profile(
            rights={
                "access_self_service": True,
                "correction_self_service": True,
                "correction_visible_at_once": True,
            }
        ),
        profile(rights={"access_self_service": False, "correction_self_service": False}),
    ),
    "CN-ECL-24-delete": (
        profile(
            outcome={
                **DONE,
                "same_phone_empty_account": True,
                "retained_listed_with_basis": True,
            }
        ),
        profile(outcome={"result": "phone_unbound_only"}),
    ),
    "CN-ECL-31-retain": (
        profile(retention={"transaction_records_years": 3, "non_transaction_under_art31": False}),
        profile(retention={"transaction_records_years": 1}),
    ),
    "CN-PIPL-47-storage-only": (
        profile(
            retention={
                "segregated": True,
                "encrypted": True,
                "access_logged": True,
                "excluded_from_processing": True,
                "purged_at_expiry": True,
            }
        ),
        profile(retention={"excluded_from_processing": False}),
    ),
    "CN-PIPL-47-stop-use": (
        profile(contact_after={"marketing_after_30_days": False, "marketing_after_90_days": False}),
        profile(contact_after={"marketing_after_30_days": True}),
    ),
    "CN-PIPL-15-withdraw": (
        profile(
            consent={
                "per_consent_switch": True,
                "grant_steps": 2,
                "withdraw_steps": 2,
                "basic_function_after_withdrawal": True,
            }
        ),
        profile(consent={"grant_steps": 2, "withdraw_steps": 5}),
    ),
    "CN-PIPL-50-intake": (
        profile(
            cancellation={
                "channels": ["in_app_page"],
                "any_hour": True,
                "acknowledged_with_reference": True,
            }
        ),
        profile(cancellation={"channels": ["phone"]}),
    ),
    "CN-PIPL-50-reasons": (
        profile(refusals={"reason_specific": True, "what_to_do": True}),
        profile(refusals={"generic_error": True}),
    ),
    "CN-CSL-43-delete-correct": (
        profile(rights={"export_unlisted_fields": False, "correction_succeeds": True}),
        profile(rights={"export_unlisted_fields": True}),
    ),
    "CN-CSL-42-no-onward": (
        profile(third_parties={"told_to_delete": True, "flows_after": False}),
        profile(third_parties={"flows_after": True}),
    ),
    "CN-RD-6-effective": (
        profile(outcome=DONE),
        profile(outcome={"result": "frozen"}),
    ),
    "CN-RD-6-deadline": (
        profile(
            timing={"promise_stated": True, "promised_working_days": 10, "observed_working_days": 8}
        ),
        profile(timing={"promise_stated": True, "promised_working_days": 30}),
    ),
    "CN-35273-8.5-simple": (
        profile(cancellation={"channels": ["in_app_page"]}),
        profile(cancellation={"channels": ["customer_service"]}),
    ),
    "CN-35273-8.5-verify": (
        profile(verification={"asked": ["sms_code"], "registration_collected": ["phone"]}),
        profile(verification={"asked": ["handheld_id_photo"], "registration_collected": ["phone"]}),
    ),
    "CN-35273-8.5-consequences": (
        profile(cancellation={"consequences_disclosed": True}),
        profile(cancellation={"consequences_disclosed": False}),
    ),
    "CN-35273-8.7-30days": (
        profile(rights={"response_days": 10, "charged": False}),
        profile(rights={"response_days": 40}),
    ),
    "CN-UX-entry-taps": (
        profile(cancellation={"channels": ["in_app_page"], "taps": 3, "label": "注销账号"}),
        profile(cancellation={"channels": ["in_app_page"], "taps": 8}),
    ),
    "CN-UX-cooling-off": (
        profile(
            cooling_off={"working_days": 7, "revocable_in_product": True},
            timing={"observed_working_days": 3},
        ),
        profile(cooling_off={"working_days": 15}, timing={"observed_working_days": 3}),
    ),
    "CN-UX-no-payment": (
        profile(cancellation={"asks_payment": False, "official_channels_stated": True}),
        profile(cancellation={"asks_payment": True}),
    ),
    "CN-ID-recycled": (
        profile(recycled_number={"behaviour": "fresh_account"}),
        profile(recycled_number={"behaviour": "old_orders_visible"}),
    ),
    "GDPR-12-deadline": (
        profile(ALL, timing={"submitted_on": "2025-01-31", "completed_on": "2025-02-28"}),
        profile(ALL, timing={"submitted_on": "2025-01-01", "completed_on": "2025-03-01"}),
    ),
    "GDPR-17-erase": (
        profile(ALL, outcome={"access_after_returns_only_retained": True, "basis_named": True}),
        profile(ALL, outcome={"access_after_returns_only_retained": False}),
    ),
    "GDPR-19-recipients": (
        profile(
            ALL,
            third_parties={"recipient_list_available": True, "notices_logged_with_ack": True},
        ),
        profile(ALL, third_parties={"recipient_list_available": False}),
    ),
    "US-CCPA-7021": (
        profile(ALL, timing={"confirmation_business_days": 5, "observed_calendar_days": 30}),
        profile(ALL, timing={"confirmation_business_days": 12}),
    ),
    "US-CCPA-7022": (
        profile(ALL, third_parties={"told_to_delete": True}, outcome={"result": "deleted"}),
        profile(ALL, third_parties={"told_to_delete": False}),
    ),
    "STORE-APPLE-5.1.1v": (
        profile(ALL, cancellation={"channels": ["in_app_page"]}, outcome={"result": "deleted"}),
        profile(ALL, cancellation={"channels": ["web_page"], "in_app_page": False}),
    ),
    "STORE-GPLAY-web": (
        profile(ALL, cancellation={"channels": ["in_app_page"], "web_logged_out": True}),
        profile(ALL, cancellation={"channels": ["in_app_page"], "web_logged_out": False}),
    ),
}


def test_the_registry_holds_exactly_the_rules_of_the_rubric() -> None:
    """Every id of RUBRIC.md is in the registry once, in the rubric's order."""
    assert [r.id for r in RULES] == RUBRIC_IDS


def test_every_rule_has_a_passing_and_a_failing_case() -> None:
    """The table of cases covers the whole registry."""
    assert set(CASES) == set(BY_ID)


@pytest.mark.parametrize("rule_id", RUBRIC_IDS)
def test_rule_passes_its_passing_profile(rule_id: str) -> None:
    """The passing case passes, with a sentence of evidence in both languages."""
    result = assess(BY_ID[rule_id], CASES[rule_id][0])
    assert result.verdict is Verdict.PASS, result.because.en
    assert result.because.en and result.because.zh


@pytest.mark.parametrize("rule_id", RUBRIC_IDS)
def test_rule_fails_its_failing_profile(rule_id: str) -> None:
    """The failing case fails, naming the finding it rests on."""
    result = assess(BY_ID[rule_id], CASES[rule_id][1])
    assert result.verdict is Verdict.FAIL, result.because.en
    assert result.findings


@pytest.mark.parametrize("rule_id", RUBRIC_IDS)
def test_a_profile_without_evidence_is_never_assessed(rule_id: str) -> None:
    """No finding at all gives not assessed — never pass."""
    bare = Profile.model_validate({"platform": {"name": "x"}, "evaluation": {"scope": ALL}})
    assert assess(BY_ID[rule_id], bare).verdict is Verdict.NOT_ASSESSED


def test_a_rule_of_an_undeclared_regime_is_not_assessed_even_with_evidence() -> None:
    """GDPR evidence on a cn-only evaluation is out of scope."""
    case = CASES["GDPR-17-erase"][1].model_copy(update={"evaluation": Evaluation()})
    assert assess(BY_ID["GDPR-17-erase"], case).verdict is Verdict.NOT_ASSESSED


def test_partial_verdicts_mark_known_shortfalls_that_are_not_decisive() -> None:
    """Five to six taps to the entry is partial; a cooling-off not revocable in the product too."""
    taps = profile(cancellation={"channels": ["in_app_page"], "taps": 5})
    assert assess(BY_ID["CN-UX-entry-taps"], taps).verdict is Verdict.PARTIAL
    cooling = profile(
        cooling_off={"working_days": 3, "revocable_in_product": False},
        timing={"observed_working_days": 2},
    )
    assert assess(BY_ID["CN-UX-cooling-off"], cooling).verdict is Verdict.PARTIAL


def test_asking_for_a_hand_held_id_of_a_phone_only_account_fails_conditions_too() -> None:
    """Documents and biometrics never collected are an unreasonable condition (ECL 24)."""
    p = profile(verification={"asked": ["handheld_id_photo"], "registration_collected": ["phone"]})
    result = assess(BY_ID["CN-ECL-24-conditions"], p)
    assert result.verdict is Verdict.FAIL
    assert "face" in result.because.en


def test_a_deadline_without_a_promise_is_measured_against_fifteen_working_days() -> None:
    """No promise → 15 working days apply, and the sentence says so."""
    p = profile(timing={"promise_stated": False, "observed_working_days": 16})
    result = assess(BY_ID["CN-RD-6-deadline"], p)
    assert result.verdict is Verdict.FAIL
    assert "No promise" in result.because.en


def test_verdicts_resting_only_on_third_party_labels_are_marked() -> None:
    """An assessment from a JustDeleteMe-style label says it is a third-party label."""
    p = Profile.model_validate(
        {
            "platform": {"name": "x"},
            "cancellation": {
                "channels": ["email"],
                "evidence": [{"kind": "label", "text": "hard", "third_party": True}],
            },
        }
    )
    result = assess(BY_ID["CN-35273-8.5-simple"], p)
    assert result.verdict is Verdict.FAIL
    assert result.third_party


def test_every_rule_carries_its_citation_in_the_docstring_and_both_languages() -> None:
    """Docstrings name the rule id; texts exist in en and zh-CN; secondary tags are flagged."""
    for rule in RULES:
        assert rule.check.__doc__ and rule.id in rule.check.__doc__
        assert rule.requirement.en and rule.requirement.zh and rule.checked.zh
        assert rule.secondary == (rule.tag in (Tag.SECONDARY, Tag.MIXED))
    assert {r.severity for r in RULES} == set(Severity)


CORE_MODULES = (rules_ecl, rules_pipl, rules_intl, rules_std)
ALLOWED_PREFIXES = (
    "exitright.audit.profile",
    "exitright.audit.vocabulary",
    "exitright.audit.verdict",
    "exitright.audit.rules",
)


@pytest.mark.parametrize("module", [*CORE_MODULES, sys.modules["exitright.audit.rules"]])
def test_the_rules_import_only_the_standard_library_and_the_profile_model(module: Any) -> None:
    """The pure core (STYLE.md): no I/O libraries, no clock, only stdlib and core modules."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or name.startswith(ALLOWED_PREFIXES), name
        if isinstance(node, ast.Attribute):
            assert node.attr not in {"now", "today", "utcnow", "time"}, "no clock reads"
