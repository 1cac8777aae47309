"""Alembic environment: runs migrations online against the configured URL."""

from __future__ import annotations

from alembic import context

import exitright.db.tables  # noqa: F401  # registers every table on the metadata
from exitright.db.base import Base
from exitright.db.engine import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "sqlalchemy.url must be set by exitright.db.migrate.alembic_config"

engine = make_engine(url)
try:
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
finally:
    engine.dispose()
