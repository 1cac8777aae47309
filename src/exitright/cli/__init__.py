"""The ``exitright`` command line: one Typer sub-app per command group, registered below."""

from __future__ import annotations

import typer

from exitright.cli import apikey as apikey_cli
from exitright.cli import audit as audit_cli
from exitright.cli import certificate as certificate_cli
from exitright.cli import config as config_cli
from exitright.cli import datamap as datamap_cli
from exitright.cli import db as db_cli
from exitright.cli import demo as demo_cli
from exitright.cli import identity as identity_cli
from exitright.cli import ledger as ledger_cli
from exitright.cli import operator as operator_cli
from exitright.cli import protocols as protocols_cli
from exitright.cli import vault as vault_cli
from exitright.cli.erase import erase
from exitright.cli.serve import serve
from exitright.cli.worker import worker

app = typer.Typer(
    name="exitright",
    help=(
        "ExitRight: account cancellation, erasure and proof for platforms; "
        "an audit kit for auditors."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# One visible table of command groups: (sub-app, name).
app.add_typer(config_cli.app, name="config")
app.add_typer(db_cli.app, name="db")
app.command("serve")(serve)
app.add_typer(datamap_cli.app, name="datamap")
app.add_typer(vault_cli.app, name="vault")
app.command("erase")(erase)
app.add_typer(ledger_cli.app, name="ledger")
app.add_typer(certificate_cli.app, name="certificate")
app.command("worker")(worker)
app.add_typer(apikey_cli.app, name="apikey")
app.add_typer(protocols_cli.app, name="events")
app.add_typer(identity_cli.app, name="identity")
app.add_typer(operator_cli.app, name="operator")
app.add_typer(audit_cli.app, name="audit")
app.add_typer(demo_cli.app, name="demo")


def main() -> None:
    """Entry point of the console script."""
    app()
