"""``exitright identity``: mark recycled numbers, import a carrier file, ask a number's status."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import typer

from exitright.cli._common import console, fail, load_settings, user_errors
from exitright.clock import SystemClock
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.identity.identifiers import mask, parse_identifier
from exitright.identity.otp import Factor
from exitright.identity.recycled import CST, RecycledGuard, Source
from exitright.identity.wiring import build_guard

app = typer.Typer(
    help="Recycled phone numbers: operator marks, carrier files, status.", no_args_is_help=True
)


@contextmanager
def _guard() -> Iterator[RecycledGuard]:
    settings = load_settings()
    migrate.upgrade(settings.engine_url)
    engine = make_engine(settings.engine_url)
    try:
        yield build_guard(settings, engine, SystemClock())
    finally:
        engine.dispose()


def _day(value: str, option: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date written as YYYY-MM-DD (got {value!r})")


@app.command("mark-recycled")
def mark_recycled(
    phone: str = typer.Argument(..., help="the number, e.g. 13812345678 or +86 138 1234 5678"),
    on: str = typer.Option(..., "--on", help="the day it went to a new holder (YYYY-MM-DD)"),
    reference: str | None = typer.Option(None, help="where you learnt it (a ticket id; no PI)"),
) -> None:
    """Record that PHONE was reissued to someone else on a day (an operator mark)."""
    day = _day(on, "--on")
    with user_errors():
        identifier = parse_identifier(Factor.PHONE, phone)
        with _guard() as guard:
            mark = guard.mark_recycled(identifier, day, Source.OPERATOR, reference=reference)
    console.print(
        f"marked {mask(identifier)} recycled on {mark.recycled_on} ({mark.id})", highlight=False
    )


@app.command("import-carrier")
def import_carrier(
    file: Path = typer.Argument(..., help="CSV: number,recycled_on (see docs/identity.md)"),
    skip_bad_rows: bool = typer.Option(
        False, "--skip-bad-rows", help="import the good rows even if some are bad (listed)"
    ),
) -> None:
    """Import a carrier's file of reissued numbers (all or nothing unless --skip-bad-rows)."""
    if not file.is_file():
        fail(f"no such file: {file} (give the path of the carrier's CSV file)")
    with user_errors(), _guard() as guard:
        report = guard.import_carrier_file(file, allow_bad_rows=skip_bad_rows)
    console.print(
        f"imported {report.imported} numbers, {report.already_known} already known, "
        f"{report.bad_row_count} bad rows",
        highlight=False,
    )
    for bad in report.bad_rows:
        console.print(f"  line {bad.line}: bad {bad.problem}", highlight=False)
    if report.bad_row_count > len(report.bad_rows):
        console.print(
            f"  … and {report.bad_row_count - len(report.bad_rows)} more", highlight=False
        )


@app.command("status")
def status(
    phone: str = typer.Argument(..., help="the number to ask about"),
    since: str | None = typer.Option(
        None, "--since", help="changed hands after this day? (YYYY-MM-DD; default: every mark)"
    ),
) -> None:
    """Whether PHONE changed hands after a day, and its marks."""
    day = _day(since, "--since") if since else None
    with user_errors():
        identifier = parse_identifier(Factor.PHONE, phone)
        with _guard() as guard:
            marks = guard.marks(identifier)
            found = guard.status(identifier, day) if day else None
    if found is not None:
        verdict = {True: "changed hands", False: "not known to have changed hands", None: "unknown"}
        console.print(
            f"{mask(identifier)} since {found.since}: {verdict[found.recycled]}"
            + (f" (on {found.recycled_on}, {found.source})" if found.recycled_on else "")
            + f" — checked {', '.join(found.checked)}",
            highlight=False,
        )
    if not marks:
        console.print(f"{mask(identifier)}: no recycled marks", highlight=False)
    today = datetime.now(UTC).astimezone(CST).date()
    for m in marks:
        pending = " (announced, not yet in effect)" if m.recycled_on > today else ""
        console.print(
            f"  {m.recycled_on}  {m.source.value}  {m.reference or ''}{pending}", highlight=False
        )
