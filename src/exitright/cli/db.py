"""``exitright db``: migrate the engine's own database."""

from __future__ import annotations

import typer
from sqlalchemy.exc import SQLAlchemyError

from exitright.cli._common import console, fail, load_settings
from exitright.config import mask_url
from exitright.db import migrate
from exitright.db.engine import make_engine

app = typer.Typer(help="Migrate the engine's own database (Alembic).", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Migrate the engine database up to REVISION (default: the newest)."""
    url = load_settings().engine_url
    try:
        migrate.upgrade(url, revision)
    except SQLAlchemyError as exc:
        fail(f"cannot migrate {mask_url(url)}: {type(exc).__name__} (is the database reachable?)")
    console.print(f"engine database at {mask_url(url)} is at revision {revision}")


@app.command("downgrade")
def downgrade(
    revision: str = typer.Argument(..., help="target revision, or 'base' for empty"),
) -> None:
    """Migrate the engine database down to REVISION."""
    url = load_settings().engine_url
    try:
        migrate.downgrade(url, revision)
    except SQLAlchemyError as exc:
        fail(f"cannot migrate {mask_url(url)}: {type(exc).__name__}")
    console.print(f"engine database at {mask_url(url)} is at revision {revision}")


@app.command("current")
def current() -> None:
    """Print the revision the engine database is at, and the newest one shipped."""
    url = load_settings().engine_url
    engine = make_engine(url)
    try:
        rev = migrate.current(engine)
    except SQLAlchemyError as exc:
        fail(f"cannot read {mask_url(url)}: {type(exc).__name__}")
    finally:
        engine.dispose()
    console.print(f"current: {rev or '(not migrated)'}  head: {migrate.head(url)}")
