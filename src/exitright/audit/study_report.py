"""Rendering a study: Markdown, self-contained HTML with inline SVG charts, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from html import escape
from typing import Any

from exitright.audit.report import citation, html_page, sector_name
from exitright.audit.rules import RULES
from exitright.audit.score import Scorecard
from exitright.audit.study import MEASURES, SectorRow, Study, Tally
from exitright.audit.svg import bar_chart
from exitright.audit.verdict import Verdict
from exitright.i18n import gettext

MAX_NAMES = 12
VERDICTS = (Verdict.PASS, Verdict.PARTIAL, Verdict.FAIL, Verdict.NOT_ASSESSED)


def pct(share: float | None) -> str:
    """A share as "37.5 %", or "—"."""
    return "—" if share is None else f"{share * 100:.1f} %"


def rate(t: Tally, lang: str) -> str:
    """ "15 of 40 (37.5 %)", plus how many were not assessed."""
    text = gettext(lang, "audit.study.rate", yes=t.yes, known=t.yes + t.no, pct=pct(t.share))
    if t.unknown:
        text += gettext(lang, "audit.study.rate_unknown", unknown=t.unknown)
    return text


def _names(names: list[str]) -> str:
    more = len(names) - MAX_NAMES
    return ", ".join(names[:MAX_NAMES]) + (f" … (+{more})" if more > 0 else "")


def _t(lang: str, key: str, **params: object) -> str:
    return gettext(lang, key, **params)


def _group_table(
    groups: list[SectorRow],
    first: str,
    lang: str,
    display: Callable[[str, str], str] = lambda value, _lang: value,
) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a by-group table (sectors, or values of a third-party label)."""
    heads = [first, _t(lang, "audit.col.platforms")]
    heads += [_t(lang, f"audit.measure.{m}") for m in MEASURES]
    heads.append(_t(lang, "audit.col.page_names"))
    rows = [
        [display(g.sector, lang), str(g.n)]
        + [rate(g.rates[m], lang) for m in MEASURES]
        + [_names(g.names["page"])]
        for g in groups
    ]
    return heads, rows


def _tables(study: Study, lang: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """The report's tables as (heading, header, rows) — shared by Markdown and HTML."""
    tables = [
        (
            _t(lang, "audit.study.by_sector"),
            *_group_table(study.sectors, _t(lang, "audit.col.sector"), lang, sector_name),
        )
    ]
    for label, groups in sorted(study.labels.items()):
        tables.append(
            (_t(lang, "audit.study.label", label=label), *_group_table(groups, label, lang))
        )
    if study.claims:
        heads = [
            _t(lang, f"audit.col.{k}")
            for k in ("quote", "measure", "sector", "claimed", "profiles", "status")
        ]
        rows = [
            [
                c.claim.quote,
                _t(lang, f"audit.measure.{c.claim.measure}"),
                sector_name(c.claim.sector, lang) if c.claim.sector else "—",
                str(c.claim.value) + (f" / {c.claim.total}" if c.claim.total is not None else ""),
                rate(c.tally, lang) + (f": {_names(c.yes_names)}" if c.claim.names else ""),
                _t(lang, f"audit.claim.{c.status}"),
            ]
            for c in study.claims
        ]
        tables.append((_t(lang, "audit.study.claims"), heads, rows))
    heads = [_t(lang, "audit.col.rule"), _t(lang, "audit.col.source")]
    heads += [_t(lang, "audit.col.severity")] + [_t(lang, f"audit.verdict.{v}") for v in VERDICTS]
    rows = [
        [
            f"{r.rule.id} — {r.rule.requirement.get(lang)}",
            citation(r.rule, lang),
            _t(lang, f"audit.severity.{r.rule.severity.value}"),
        ]
        + [str(r.counts.get(v, 0)) for v in VERDICTS]
        for r in study.rules
    ]
    tables.append((_t(lang, "audit.study.by_rule"), heads, rows))
    heads = [
        _t(lang, "audit.col.rule"),
        _t(lang, "audit.col.condition"),
        _t(lang, "audit.col.platforms"),
    ]
    rows = [
        [c.rule.id, c.because.get(lang), f"{len(c.platforms)}: {_names(c.platforms)}"]
        for c in study.conditions
    ]
    tables.append((_t(lang, "audit.study.worst_conditions"), heads, rows))
    heads = [_t(lang, f"audit.col.{k}") for k in ("platform", "sector", "grade", "must_fails")]
    rows = [
        [
            c.profile.platform.name,
            sector_name(c.profile.sector or "unspecified", lang),
            c.grade,
            str(c.must_counts[Verdict.FAIL]),
        ]
        for c in study.worst
    ]
    tables.append((_t(lang, "audit.study.worst_platforms"), heads, rows))
    for key, counter in (("steps", study.steps), ("taps", study.taps)):
        if counter:
            rows = [[str(k), str(counter[k])] for k in sorted(counter)]
            tables.append(
                (
                    _t(lang, f"audit.study.{key}"),
                    [_t(lang, f"audit.col.{key}"), _t(lang, "audit.col.platforms")],
                    rows,
                )
            )
    return tables


def _title(study: Study, lang: str) -> str:
    if lang.startswith("zh") and study.meta.title_zh:
        return study.meta.title_zh
    return study.meta.title


def _headline(study: Study, lang: str) -> list[str]:
    lines = [_t(lang, "audit.study.profiles", n=len(study.cards))]
    lines += [f"{_t(lang, f'audit.measure.{m}')}: {rate(study.rates[m], lang)}" for m in MEASURES]
    lines.append(_t(lang, "audit.study.not_assessed", pct=pct(study.not_assessed_share)))
    return lines


def study_markdown(study: Study, lang: str) -> str:
    """The study as Markdown."""
    out = [f"# {_title(study, lang)}", ""]
    if study.meta.source:
        out += [f"{_t(lang, 'audit.study.source')}: {study.meta.source}", ""]
    out += [f"## {_t(lang, 'audit.study.headline')}", ""]
    out += [f"- {line}" for line in _headline(study, lang)]
    for heading, head, rows in _tables(study, lang):
        out += ["", f"## {heading}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    out += ["", _t(lang, "audit.study.method"), ""]
    if study.meta.notice:
        out += ["---", "", study.meta.notice, ""]
    return "\n".join(out)


def charts(study: Study, lang: str) -> list[str]:
    """The SVG charts: page cancellation by sector, failures by rule, steps.

    The rule chart leaves out rules no platform was assessed on (the table lists them all).
    """
    assessed_rules = [
        r for r in study.rules if r.counts.get(Verdict.NOT_ASSESSED, 0) < len(study.cards)
    ] or study.rules
    out = []
    groups = [(_t(lang, "audit.chart.sector_page"), study.sectors, True)]
    groups += [
        (_t(lang, "audit.chart.label_page", label=label), rows, False)
        for label, rows in sorted(study.labels.items())
    ]
    for title, rows, is_sector in groups:
        if len(rows) < 2:  # a single bar says nothing the headline does not
            continue
        out.append(
            bar_chart(
                title,
                [
                    (
                        sector_name(g.sector, lang) if is_sector else g.sector,
                        (g.rates["page"].share or 0.0) * 100,
                        pct(g.rates["page"].share),
                    )
                    for g in rows
                ],
                maximum=100.0,
            )
        )
    out.append(
        bar_chart(
            _t(lang, "audit.chart.rule_fail"),
            [
                (
                    r.rule.id,
                    float(r.counts.get(Verdict.FAIL, 0)),
                    str(r.counts.get(Verdict.FAIL, 0)),
                )
                for r in assessed_rules
            ],
            colour="fail",
        )
    )
    if study.steps:
        out.append(
            bar_chart(
                _t(lang, "audit.chart.steps"),
                [(str(k), float(study.steps[k]), str(study.steps[k])) for k in sorted(study.steps)],
            )
        )
    return out


def study_html(study: Study, lang: str) -> str:
    """The study as one self-contained HTML page: inline CSS and SVG, no script, no CDN."""
    title = _title(study, lang)
    body = [f"<h1>{escape(title)}</h1>"]
    if study.meta.source:
        body.append(f"<p>{escape(_t(lang, 'audit.study.source'))}: {escape(study.meta.source)}</p>")
    body.append(f"<h2>{escape(_t(lang, 'audit.study.headline'))}</h2><ul>")
    body += [f"<li>{escape(line)}</li>" for line in _headline(study, lang)]
    body.append("</ul>")
    body += [f"<figure>{svg}</figure>" for svg in charts(study, lang)]
    for heading, head, rows in _tables(study, lang):
        body.append(f"<h2>{escape(heading)}</h2><table><thead><tr>")
        body += [f"<th>{escape(h)}</th>" for h in head]
        body.append("</tr></thead><tbody>")
        body += ["<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows]
        body.append("</tbody></table>")
    body.append(f'<p class="note">{escape(_t(lang, "audit.study.method"))}</p>')
    if study.meta.notice:
        body.append(f'<pre class="note">{escape(study.meta.notice)}</pre>')
    return html_page(title, "\n".join(body), lang)


def _row(card: Scorecard) -> dict[str, Any]:
    p, c = card.profile, card.profile.cancellation
    must = card.must_counts
    row: dict[str, Any] = {
        "platform": p.platform.name,
        "name_zh": p.platform.name_zh or "",
        "identification": p.platform.identification.value if p.platform.identification else "",
        "sector": p.sector or "",
        "page": "" if c is None or c.has_page is None else c.has_page,
        "in_app": "" if c is None or c.in_app is None else c.in_app,
        "cancellable": "" if c is None or c.cancellable is None else c.cancellable,
        "steps": "" if c is None or c.steps is None else c.steps,
        "grade": card.grade,
        "must_pass": must[Verdict.PASS],
        "must_partial": must[Verdict.PARTIAL],
        "must_fail": must[Verdict.FAIL],
        "must_not_assessed": must[Verdict.NOT_ASSESSED],
    }
    row.update({r.rule.id: r.verdict.value for r in card.results})
    return row


def study_csv(study: Study) -> str:
    """One row per platform: the rates' inputs, the grade and every rule's verdict."""
    buf = io.StringIO()
    rows = [_row(c) for c in study.cards]
    fields = list(rows[0]) if rows else ["platform", *(r.id for r in RULES)]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _tally(t: Tally) -> dict[str, Any]:
    return {"yes": t.yes, "no": t.no, "not_assessed": t.unknown, "share": t.share}


def study_json(study: Study) -> dict[str, Any]:
    """The summary and the underlying table."""
    return {
        "title": study.meta.title,
        "source": study.meta.source,
        "notice": study.meta.notice,
        "platforms": len(study.cards),
        "rates": {m: _tally(t) for m, t in study.rates.items()},
        "not_assessed_share": study.not_assessed_share,
        "sectors": [
            {
                "sector": s.sector,
                "platforms": s.n,
                "rates": {m: _tally(t) for m, t in s.rates.items()},
                "names": s.names,
            }
            for s in study.sectors
        ],
        "claims": [
            {
                "quote": c.claim.quote,
                "measure": c.claim.measure,
                "sector": c.claim.sector,
                "claimed": c.claim.value,
                "profiles": _tally(c.tally),
                "names": c.yes_names,
                "status": c.status,
            }
            for c in study.claims
        ],
        "rules": [
            {"rule": r.rule.id, **{v.value: r.counts.get(v, 0) for v in VERDICTS}}
            for r in study.rules
        ],
        "worst_conditions": [
            {
                "rule": c.rule.id,
                "evidence": {"en": c.because.en, "zh-CN": c.because.zh},
                "platforms": c.platforms,
            }
            for c in study.conditions
        ],
        "steps": {str(k): n for k, n in sorted(study.steps.items())},
        "taps": {str(k): n for k, n in sorted(study.taps.items())},
        "labels": {
            label: [
                {
                    "value": g.sector,
                    "platforms": g.n,
                    "rates": {m: _tally(t) for m, t in g.rates.items()},
                }
                for g in groups
            ]
            for label, groups in sorted(study.labels.items())
        },
        "rows": [_row(c) for c in study.cards],
    }


def render_study(study: Study, fmt: str, lang: str) -> str:
    """The study as text in ``md``, ``html``, ``csv`` or ``json``."""
    if fmt == "json":
        return json.dumps(study_json(study), ensure_ascii=False, indent=2)
    if fmt == "csv":
        return study_csv(study)
    if fmt == "html":
        return study_html(study, lang)
    return study_markdown(study, lang)
