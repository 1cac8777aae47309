"""``exitright config``: inspect the effective settings."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from exitright.cli._common import console, load_settings

app = typer.Typer(help="Inspect the effective settings.", no_args_is_help=True)


@app.command("show")
def show(
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """Print the effective settings, secrets masked."""
    values = load_settings().masked()
    if as_json:
        typer.echo(json.dumps(values, ensure_ascii=False, indent=2, default=str))
        return
    table = Table("setting", "value", title="ExitRight settings")
    for key, value in values.items():
        table.add_row(key, str(value))
    console.print(table)
