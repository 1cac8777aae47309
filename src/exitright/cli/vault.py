"""``exitright vault``: statistics, purge at expiry, and the operator's audited read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from exitright.cli._common import console, fail, is_tty, load_settings, user_errors
from exitright.clock import SystemClock
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.keys import load_key
from exitright.vault.crypto import LocalKeyWrapper
from exitright.vault.purge import BATCH_KEYS, PurgeBatch
from exitright.vault.service import VaultService

MAX_BATCH = 100_000

app = typer.Typer(
    help="The retention vault: what is kept, until when; purge at expiry.", no_args_is_help=True
)


@contextmanager
def _service() -> Iterator[VaultService]:
    settings = load_settings()
    migrate.upgrade(settings.engine_url)
    engine = make_engine(settings.engine_url)
    try:
        yield VaultService(
            engine, LocalKeyWrapper(load_key(settings, "vault_master")), SystemClock()
        )
    finally:
        engine.dispose()


@app.command("stats")
def stats() -> None:
    """Counts of retained records by legal basis and expiry month (never contents)."""
    with user_errors("en"):
        table = Table("legal basis", "expires", "records", "subjects", title="Retention vault")
        with _service() as service:
            rows = service.stats()
        for basis, month, records, subjects in rows:
            table.add_row(basis, month, str(records), str(subjects))
        console.print(table)


@app.command("purge")
def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="count what would go; destroy nothing"),
    batch: str = typer.Option(
        str(BATCH_KEYS), "--batch", help="keys per transaction (each ledgered), 1 to 100,000"
    ),
) -> None:
    """Destroy expired records and their keys (crypto-shredding: backups become unreadable too).

    Batch by batch, each its own transaction: safe to stop at any moment (run it again to go
    on) and to run from several hosts at once on PostgreSQL.
    """
    # Parsed here rather than by Typer so that bad input gets one line, like every other error.
    size = int(batch) if batch.isdigit() else 0
    if not 1 <= size <= MAX_BATCH:
        fail(f"--batch must be a whole number from 1 to {MAX_BATCH:,}, got {batch!r}")
    with user_errors("en"), _service() as service:
        today = SystemClock().now().date()
        due = service.purge(today=today, dry_run=True)
        if dry_run:
            console.print(
                f"would destroy {due.records} records and {due.keys} keys of {due.subjects}"
                " subjects"
            )
            return
        columns = (
            TextColumn("[bold]purging keys"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[records]:,} records"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, disable=not is_tty()) as bar:
            task = bar.add_task("keys", total=due.keys, records=0)
            done = {"records": 0}

            def advance(b: PurgeBatch) -> None:
                done["records"] += b.records
                bar.update(task, advance=b.keys, records=done["records"])

            result = service.purge(today=today, batch=size, on_batch=advance)
        console.print(
            f"destroyed {result.records} records and {result.keys} keys of {result.subjects}"
            " subjects"
        )


@app.command("read")
def read(
    subject: str = typer.Option(..., "--subject", help="the subject's pseudonym (sp_…)"),
    operator: str = typer.Option(..., "--operator", help="who reads"),
    reason: str = typer.Option(..., "--reason", help="why (recorded with the read)"),
) -> None:
    """Decrypt a subject's retained records for a stated reason; the read is recorded."""
    with user_errors("en"):
        with _service() as service:
            records = service.read(subject=subject, operator=operator, reason=reason)
        typer.echo(json.dumps(records, ensure_ascii=False, indent=2))
