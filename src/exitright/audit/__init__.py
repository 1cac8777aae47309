"""The audit kit: score a platform's cancellation practice against the rubric, and write studies.

Layout — one concept per module:

- pure core (standard library and Pydantic only): ``profile`` (the YAML profile model),
  ``verdict`` (rule and verdict types), ``rules`` (the registry; checks in ``rules_ecl``,
  ``rules_pipl``, ``rules_std``, ``rules_intl``), ``score`` (scorecard and grade);
- edge: ``load`` (reading YAML), ``workdays`` (PRC calendar), ``report`` (scorecards),
  ``study`` and ``study_report`` (studies), ``svg`` (inline charts), ``jdm`` (JustDeleteMe).

This package namespace re-exports only the pure core, so importing it does no I/O.
"""

from __future__ import annotations

from exitright.audit.profile import Profile, json_schema
from exitright.audit.rules import BY_ID, RULES, assess
from exitright.audit.score import Scorecard, score
from exitright.audit.verdict import Assessment, Rule, Severity, Tag, Verdict

__all__ = [
    "BY_ID",
    "RULES",
    "Assessment",
    "Profile",
    "Rule",
    "Scorecard",
    "Severity",
    "Tag",
    "Verdict",
    "assess",
    "json_schema",
    "score",
]
