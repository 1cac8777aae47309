"""Engines for platform stores, and read transactions that keep PostgreSQL's prepared plans."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url


def _sqlite_store_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    try:
        # Overwrite erased content in the file; wait for the platform's writers instead of failing.
        cur.execute("PRAGMA secure_delete=ON")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
    finally:
        cur.close()


def store_engine(url: str) -> Engine:
    """An engine for a platform store; SQLite gets ``secure_delete`` (and no journal change)."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_store_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


@contextmanager
def reading(engine: Engine, *, generic: bool = False) -> Iterator[Connection]:
    """A connection for reads; with psycopg its transaction is committed rather than rolled back.

    psycopg drops every prepared statement at a ROLLBACK (which is how a pool resets a returned
    connection), so committing keeps them: our statements have one text for every subject (list
    parameters are arrays), and the driver prepares them after a few runs. ``generic`` also asks
    PostgreSQL (12+) for a generic plan in this transaction: the count and residual statements
    are many indexed look-ups that take longer to plan than to run (3 ms against 0.7 ms on the
    demo map), and they have no ``ORDER BY … LIMIT`` for a generic plan to get wrong.
    """
    with engine.connect() as conn:
        version = conn.dialect.server_version_info or (0,)
        if generic and conn.dialect.name == "postgresql" and version >= (12,):
            conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
        yield conn
        if conn.dialect.driver == "psycopg":
            conn.commit()  # a read-only transaction: nothing to write, prepared statements kept
