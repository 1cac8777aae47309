"""``exitright audit``: profile schema, rubric, scorecards, study reports, JustDeleteMe import.

Thin: parse → call the audit kit → render. Bad input is one line on stderr and exit 2.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table

from exitright.audit.jdm import export, jdm_meta, jdm_profiles
from exitright.audit.load import load_profile, load_profiles, load_study_meta
from exitright.audit.profile import json_schema
from exitright.audit.report import citation, render_scorecard, scorecard_table
from exitright.audit.rules import RULES
from exitright.audit.score import score
from exitright.audit.study import Study, StudyMeta, build_study
from exitright.audit.study_report import render_study
from exitright.cli._common import console, user_errors
from exitright.cli.audit_probe import probe_cmd
from exitright.errors import ErrorCode, ExitRightError
from exitright.i18n import gettext

app = typer.Typer(
    help="Audit kit: score platforms' cancellation practice against the rubric; write studies.",
    no_args_is_help=True,
)


class Lang(StrEnum):
    """Report language."""

    ZH = "zh-CN"
    EN = "en"


class ScoreFormat(StrEnum):
    """Scorecard formats."""

    TABLE = "table"
    MD = "md"
    HTML = "html"
    JSON = "json"


class StudyFormat(StrEnum):
    """Study report formats."""

    MD = "md"
    HTML = "html"
    CSV = "csv"
    JSON = "json"


class RulesFormat(StrEnum):
    """Rubric listing formats."""

    TABLE = "table"
    JSON = "json"


LANG = typer.Option(Lang.EN, "--lang", help="report language", case_sensitive=False)
OUT = typer.Option(None, "--out", help="write to this file instead of stdout")


def _emit(text: str, out: Path | None, lang: str) -> None:
    if out is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ExitRightError(
            ErrorCode.INVALID_FILE,
            details={"file": str(out)},
            message_id="audit.error.output",
            params={"file": str(out), "problem": type(exc).__name__},
        ) from None
    console.print(gettext(lang, "audit.cli.written", file=out), highlight=False)


@app.command("schema")
def schema_cmd(out: Path | None = OUT) -> None:
    """Print the JSON Schema of an audit profile."""
    with user_errors():
        _emit(json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n", out, "en")


@app.command("rules")
def rules_cmd(
    fmt: RulesFormat = typer.Option(RulesFormat.TABLE, "--format", case_sensitive=False),
    lang: Lang = LANG,
) -> None:
    """List the rubric: every rule with its citation, tag, severity and check."""
    if fmt is RulesFormat.JSON:
        rows = [
            {
                "id": r.id,
                "source": r.source,
                "tag": r.tag.value,
                "severity": r.severity.value,
                "mode": r.mode,
                "regime": r.regime.value,
                "requirement": {"en": r.requirement.en, "zh-CN": r.requirement.zh},
                "checked": {"en": r.checked.en, "zh-CN": r.checked.zh},
            }
            for r in RULES
        ]
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("id", "source", "severity", "requirement", "checked", title="ExitRight rubric")
    for r in RULES:
        table.add_row(
            r.id,
            citation(r, lang),
            gettext(lang, f"audit.severity.{r.severity.value}"),
            r.requirement.get(lang),
            r.checked.get(lang),
        )
    console.print(table)


@app.command("score")
def score_cmd(
    profile: Path = typer.Argument(..., help="a profile YAML file"),
    fmt: ScoreFormat = typer.Option(ScoreFormat.TABLE, "--format", case_sensitive=False),
    lang: Lang = LANG,
    out: Path | None = OUT,
) -> None:
    """Score one profile: grade over the assessed must-rules, each finding with its evidence."""
    with user_errors(lang):
        card = score(load_profile(profile))
        if fmt is ScoreFormat.TABLE and out is None:
            console.print(scorecard_table(card, lang))
            return
        text = render_scorecard(card, "md" if fmt is ScoreFormat.TABLE else fmt.value, lang)
        _emit(text, out, lang)


def _study(path: Path) -> Study:
    if path.is_file() and path.suffix == ".json":
        return build_study(jdm_profiles(path), jdm_meta())
    profiles = load_profiles(path)
    meta = load_study_meta(path) or StudyMeta(title=path.name)
    return build_study(profiles, meta)


@app.command("study")
def study_cmd(
    path: Path = typer.Argument(..., help="a directory of profiles, or a JustDeleteMe sites.json"),
    fmt: StudyFormat = typer.Option(StudyFormat.MD, "--format", case_sensitive=False),
    out: Path | None = OUT,
    lang: Lang = LANG,
) -> None:
    """Write a study over many profiles: rates, by sector, by rule, worst conditions, charts."""
    with user_errors(lang):
        _emit(render_study(_study(path), fmt.value, lang), out, lang)


@app.command("import-jdm")
def import_jdm_cmd(
    path: Path = typer.Argument(..., help="JustDeleteMe sites.json"),
    out_dir: Path = typer.Argument(..., help="directory to write the profiles to"),
    lang: Lang = LANG,
) -> None:
    """Turn the JustDeleteMe directory into desk-review profiles (third-party labels)."""
    with user_errors(lang):
        try:
            n = export(jdm_profiles(path), out_dir)
        except OSError as exc:
            raise ExitRightError(
                ErrorCode.INVALID_FILE,
                details={"file": str(out_dir)},
                message_id="audit.error.output",
                params={"file": str(out_dir), "problem": type(exc).__name__},
            ) from None
        console.print(gettext(lang, "audit.cli.imported", n=n, file=out_dir), highlight=False)


app.command("probe")(probe_cmd)
