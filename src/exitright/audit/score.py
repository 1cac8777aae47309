"""The scorecard: every rule applied to one profile, and a grade over the assessed must-rules.

Pure core: standard library, the profile model and the rules only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from exitright.audit.profile import Evidence, Profile, Regime
from exitright.audit.rules import RULES, assess
from exitright.audit.verdict import Assessment, Rule, Severity, Verdict

# Grade bands over the assessed must-rules: (lowest ratio, grade). Partial counts half.
GRADE_BANDS: tuple[tuple[float, str], ...] = ((1.0, "A"), (0.85, "B"), (0.7, "C"), (0.5, "D"))
FAILING_GRADE = "F"
NOT_GRADED = "—"
STORE_REGIMES = frozenset({Regime.APPLE, Regime.GOOGLE_PLAY})


@dataclass(frozen=True)
class RuleResult:
    """One rule's verdict on one profile, with the profile's evidence it rests on."""

    rule: Rule
    assessment: Assessment
    evidence: tuple[Evidence, ...]

    @property
    def verdict(self) -> Verdict:
        """The verdict."""
        return self.assessment.verdict


@dataclass(frozen=True)
class Scorecard:
    """All verdicts on one profile and its grade."""

    profile: Profile
    results: tuple[RuleResult, ...]

    def counting(self) -> tuple[RuleResult, ...]:
        """The results that make the grade: must-rules, and store rules of regimes in scope."""
        scope = set(self.profile.evaluation.scope)
        return tuple(
            r
            for r in self.results
            if r.rule.severity is Severity.MUST
            or (r.rule.severity is Severity.MUST_STORE and r.rule.regime in scope & STORE_REGIMES)
        )

    def assessed_must(self) -> tuple[RuleResult, ...]:
        """Counting results that were assessed."""
        return tuple(r for r in self.counting() if r.verdict is not Verdict.NOT_ASSESSED)

    @property
    def counts(self) -> dict[Verdict, int]:
        """How many rules got each verdict (all rules)."""
        c = Counter(r.verdict for r in self.results)
        return {v: c.get(v, 0) for v in Verdict}

    @property
    def must_counts(self) -> dict[Verdict, int]:
        """How many counting rules got each verdict."""
        c = Counter(r.verdict for r in self.counting())
        return {v: c.get(v, 0) for v in Verdict}

    @property
    def ratio(self) -> float | None:
        """(pass + ½ partial) / assessed must-rules, or None when none was assessed."""
        assessed = self.assessed_must()
        if not assessed:
            return None
        points = sum(
            1.0 if r.verdict is Verdict.PASS else 0.5 if r.verdict is Verdict.PARTIAL else 0.0
            for r in assessed
        )
        return points / len(assessed)

    @property
    def grade(self) -> str:
        """A to D by band, F below, "—" when no must-rule was assessed."""
        ratio = self.ratio
        if ratio is None:
            return NOT_GRADED
        for lowest, grade in GRADE_BANDS:
            if ratio >= lowest:
                return grade
        return FAILING_GRADE

    @property
    def meets_every_assessed_must(self) -> bool:
        """At least one must-rule assessed, and every assessed one passed."""
        assessed = self.assessed_must()
        return bool(assessed) and all(r.verdict is Verdict.PASS for r in assessed)


def score(profile: Profile, rules: tuple[Rule, ...] = RULES) -> Scorecard:
    """Apply every rule to ``profile``. Deterministic: same profile, same scorecard."""
    results = []
    for rule in rules:
        assessment = assess(rule, profile)
        evidence: list[Evidence] = []
        for name in assessment.findings:
            finding = profile.finding(name)
            if finding is not None:
                evidence.extend(finding.evidence)
        results.append(RuleResult(rule, assessment, tuple(evidence)))
    return Scorecard(profile, tuple(results))
