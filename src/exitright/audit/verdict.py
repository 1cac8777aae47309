"""What a rule is and what checking it yields: the vocabulary of the rubric.

Pure core: standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from exitright.audit.profile import Regime

if TYPE_CHECKING:
    from exitright.audit.profile import Finding, Profile


class Verdict(StrEnum):
    """The four verdicts. ``not_assessed`` is what no evidence gives — never ``pass``."""

    PASS = "pass"  # noqa: S105 -- a verdict, not a secret
    PARTIAL = "partial"
    FAIL = "fail"
    NOT_ASSESSED = "not_assessed"


class Severity(StrEnum):
    """How much a rule weighs: only ``must`` rules (and store rules in scope) make the grade."""

    MUST = "must"
    SHOULD = "should"
    MUST_STORE = "must_store"


class Tag(StrEnum):
    """Where the rule's text was read (RUBRIC.md)."""

    PRIMARY = "V"  # read in the primary text
    SECONDARY = "S"  # confirmed only in secondary sources
    MIXED = "V/S"  # partly primary, partly secondary
    DERIVED = "D"  # derived by analogy


@dataclass(frozen=True)
class Text:
    """A sentence in both languages."""

    en: str
    zh: str

    def get(self, lang: str) -> str:
        """The sentence in ``lang`` (``zh…`` gives Chinese, anything else English)."""
        return self.zh if lang.lower().startswith("zh") else self.en


@dataclass(frozen=True)
class Assessment:
    """A verdict with one sentence of evidence, and the findings it rests on."""

    verdict: Verdict
    because: Text
    findings: tuple[str, ...] = ()
    third_party: bool = False


@dataclass(frozen=True)
class Rule:
    """One rule of the rubric: its citation, weight, wording and check."""

    id: str
    source: str
    tag: Tag
    severity: Severity
    mode: str
    regime: Regime
    requirement: Text
    checked: Text
    check: Callable[[Profile], Assessment]

    @property
    def secondary(self) -> bool:
        """Whether reports must say the rule rests (at least partly) on secondary sources."""
        return self.tag in (Tag.SECONDARY, Tag.MIXED)


def judged(v: Verdict, en: str, zh: str, **used: Finding | None) -> Assessment:
    """A verdict with its evidence sentence and the findings (by name) it rests on.

    The assessment is marked third-party when every finding it rests on stands only on
    third-party labels.
    """
    present = {name: f for name, f in used.items() if f is not None}
    third_party = bool(present) and all(f.third_party_only for f in present.values())
    return Assessment(v, Text(en, zh), tuple(present), third_party)


def not_assessed(en: str, zh: str, **used: Finding | None) -> Assessment:
    """Not assessed, with the reason."""
    return judged(Verdict.NOT_ASSESSED, en, zh, **used)


NO_EVIDENCE_EN = "The profile holds no evidence for this rule."
NO_EVIDENCE_ZH = "档案中没有与本规则相关的证据。"
