"""``exitright datamap``: validate a data map, print its JSON Schema, check it against stores."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from exitright.cli._common import console, err_console, fail, user_errors
from exitright.datamap.discover import Finding, check_files, check_redis, check_sql
from exitright.datamap.loader import json_schema, load_map, parse_map
from exitright.datamap.validate import Problem
from exitright.erasure.context import ErasureContext
from exitright.i18n import gettext

app = typer.Typer(
    help="Write and check data maps (where a platform keeps personal data).", no_args_is_help=True
)

MAP = typer.Argument(..., help="the data map (YAML)", exists=False)
LANG = typer.Option("en", "--lang", help="language of messages: en or zh-CN")


def _print_problems(problems: list[Problem], lang: str) -> None:
    for p in problems:
        err_console.print(
            f"[bold red]✗[/] {gettext(lang, p.msgid, **{**p.params, 'place': p.place})}",
            highlight=False,
            soft_wrap=True,  # one problem, one line, whatever the terminal's width
        )


@app.command("validate")
def validate(path: Path = MAP, lang: str = LANG) -> None:
    """Check a data map file alone (schema, links, actions, legal bases, patterns)."""
    with user_errors(lang):
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            fail(gettext(lang, "datamap.unreadable", path=str(path), reason=exc.strerror or ""))
        dm, problems = parse_map(text, os.environ, source=path.name)
        if problems or dm is None:
            _print_problems(problems, lang)
            fail(f"{path}: {len(problems)} problem(s)")
        tables = sum(len(s.tables) for s in dm.sql_stores().values())
        console.print(f"[green]✓[/] {path}: {len(dm.stores)} stores, {tables} tables, map is valid")


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of data maps (for editors and CI)."""
    typer.echo(json_schema())


@app.command("check")
def check(path: Path = MAP, lang: str = LANG) -> None:
    """Connect to every store (read-only) and report what the map misses or gets wrong."""
    with user_errors(lang):
        from exitright.connectors.files import FilesConnector
        from exitright.connectors.redis import RedisConnector
        from exitright.connectors.sql import SqlConnector

        dm = load_map(path)
        problems: list[Problem] = []
        findings: list[Finding] = []
        connectors = ErasureContext.open_stores(dm)
        try:
            for name, conn in connectors.items():
                try:
                    if isinstance(conn, SqlConnector):
                        p, f = check_sql(conn)
                        problems += p
                        findings += f
                    elif isinstance(conn, RedisConnector):
                        findings += check_redis(conn)
                    elif isinstance(conn, FilesConnector):
                        findings += check_files(conn)
                except (SQLAlchemyError, OSError, ConnectionError) as exc:
                    fail(
                        f"store {name} cannot be reached ({type(exc).__name__}); "
                        f"check its URL in {path}"
                    )
        finally:
            for conn in connectors.values():
                conn.close()
        _print_problems(problems, lang)
        if findings:
            table = Table(
                "store", "table", "column", "looks like", "found by", title="Not covered by the map"
            )
            for found in findings:
                table.add_row(found.store, found.table, found.column, found.kind, found.evidence)
            console.print(table)
        if problems or findings:
            fail(f"{path}: {len(problems)} problem(s), {len(findings)} uncovered place(s)", code=1)
        console.print(f"[green]✓[/] {path}: every store matches the map; nothing uncovered found")


@app.command("sweep")
def sweep_command(path: Path = MAP, lang: str = LANG) -> None:
    """Search every store once for identifiers of recently erased subjects (keyed hashes only)."""
    from exitright.cli._common import load_settings
    from exitright.db import migrate
    from exitright.erasure.residual import sweep

    with user_errors(lang):
        dm = load_map(path)
        settings = load_settings()
        migrate.upgrade(settings.engine_url)
        ctx = ErasureContext.from_settings(settings)
        try:
            hits = sweep(ctx, dm)
        finally:
            ctx.close()
            ctx.engine.dispose()
        if hits:
            table = Table("store", "table", "column", "row key", "erased by plan", title="Residue")
            for h in hits:
                table.add_row(h.store, h.table, h.column, h.row_key, h.plan_id)
            console.print(table)
            fail(f"{len(hits)} place(s) still hold identifiers of erased subjects", code=1)
        console.print("[green]✓[/] no identifier of a recently erased subject found")


@app.command("vacuum")
def vacuum_command(
    path: Path = MAP,
    dry_run: bool = typer.Option(False, "--dry-run", help="list the tables; vacuum nothing"),
    lang: str = LANG,
) -> None:
    """VACUUM / OPTIMIZE the server-database tables that erasures changed since the last run."""
    from exitright.cli._common import load_settings
    from exitright.db import migrate
    from exitright.erasure.maintenance import run_maintenance

    with user_errors(lang):
        dm = load_map(path)
        settings = load_settings()
        migrate.upgrade(settings.engine_url)
        ctx = ErasureContext.from_settings(settings)
        try:
            report = run_maintenance(ctx, dm, dry_run=dry_run)
        finally:
            ctx.close()
            ctx.engine.dispose()
        verb = "would vacuum" if dry_run else "vacuumed"
        for store, tables in report.items():
            console.print(f"{store}: {verb} {', '.join(tables)}")
        if not report:
            console.print("nothing scheduled")
