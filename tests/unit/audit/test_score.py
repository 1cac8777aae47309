"""Scoring: every profile scores without error and deterministically; the grade counts only
assessed must-rules."""

from __future__ import annotations

import json

from hypothesis import given, settings

from exitright.audit.profile import Profile
from exitright.audit.report import render_scorecard
from exitright.audit.rules import RULES
from exitright.audit.score import NOT_GRADED, score
from exitright.audit.verdict import Severity, Verdict
from tests.unit.audit.strategies import profiles
from tests.unit.audit.test_rules import CASES, profile


@settings(max_examples=100, deadline=None)
@given(p=profiles())
def test_every_generated_profile_scores_without_error_and_deterministically(p: Profile) -> None:
    """Same profile, same scorecard — in every format and language."""
    first, second = score(p), score(p)
    assert [(r.rule.id, r.assessment) for r in first.results] == [
        (r.rule.id, r.assessment) for r in second.results
    ]
    assert first.grade == second.grade
    assert len(first.results) == len(RULES)
    for fmt in ("md", "html", "json"):
        for lang in ("en", "zh-CN"):
            assert render_scorecard(first, fmt, lang) == render_scorecard(second, fmt, lang)


@settings(max_examples=100, deadline=None)
@given(p=profiles())
def test_a_pass_always_rests_on_a_finding_with_evidence(p: Profile) -> None:
    """Never passed silently: every pass names findings that carry evidence."""
    for r in score(p).results:
        if r.verdict is Verdict.PASS:
            assert r.assessment.findings and r.evidence


def test_an_empty_profile_is_not_graded_and_everything_is_not_assessed() -> None:
    """No evidence at all: grade "—", every rule not assessed."""
    card = score(Profile.model_validate({"platform": {"name": "x"}}))
    assert card.grade == NOT_GRADED
    assert card.counts[Verdict.NOT_ASSESSED] == len(RULES)
    assert not card.meets_every_assessed_must


def test_the_grade_counts_only_assessed_must_rules() -> None:
    """One must-rule passed and nothing else assessed is an A over one rule."""
    card = score(CASES["CN-35273-8.5-simple"][0])
    assert card.grade == "A"
    assert len(card.assessed_must()) == 1
    assert card.meets_every_assessed_must


def test_should_rules_do_not_move_the_grade() -> None:
    """Failing a should-rule alone leaves the profile ungraded."""
    card = score(CASES["CN-35273-8.5-consequences"][1])
    assert BY_SEVERITY["CN-35273-8.5-consequences"] is Severity.SHOULD
    assert card.counts[Verdict.FAIL] == 1
    assert card.grade == NOT_GRADED


BY_SEVERITY = {r.id: r.severity for r in RULES}


def test_half_passing_must_rules_grade_d_and_worse_grade_f() -> None:
    """(pass + ½ partial) / assessed: 0.5 is D, 0 is F."""
    half = profile(
        cancellation={"channels": ["in_app_page"]}, recycled_number={"behaviour": "old_account"}
    )
    assert score(half).grade == "D"
    none = profile(cancellation={"channels": ["phone"]})
    assert score(none).grade == "F"


def test_the_json_scorecard_carries_citations_evidence_and_the_not_assessed_count() -> None:
    """Each result has its source, tag, secondary flag and bilingual evidence."""
    data = json.loads(render_scorecard(score(CASES["CN-ECL-24-delete"][0]), "json", "en"))
    assert data["must"]["not_assessed"] > 0
    result = next(r for r in data["results"] if r["rule"] == "CN-RD-6-effective")
    assert result["secondary"] is True
    assert result["evidence"]["zh-CN"]
    assert result["sources"][0]["text"] == "observed by the test"


def test_reports_mark_secondary_rules_in_both_languages() -> None:
    """Markdown says "secondary" / "二手来源" next to secondary-source citations."""
    card = score(CASES["CN-35273-8.5-simple"][1])
    assert "(secondary)" in render_scorecard(card, "md", "en")
    assert "二手来源" in render_scorecard(card, "md", "zh-CN")
