"""A study across many profiles: headline rates, by sector, rule by rule, the worst conditions,
step counts, and a check of a source's own aggregate claims against the profiles.

Aggregation only — reading files is :mod:`exitright.audit.load`, rendering is
:mod:`exitright.audit.study_report`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from exitright.audit.profile import Profile
from exitright.audit.rules import RULES
from exitright.audit.score import Scorecard, score
from exitright.audit.verdict import Rule, Severity, Text, Verdict

UNSPECIFIED_SECTOR = "unspecified"
Measure = Literal["page", "in_app", "cancellable", "meets_all"]
WORST_PLATFORMS = 10


class Claim(BaseModel):
    """An aggregate statement of the source, to be reproduced from the profiles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    measure: Measure
    sector: str | None = None
    value: int = Field(ge=0)
    total: int | None = Field(None, ge=0, description="the denominator the source used")
    names: list[str] | None = Field(None, description="exactly these platforms, if named")
    quote: str


class StudyMeta(BaseModel):
    """``study.yaml``: the study's title, source and claims."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str
    title_zh: str | None = None
    source: str | None = None
    notice: str | None = Field(None, description="licence or attribution to print with the report")
    claims: list[Claim] = Field(default_factory=list)


@dataclass(frozen=True)
class Tally:
    """Yes / no / not assessed over a set of profiles."""

    yes: int = 0
    no: int = 0
    unknown: int = 0

    @property
    def total(self) -> int:
        """All profiles counted."""
        return self.yes + self.no + self.unknown

    @property
    def share(self) -> float | None:
        """yes / (yes + no), or None when nothing is known."""
        known = self.yes + self.no
        return self.yes / known if known else None


def _measure(card: Scorecard, measure: Measure) -> bool | None:
    c = card.profile.cancellation
    if measure == "meets_all":
        return card.meets_every_assessed_must if card.assessed_must() else None
    if c is None:
        return None
    value: bool | None = {"page": c.has_page, "in_app": c.in_app, "cancellable": c.cancellable}[
        measure
    ]
    return value


def tally(cards: Sequence[Scorecard], measure: Measure) -> Tally:
    """Count yes / no / unknown of ``measure`` over ``cards``."""
    values = [_measure(c, measure) for c in cards]
    return Tally(values.count(True), values.count(False), values.count(None))


def sector_of(card: Scorecard) -> str:
    """The profile's sector, or "unspecified"."""
    return card.profile.sector or UNSPECIFIED_SECTOR


@dataclass(frozen=True)
class SectorRow:
    """One sector's rates and the platforms behind them."""

    sector: str
    n: int
    rates: dict[Measure, Tally]
    names: dict[Measure, list[str]]


@dataclass(frozen=True)
class RuleRow:
    """One rule's verdict counts across the study."""

    rule: Rule
    counts: dict[Verdict, int]


@dataclass(frozen=True)
class Condition:
    """A failing condition and the platforms where it was found."""

    rule: Rule
    because: Text
    platforms: list[str]


@dataclass(frozen=True)
class ClaimCheck:
    """A source claim, what the profiles say, and whether they agree."""

    claim: Claim
    tally: Tally
    yes_names: list[str]
    status: Literal["reproduced", "consistent", "contradicted"]


@dataclass(frozen=True)
class Study:
    """Everything a study report shows."""

    meta: StudyMeta
    cards: list[Scorecard]
    rates: dict[Measure, Tally]
    sectors: list[SectorRow]
    rules: list[RuleRow]
    worst: list[Scorecard]
    conditions: list[Condition]
    steps: Counter[int]
    taps: Counter[int]
    labels: dict[str, list[SectorRow]]
    claims: list[ClaimCheck] = field(default_factory=list)

    @property
    def not_assessed_share(self) -> float:
        """Share of (profile, must-rule) pairs that were not assessed."""
        pairs = [r for c in self.cards for r in c.counting()]
        if not pairs:
            return 0.0
        return sum(r.verdict is Verdict.NOT_ASSESSED for r in pairs) / len(pairs)


MEASURES: tuple[Measure, ...] = ("page", "in_app", "cancellable", "meets_all")


def _names(cards: Sequence[Scorecard], measure: Measure) -> list[str]:
    return sorted(c.profile.platform.name for c in cards if _measure(c, measure) is True)


def check_claim(claim: Claim, cards: Sequence[Scorecard]) -> ClaimCheck:
    """Compare one claim with the profiles of its sector (or all)."""
    subset = [c for c in cards if claim.sector is None or sector_of(c) == claim.sector]
    t = tally(subset, claim.measure)
    names = _names(subset, claim.measure)
    total_ok = claim.total is None or claim.total == t.total
    names_ok = claim.names is None or sorted(claim.names) == names
    status: Literal["reproduced", "consistent", "contradicted"]
    if t.yes == claim.value and t.unknown == 0 and total_ok and names_ok:
        status = "reproduced"
    elif t.yes <= claim.value <= t.yes + t.unknown and total_ok and names_ok:
        status = "consistent"
    else:
        status = "contradicted"
    return ClaimCheck(claim, t, names, status)


def _label(name: str) -> Callable[[Scorecard], str]:
    def value(card: Scorecard) -> str:
        return (card.profile.evaluation.labels or {})[name]

    return value


def group(cards: Sequence[Scorecard], key: Callable[[Scorecard], str]) -> list[SectorRow]:
    """Rates and names per value of ``key`` (a sector, or a third-party label), sorted."""
    rows = []
    for value in sorted({key(c) for c in cards}):
        subset = [c for c in cards if key(c) == value]
        rows.append(
            SectorRow(
                value,
                len(subset),
                {m: tally(subset, m) for m in MEASURES},
                {m: _names(subset, m) for m in MEASURES},
            )
        )
    return rows


def _must_fails(card: Scorecard) -> int:
    return sum(r.verdict is Verdict.FAIL for r in card.counting())


def build_study(
    profiles: Sequence[Profile],
    meta: StudyMeta | None = None,
    scorer: Callable[[Profile], Scorecard] = score,
) -> Study:
    """Score every profile and aggregate. Deterministic for the same profiles in the same order."""
    meta = meta or StudyMeta(title="Study")
    cards = [scorer(p) for p in profiles]
    rates = {m: tally(cards, m) for m in MEASURES}
    sectors = group(cards, sector_of)
    rules = [
        RuleRow(rule, dict(Counter(c.results[i].verdict for c in cards)))
        for i, rule in enumerate(RULES)
    ]
    failing: dict[tuple[str, str], Condition] = {}
    for card in cards:
        for r in card.results:
            if r.verdict is Verdict.FAIL and r.rule.severity is not Severity.SHOULD:
                key = (r.rule.id, r.assessment.because.en)
                cond = failing.setdefault(key, Condition(r.rule, r.assessment.because, []))
                cond.platforms.append(card.profile.platform.name)
    conditions = sorted(failing.values(), key=lambda c: (-len(c.platforms), c.rule.id))
    worst = sorted(
        (c for c in cards if _must_fails(c)),
        key=lambda c: (
            -_must_fails(c),
            c.ratio if c.ratio is not None else 1.0,
            c.profile.platform.name,
        ),
    )[:WORST_PLATFORMS]
    steps: Counter[int] = Counter()
    taps: Counter[int] = Counter()
    label_names = sorted({k for c in cards for k in (c.profile.evaluation.labels or {})})
    labels = {
        name: group([c for c in cards if name in (c.profile.evaluation.labels or {})], _label(name))
        for name in label_names
    }
    for card in cards:
        c = card.profile.cancellation
        if c is not None and c.steps is not None:
            steps[c.steps] += 1
        if c is not None and c.taps is not None:
            taps[c.taps] += 1
    claims = [check_claim(claim, cards) for claim in meta.claims]
    return Study(meta, cards, rates, sectors, rules, worst, conditions, steps, taps, labels, claims)
