"""``exitright erase``: erase one subject as an operator (the request workflow uses the service)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from exitright.cli._common import console, err_console, fail, load_settings, user_errors
from exitright.datamap.loader import load_map
from exitright.db import migrate
from exitright.erasure.context import ErasureContext
from exitright.erasure.service import Lookup, Summary, dry_run, erase_subject, resume
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
    lang: str = typer.Option("en", "--lang", help="language of messages: en or zh-CN"),
) -> None:
    """Erase one subject across the platform's stores, then check nothing is left."""
    with user_errors(lang):
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
