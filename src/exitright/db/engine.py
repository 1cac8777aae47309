"""Creating SQLAlchemy engines for the engine database and for platform stores.

SQLite gets the settings a server database has by default: foreign keys enforced, WAL for
concurrent readers, every commit synced to disk (``synchronous=FULL``: durable against a power
cut, not only a process crash), a busy timeout instead of immediate "database is locked", and
``secure_delete`` so erased rows are overwritten in the file rather than only unlinked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy, not the sqlite3 module, decides when transactions begin (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA secure_delete=ON")
        # FULL, not NORMAL: in WAL mode NORMAL survives a process crash but a power cut or OS
        # crash may roll back the last commits — an accepted request, or a vault record whose
        # source rows were deleted after it. FULL syncs the WAL at every commit (the erasure
        # engine makes three per subject: plan, vault, outcome).
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # Take the write lock when the transaction starts, not when it first writes: a deferred
    # transaction that read first and writes later fails at once with "database is locked"
    # when another process wrote in between, which busy_timeout cannot help with. Readers are
    # not blocked (WAL); writers queue for up to busy_timeout. A long read-only pass (verifying
    # the ledger, a residual sweep) opts out with execution_options(sqlite_begin="DEFERRED").
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql("BEGIN DEFERRED" if mode == "DEFERRED" else "BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; for a SQLite file the parent directory is created first.

    Bound parameters are hidden from logs and error messages: they are the subject's phone
    numbers and e-mail addresses while an erasure looks rows up.
    """
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def is_sqlite(engine: Engine) -> bool:
    """Whether ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"
