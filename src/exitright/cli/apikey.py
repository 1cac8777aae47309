"""``exitright apikey``: create, list, rotate and revoke API keys for platform back ends."""

from __future__ import annotations

import typer
from sqlalchemy import Engine

from exitright.cli._common import console, load_settings, user_errors
from exitright.clock import SystemClock
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.web import auth

app = typer.Typer(help="API keys for the /v1 API (tokens are shown once).", no_args_is_help=True)


def _engine() -> Engine:
    settings = load_settings()
    migrate.upgrade(settings.engine_url)
    return make_engine(settings.engine_url)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="who uses the key, e.g. the shop's back end"),
    scope: list[str] = typer.Option(
        ..., "--scope", help=f"repeat for each scope: {', '.join(auth.SCOPES)}"
    ),
) -> None:
    """Create a key and print its token once (store it now: only its hash is kept)."""
    with user_errors():
        engine = _engine()
        try:
            key, token = auth.create_key(engine, SystemClock(), name, scope)
        finally:
            engine.dispose()
    console.print(f"created {key.id} ({key.name}) with {', '.join(key.scopes)}", highlight=False)
    typer.echo(token)


@app.command("list")
def list_() -> None:
    """Every key: id, name, scopes, token prefix, last use, revoked."""
    with user_errors():
        engine = _engine()
        try:
            keys = auth.list_keys(engine)
        finally:
            engine.dispose()
    # One tab-separated line per key: nothing truncated, easy to grep or cut.
    typer.echo("id\tname\tscopes\ttoken\tcreated\tlast used\trevoked")
    for k in keys:
        typer.echo("\t".join((
            k.id, k.name, ",".join(k.scopes), k.prefix + "…",
            f"{k.created_at:%Y-%m-%d %H:%M}",
            f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never",
            f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "-",
        )))  # fmt: skip


@app.command("rotate")
def rotate(key_id: str = typer.Argument(..., help="the key's id (key_…)")) -> None:
    """Give a key a new token; the old token stops working at once."""
    with user_errors():
        engine = _engine()
        try:
            key, token = auth.rotate_key(engine, SystemClock(), key_id)
        finally:
            engine.dispose()
    console.print(f"rotated {key.id} ({key.name})", highlight=False)
    typer.echo(token)


@app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="the key's id (key_…)")) -> None:
    """Revoke a key for good."""
    with user_errors():
        engine = _engine()
        try:
            key = auth.revoke_key(engine, SystemClock(), key_id)
        finally:
            engine.dispose()
    console.print(f"revoked {key.id} ({key.name})", highlight=False)
