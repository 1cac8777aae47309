"""Running Alembic migrations from code (``exitright db upgrade``) without an alembic.ini."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from exitright.db.engine import make_engine


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at the packaged migrations and ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("exitright.db") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the engine database at ``url`` up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the engine database at ``url`` down to ``revision`` (``base`` for empty)."""
    command.downgrade(alembic_config(url), revision)


def current(engine: Engine) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head(url: str) -> str | None:
    """The newest revision shipped with this version of ExitRight."""
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def is_current(url: str) -> bool:
    """Whether the database at ``url`` is migrated to the newest revision."""
    engine = make_engine(url)
    try:
        return current(engine) == head(url)
    finally:
        engine.dispose()
