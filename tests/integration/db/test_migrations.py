"""The engine's migrations go up and down cleanly, on SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

import exitright.db.tables  # noqa: F401  # registers every table
from exitright.db import migrate
from exitright.db.base import Base
from exitright.db.engine import make_engine


def test_upgrade_creates_every_table_and_downgrade_removes_them(engine_url: str) -> None:
    """Head has every table of the models; base has none but Alembic's own."""
    migrate.upgrade(engine_url)
    engine = make_engine(engine_url)
    try:
        assert migrate.current(engine) == migrate.head(engine_url)
        tables = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        migrate.downgrade(engine_url, "base")
        left = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert left == set()
        migrate.upgrade(engine_url)
        assert migrate.current(engine) == migrate.head(engine_url)
    finally:
        engine.dispose()


def test_upgrade_twice_is_harmless(engine_url: str) -> None:
    """Running db upgrade on a current database changes nothing."""
    migrate.upgrade(engine_url)
    migrate.upgrade(engine_url)
    assert migrate.is_current(engine_url)
