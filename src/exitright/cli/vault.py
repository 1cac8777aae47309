"""``exitright vault``: statistics, purge at expiry, and the operator's audited read."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from exitright.cli._common import console, load_settings, user_errors
from exitright.clock import SystemClock
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.keys import load_key
from exitright.vault.crypto import LocalKeyWrapper
from exitright.vault.service import VaultService

app = typer.Typer(
    help="The retention vault: what is kept, until when; purge at expiry.", no_args_is_help=True
)


def _service() -> VaultService:
    settings = load_settings()
    migrate.upgrade(settings.engine_url)
    return VaultService(
        make_engine(settings.engine_url),
        LocalKeyWrapper(load_key(settings, "vault_master")),
        SystemClock(),
    )


@app.command("stats")
def stats() -> None:
    """Counts of retained records by legal basis and expiry month (never contents)."""
    with user_errors("en"):
        table = Table("legal basis", "expires", "records", "subjects", title="Retention vault")
        for basis, month, records, subjects in _service().stats():
            table.add_row(basis, month, str(records), str(subjects))
        console.print(table)


@app.command("purge")
def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="count what would go; destroy nothing"),
) -> None:
    """Destroy expired records and their keys (crypto-shredding: backups become unreadable too)."""
    with user_errors("en"):
        service = _service()
        result = service.purge(today=SystemClock().now().date(), dry_run=dry_run)
        verb = "would destroy" if dry_run else "destroyed"
        console.print(
            f"{verb} {result.records} records and {result.keys} keys of {result.subjects} subjects"
        )


@app.command("read")
def read(
    subject: str = typer.Option(..., "--subject", help="the subject's pseudonym (sp_…)"),
    operator: str = typer.Option(..., "--operator", help="who reads"),
    reason: str = typer.Option(..., "--reason", help="why (recorded with the read)"),
) -> None:
    """Decrypt a subject's retained records for a stated reason; the read is recorded."""
    with user_errors("en"):
        records = _service().read(subject=subject, operator=operator, reason=reason)
        typer.echo(json.dumps(records, ensure_ascii=False, indent=2))
