"""``exitright operator``: create, list and disable operators of the admin console."""

from __future__ import annotations

import sys

import typer
from sqlalchemy import Engine

from exitright.admin import operators
from exitright.cli._common import console, load_settings, user_errors
from exitright.clock import SystemClock
from exitright.db import migrate
from exitright.db.engine import make_engine

app = typer.Typer(
    help="Operators of the admin console (/admin): viewer, operator or admin.",
    no_args_is_help=True,
)


def _engine() -> Engine:
    settings = load_settings()
    migrate.upgrade(settings.engine_url)
    return make_engine(settings.engine_url)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="the operator's sign-in name"),
    role: str = typer.Option(..., "--role", help="viewer, operator or admin"),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="read the password from the first line of stdin (scripts)"
    ),
) -> None:
    """Add an operator; the password is asked for twice and stored only as an scrypt hash."""
    with user_errors():
        parsed = operators.parse_role(role)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with user_errors():
        engine = _engine()
        try:
            found = operators.create_operator(engine, SystemClock(), name, parsed, password)
        finally:
            engine.dispose()
    console.print(f"created {found.name} ({found.role.value}), id {found.id}", highlight=False)


@app.command("list")
def list_() -> None:
    """Every operator: name, role, id, created, last sign-in, status."""
    with user_errors():
        engine = _engine()
        try:
            found = operators.list_operators(engine)
        finally:
            engine.dispose()
    # One tab-separated line per operator: nothing truncated, easy to grep or cut.
    typer.echo("name\trole\tid\tcreated\tlast sign-in\tstatus")
    for o in found:
        typer.echo("\t".join((
            o.name, o.role.value, o.id, f"{o.created_at:%Y-%m-%d %H:%M}",
            f"{o.last_sign_in_at:%Y-%m-%d %H:%M}" if o.last_sign_in_at else "never",
            f"disabled {o.disabled_at:%Y-%m-%d %H:%M}" if o.disabled_at else "active",
        )))  # fmt: skip


@app.command("disable")
def disable(name: str = typer.Argument(..., help="the operator's sign-in name")) -> None:
    """Disable an operator for good; their open sessions end at once."""
    with user_errors():
        engine = _engine()
        try:
            found = operators.disable_operator(engine, SystemClock(), name=name)
        finally:
            engine.dispose()
    console.print(f"disabled {found.name} ({found.role.value})", highlight=False)
