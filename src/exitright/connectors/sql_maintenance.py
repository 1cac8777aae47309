"""After an erasure: make a SQL store drop the old copies of erased rows.

SQLite is checkpointed at once (the WAL holds erased bytes until then); PostgreSQL and MariaDB
tables are only recorded and vacuumed by the periodic maintenance pass
(:mod:`exitright.erasure.maintenance`), as a pass over a large table per request would not scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from exitright.connectors.sql import SqlConnector


def after_erasure(conn: SqlConnector, tables: Sequence[str]) -> dict[str, Any]:
    """After an erasure: checkpoint SQLite's WAL now; on a server database, schedule the
    tables for :func:`vacuum` (it costs a pass over the table, so it is batched)."""
    names = sorted({n for n in tables if n in conn.store.tables})
    if conn.engine.dialect.name != "sqlite":
        return {"scheduled": names}
    # Idle pooled connections hold no read snapshot (the pool rolls back on return), so the
    # checkpoint completes without closing them; "busy" in the result would say otherwise.
    with conn.engine.connect() as db:
        busy, log, done = db.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    return {
        "checkpoint": "complete" if busy == 0 else "busy",
        "wal_frames": int(log),
        "checkpointed": int(done),
    }


def vacuum(conn: SqlConnector, tables: Sequence[str]) -> dict[str, Any]:
    """Make old row versions go: VACUUM on PostgreSQL, OPTIMIZE TABLE on MariaDB/MySQL."""
    dialect = conn.engine.dialect.name
    quote = conn.engine.dialect.identifier_preparer.quote
    names = sorted({n for n in tables if n in conn.store.tables})
    if dialect == "postgresql":
        with conn.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as db:
            for n in names:
                db.execute(text(f"VACUUM (ANALYZE) {quote(conn.table(n).name)}"))
        return {"vacuumed": len(names)}
    if dialect in ("mysql", "mariadb"):
        with conn.engine.connect() as db:
            for n in names:
                db.execute(text(f"OPTIMIZE TABLE {quote(conn.table(n).name)}")).all()
        return {"optimized": len(names)}
    return {}
