"""Set-based inserts of generated rows: one ``executemany`` per table per batch, through the driver.

The rows are plain tuples in column order, so they go to the DB-API cursor's ``executemany``
without SQLAlchemy's per-row parameter processing (``Connection.exec_driver_sql``). Measured on the
100,000-user seed, Core ``insert()`` with dictionaries spent more time building and processing
parameters than SQLite spent inserting; the driver path keeps the seed well under a minute. The
one conversion SQLAlchemy would have done, datetimes to text on SQLite, is done here in the same
format SQLAlchemy writes and reads (``YYYY-MM-DD HH:MM:SS.ffffff``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import Connection, DateTime, Engine, Table, text

from exitright.demo.model import Row
from exitright.demo.schema import metadata

__all__ = ["RowSink", "prepare_rows"]

_POSITIONAL: Final = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _sqlite_datetime(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(" ", "microseconds")


_DATE_COLUMNS: Final = {
    table.name: tuple(i for i, c in enumerate(table.columns) if isinstance(c.type, DateTime))
    for table in metadata.sorted_tables
}


def prepare_rows(dialect_name: str, rows: dict[str, list[Row]]) -> dict[str, list[Row]]:
    """Rows ready for ``dialect_name``'s driver: on SQLite, datetimes become SQLAlchemy's text form.

    Separate from inserting so that it can run in the process that generates the rows.
    """
    if dialect_name != "sqlite":
        return rows
    prepared: dict[str, list[Row]] = {}
    for table, batch in rows.items():
        dates = _DATE_COLUMNS[table]
        if not dates:
            prepared[table] = batch
            continue
        converted: list[Row] = []
        for row in batch:
            values = list(row)
            for i in dates:
                values[i] = _sqlite_datetime(values[i])
            converted.append(tuple(values))
        prepared[table] = converted
    return prepared


class RowSink:
    """Inserts generated rows into the demo schema on one engine."""

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        placeholder = _POSITIONAL.get(dialect.paramstyle)
        if placeholder is None:
            raise ValueError(f"unsupported DB-API parameter style {dialect.paramstyle!r}")
        quote = dialect.identifier_preparer.quote
        self.dialect_name = dialect.name
        # PostgreSQL with psycopg takes rows through COPY, several times faster than executemany.
        self._copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
        self._sql: dict[str, str] = {}
        for table in metadata.sorted_tables:
            names = ", ".join(quote(c.name) for c in table.columns)
            marks = ", ".join([placeholder] * len(table.columns))
            # Identifiers come from our own metadata, quoted; values are bound parameters.
            if self._copy:
                sql = f"COPY {quote(table.name)} ({names}) FROM STDIN"
            else:
                sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608
            self._sql[table.name] = sql

    def insert_all(self, conn: Connection, rows: dict[str, list[Row]]) -> None:
        """Insert prepared rows (see :func:`prepare_rows`), parents first so foreign keys hold."""
        for table in metadata.sorted_tables:
            batch = rows.get(table.name)
            if not batch:
                continue
            if self._copy:
                _copy_rows(conn, self._sql[table.name], batch)
            else:
                conn.exec_driver_sql(self._sql[table.name], batch)

    def fix_sequences(self, conn: Connection) -> None:
        """Move PostgreSQL's id sequences past the explicit ids the seed inserted.

        SQLite and MariaDB advance their counters on explicit inserts; PostgreSQL does not, and the
        next sign-up on the demo shop would collide with a seeded id.
        """
        if self.dialect_name != "postgresql":
            return
        for table in metadata.sorted_tables:
            if _serial_id(table):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "  # noqa: S608 -- table names come from our own metadata
                        f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                    )
                )


def _copy_rows(conn: Connection, statement: str, rows: list[Row]) -> None:
    # The psycopg connection under SQLAlchemy's, inside the same transaction.
    driver: Any = conn.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _serial_id(table: Table) -> bool:
    column = table.columns.get("id")
    return column is not None and column.primary_key and column.autoincrement is not False
