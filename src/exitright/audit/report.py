"""Rendering one scorecard: JSON (both languages), Markdown, self-contained HTML, terminal table."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from rich.table import Table

from exitright.audit.profile import Evidence
from exitright.audit.score import RuleResult, Scorecard
from exitright.audit.verdict import Rule, Tag, Verdict
from exitright.i18n import gettext

VERDICT_MARK = {
    Verdict.PASS: "✔",
    Verdict.PARTIAL: "◐",
    Verdict.FAIL: "✘",
    Verdict.NOT_ASSESSED: "·",
}
CSS = (
    "body{font-family:system-ui,'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;"
    "max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}"
    "table{border-collapse:collapse;width:100%;margin:1rem 0}"
    "th,td{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top;text-align:left}"
    "th{background:#f3f3f3}.pass{color:#1e8449}.partial{color:#b9770e}.fail{color:#c0392b}"
    ".not_assessed{color:#888}.note{color:#555;font-size:.9em}blockquote{color:#444;margin:.2rem 0}"
)


def tag_label(rule: Rule, lang: str) -> str:
    """ "secondary" / "partly secondary" / "derived", or "" for a rule read in the primary text."""
    key = {
        Tag.SECONDARY: "audit.tag.secondary",
        Tag.MIXED: "audit.tag.mixed",
        Tag.DERIVED: "audit.tag.derived",
    }.get(rule.tag)
    return gettext(lang, key) if key else ""


def citation(rule: Rule, lang: str) -> str:
    """The rule's source, with its tag in words."""
    tag = tag_label(rule, lang)
    return f"{rule.source} ({tag})" if tag else rule.source


def evidence_sentence(result: RuleResult, lang: str) -> str:
    """The verdict's sentence, marked when it stands only on third-party labels."""
    text = result.assessment.because.get(lang)
    if result.assessment.third_party:
        text += f" [{gettext(lang, 'audit.label.third_party')}]"
    return text


def quote(e: Evidence) -> str:
    """One piece of evidence as a line of text."""
    parts = [p for p in (f'"{e.text}"' if e.text else None, e.ref, e.source) if p]
    return " — ".join(parts)


def summary_line(card: Scorecard, lang: str) -> str:
    """Grade and how much was not assessed, in one sentence."""
    must = card.must_counts
    assessed = len(card.assessed_must())
    return gettext(
        lang,
        "audit.scorecard.summary",
        grade=card.grade,
        assessed=assessed,
        total=len(card.counting()),
        passed=must[Verdict.PASS],
        partial=must[Verdict.PARTIAL],
        failed=must[Verdict.FAIL],
        not_assessed=must[Verdict.NOT_ASSESSED],
        all_na=card.counts[Verdict.NOT_ASSESSED],
        rules=len(card.results),
    )


def sector_name(slug: str, lang: str) -> str:
    """A sector's display name (catalog key ``audit.sector.<slug>``), else the slug itself."""
    key = f"audit.sector.{slug}"
    text = gettext(lang, key)
    return slug if text == key else text


def _title(card: Scorecard) -> str:
    p = card.profile.platform
    return f"{p.name} ({p.name_zh})" if p.name_zh else p.name


def _meta(card: Scorecard, lang: str) -> str:
    e = card.profile.evaluation
    return gettext(
        lang,
        "audit.scorecard.meta",
        sector=sector_name(card.profile.sector, lang) if card.profile.sector else "—",
        date=e.date or "—",
        evaluator=e.evaluator or "—",
        method=e.method or "—",
        scope=", ".join(r.value for r in e.scope),
    )


def scorecard_json(card: Scorecard) -> dict[str, Any]:
    """The scorecard as JSON-ready data, texts in both languages."""
    must = card.must_counts
    return {
        "platform": card.profile.platform.model_dump(mode="json", exclude_none=True),
        "sector": card.profile.sector,
        "evaluation": card.profile.evaluation.model_dump(mode="json", exclude_none=True),
        "grade": card.grade,
        "ratio": card.ratio,
        "must": {
            "counted": len(card.counting()),
            "assessed": len(card.assessed_must()),
            **{v.value: n for v, n in must.items()},
        },
        "counts": {v.value: n for v, n in card.counts.items()},
        "results": [
            {
                "rule": r.rule.id,
                "source": r.rule.source,
                "tag": r.rule.tag.value,
                "secondary": r.rule.secondary,
                "severity": r.rule.severity.value,
                "mode": r.rule.mode,
                "regime": r.rule.regime.value,
                "requirement": {"en": r.rule.requirement.en, "zh-CN": r.rule.requirement.zh},
                "verdict": r.verdict.value,
                "evidence": {"en": r.assessment.because.en, "zh-CN": r.assessment.because.zh},
                "third_party": r.assessment.third_party,
                "findings": list(r.assessment.findings),
                "sources": [e.model_dump(mode="json", exclude_none=True) for e in r.evidence],
            }
            for r in card.results
        ],
    }


def _verdict(v: Verdict, lang: str) -> str:
    return gettext(lang, f"audit.verdict.{v.value}")


def _severity(rule: Rule, lang: str) -> str:
    return gettext(lang, f"audit.severity.{rule.severity.value}")


def scorecard_markdown(card: Scorecard, lang: str) -> str:
    """The scorecard as Markdown."""
    h = [gettext(lang, f"audit.col.{k}") for k in ("verdict", "rule", "source", "severity")]
    lines = [
        f"# {gettext(lang, 'audit.scorecard.title', platform=_title(card))}",
        "",
        _meta(card, lang),
        "",
        f"**{summary_line(card, lang)}**",
        "",
        f"| {' | '.join(h)} | {gettext(lang, 'audit.col.evidence')} |",
        "|---|---|---|---|---|",
    ]
    for r in card.results:
        cells = [
            f"{VERDICT_MARK[r.verdict]} {_verdict(r.verdict, lang)}",
            f"`{r.rule.id}` {r.rule.requirement.get(lang)}",
            citation(r.rule, lang),
            _severity(r.rule, lang),
            evidence_sentence(r, lang),
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    quoted = [r for r in card.results if r.verdict is not Verdict.NOT_ASSESSED and r.evidence]
    if quoted:
        lines += ["", f"## {gettext(lang, 'audit.scorecard.sources')}", ""]
        for r in quoted:
            lines.append(f"- `{r.rule.id}`")
            lines += [f"  - {quote(e)}" for e in dict.fromkeys(r.evidence)]
    lines += ["", gettext(lang, "audit.scorecard.legend"), ""]
    return "\n".join(lines)


def html_page(title: str, body: str, lang: str) -> str:
    """A self-contained HTML page (inline CSS, no script)."""
    html_lang = "zh-CN" if lang.startswith("zh") else "en"
    return (
        f'<!doctype html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def scorecard_html(card: Scorecard, lang: str) -> str:
    """The scorecard as one self-contained HTML page."""
    title = gettext(lang, "audit.scorecard.title", platform=_title(card))
    heads = ("verdict", "rule", "source", "severity", "evidence")
    rows = []
    for r in card.results:
        sources = "".join(f"<blockquote>{escape(quote(e))}</blockquote>" for e in r.evidence)
        rows.append(
            f'<tr><td class="{r.verdict.value}">{VERDICT_MARK[r.verdict]} '
            f"{escape(_verdict(r.verdict, lang))}</td>"
            f"<td><code>{escape(r.rule.id)}</code><br>{escape(r.rule.requirement.get(lang))}</td>"
            f"<td>{escape(citation(r.rule, lang))}</td><td>{escape(_severity(r.rule, lang))}</td>"
            f"<td>{escape(evidence_sentence(r, lang))}"
            + (sources if r.verdict is not Verdict.NOT_ASSESSED else "")
            + "</td></tr>"
        )
    body = (
        f"<h1>{escape(title)}</h1><p>{escape(_meta(card, lang))}</p>"
        f"<p><strong>{escape(summary_line(card, lang))}</strong></p>"
        "<table><thead><tr>"
        + "".join(f"<th>{escape(gettext(lang, f'audit.col.{h}'))}</th>" for h in heads)
        + "</tr></thead><tbody>"
        + "".join(rows)
        + f'</tbody></table><p class="note">{escape(gettext(lang, "audit.scorecard.legend"))}</p>'
    )
    return html_page(title, body, lang)


def scorecard_table(card: Scorecard, lang: str) -> Table:
    """The scorecard as a Rich table for the terminal."""
    table = Table(
        title=gettext(lang, "audit.scorecard.title", platform=_title(card)),
        caption=summary_line(card, lang),
    )
    for key in ("verdict", "rule", "source", "severity", "evidence"):
        table.add_column(gettext(lang, f"audit.col.{key}"), overflow="fold")
    style = {Verdict.PASS: "green", Verdict.PARTIAL: "yellow", Verdict.FAIL: "red"}
    for r in card.results:
        table.add_row(
            f"{VERDICT_MARK[r.verdict]} {_verdict(r.verdict, lang)}",
            r.rule.id,
            citation(r.rule, lang),
            _severity(r.rule, lang),
            evidence_sentence(r, lang),
            style=style.get(r.verdict, "dim"),
        )
    return table


def render_scorecard(card: Scorecard, fmt: str, lang: str) -> str:
    """The scorecard as text in ``md``, ``html`` or ``json``."""
    if fmt == "json":
        return json.dumps(scorecard_json(card), ensure_ascii=False, indent=2)
    if fmt == "html":
        return scorecard_html(card, lang)
    return scorecard_markdown(card, lang)
