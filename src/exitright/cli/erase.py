"""``exitright erase``: erase one subject as an operator (the request workflow uses the service)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from exitright.cli._common import console, err_console, fail, is_tty, load_settings, user_errors
from exitright.datamap.loader import load_map
from exitright.db import migrate
from exitright.erasure.batch import CHUNK, Outcome, erase_subjects
from exitright.erasure.context import ErasureContext
from exitright.erasure.service import Lookup, Summary, dry_run, erase_subject, resume
from exitright.errors import ExitRightError
from exitright.i18n import gettext

ORDER = ("deleted", "anonymized", "retained", "detached", "keys", "files")


def _render(summary: Summary) -> None:
    table = Table(
        "store",
        "table / pattern",
        "result",
        title=f"erasure of {summary.subject}: {summary.status}",
    )
    untouched = 0
    for (store, target), counts in summary.tables.items():
        parts = [f"{k} {counts[k]}" for k in ORDER if counts.get(k)]
        if parts:
            table.add_row(store, target, ", ".join(parts))
        else:
            untouched += 1
    console.print(table)
    console.print(f"{untouched} table(s) and pattern(s) held nothing of this subject")
    if not summary.found:
        console.print("no account matched: only data keyed by the given identifier was searched")
    if summary.plan_id:
        console.print(f"plan {summary.plan_id}")


def erase(
    map_path: Path = typer.Option(..., "--map", help="the platform's data map (YAML)"),
    phone: str | None = typer.Option(None, "--phone", help="the account's mobile number"),
    email: str | None = typer.Option(None, "--email", help="the account's e-mail address"),
    user_id: str | None = typer.Option(None, "--user-id", help="the account's user id"),
    dry: bool = typer.Option(
        False, "--dry-run", help="print the plan with row counts; change nothing"
    ),
    resume_plan: str | None = typer.Option(
        None, "--resume", help="finish an interrupted plan by its id"
    ),
    from_file: Path | None = typer.Option(
        None,
        "--from",
        help="erase every subject listed in this file (one KIND:VALUE per line, KIND one of "
        "user_id, phone, email; '-' reads standard input), in chunks",
    ),
    chunk: int = typer.Option(
        CHUNK, "--chunk", min=1, max=500, help="with --from: subjects erased together"
    ),
    lang: str = typer.Option("en", "--lang", help="language of messages: en or zh-CN"),
) -> None:
    """Erase one subject (or, with --from, a list of them) across the platform's stores, then
    check nothing is left."""
    with user_errors(lang):
        if from_file is not None:
            if phone or email or user_id or dry or resume_plan:
                fail(gettext(lang, "erasure.batch_options"))
            _erase_list(map_path, from_file, chunk, lang)
            return
        settings = load_settings()
        dm = load_map(map_path)
        migrate.upgrade(settings.engine_url)
        ctx = ErasureContext.from_settings(settings)
        try:
            if resume_plan:
                summary = resume(ctx, dm, resume_plan)
            else:
                given = [
                    (k, v)
                    for k, v in (("phone", phone), ("email", email), ("user_id", user_id))
                    if v
                ]
                if len(given) != 1:
                    fail(gettext(lang, "erasure.identifier_required"))
                kind, value = given[0]
                lookup = Lookup(kind, value)  # type: ignore[arg-type]  # kind is one of the three literals above
                summary = dry_run(ctx, dm, lookup) if dry else erase_subject(ctx, dm, lookup)
        finally:
            ctx.close()
            ctx.engine.dispose()
        _render(summary)
        if summary.hits:
            for h in summary.hits:
                err_console.print(
                    f"  left: {h['store']} {h['table']} {h['column']} {h['row_key']}",
                    highlight=False,
                )
            fail(gettext(lang, "erasure.residual_found", count=len(summary.hits)), code=1)
        if summary.status == "failed":
            fail(gettext(lang, "erasure.failed", step=summary.failed_step or "?"), code=1)


KINDS = ("user_id", "phone", "email")


def read_lookups(text: str, lang: str) -> list[tuple[int, Lookup]]:
    """The subjects of a ``--from`` file with their line numbers; a bad line stops with its
    number (never its value: it is personal data)."""
    out: list[tuple[int, Lookup]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, sep, value = line.partition(":")
        kind, value = kind.strip(), value.strip()
        if not sep or kind not in KINDS or not value:
            fail(gettext(lang, "erasure.batch_line_invalid", line=number))
        out.append((number, Lookup(kind, value)))  # type: ignore[arg-type]  # checked above
    if not out:
        fail(gettext(lang, "erasure.batch_empty"))
    return out


def _erase_list(map_path: Path, from_file: Path, chunk: int, lang: str) -> None:
    try:
        text = sys.stdin.read() if str(from_file) == "-" else from_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(gettext(lang, "erasure.batch_unreadable", path=from_file, reason=type(exc).__name__))
    numbered = read_lookups(text, lang)
    settings = load_settings()
    dm = load_map(map_path)
    migrate.upgrade(settings.engine_url)
    ctx = ErasureContext.from_settings(settings)
    columns = (TextColumn("erasing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, disable=not is_tty()) as bar:
            task = bar.add_task("erase", total=len(numbered))
            outcomes = erase_subjects(
                ctx,
                dm,
                [lookup for _n, lookup in numbered],
                chunk=chunk,
                progress=lambda done: bar.update(task, completed=done),
            )
    finally:
        ctx.close()
        ctx.engine.dispose()
    bad = _render_list([n for n, _l in numbered], outcomes, lang)
    if bad:
        fail(gettext(lang, "erasure.batch_failed", failed=bad, total=len(numbered)), code=1)


def _render_list(lines: list[int], outcomes: list[Outcome], lang: str) -> int:
    """Totals per table, then one line per subject not erased; returns how many."""
    totals: dict[tuple[str, str], dict[str, int]] = {}
    done: set[int] = set()
    bad = 0
    for line, outcome in zip(lines, outcomes, strict=True):
        if isinstance(outcome, ExitRightError):
            bad += 1
            err_console.print(f"line {line}: {gettext(lang, outcome.msgid, **outcome.params)}")
            continue
        if id(outcome) not in done:  # an account named twice is one erasure
            done.add(id(outcome))
            for key, counts in outcome.tables.items():
                into = totals.setdefault(key, {})
                for k, v in counts.items():
                    into[k] = into.get(k, 0) + v
        if outcome.status != "completed":
            bad += 1
            err_console.print(
                f"line {line}: subject {outcome.subject} plan {outcome.plan_id}: "
                + gettext(lang, "erasure.failed", step=outcome.failed_step or "?"),
                highlight=False,
            )
            for h in outcome.hits:
                err_console.print(
                    f"  left: {h['store']} {h['table']} {h['column']} {h['row_key']}",
                    highlight=False,
                )
    table = Table("store", "table / pattern", "result", title=f"{len(done)} erasure(s)")
    for (store, target), counts in totals.items():
        parts = [f"{k} {counts[k]}" for k in ORDER if counts.get(k)]
        if parts:
            table.add_row(store, target, ", ".join(parts))
    console.print(table)
    completed = sum(1 for o in outcomes if isinstance(o, Summary) and o.status == "completed")
    console.print(f"{completed} of {len(outcomes)} subject(s) erased completely")
    return bad
