"""A declared pre-check run as a count query on one of the data map's SQL stores.

The declaration (``sql = {store, query}``, shape-checked by
:func:`exitright.cancellation.prechecks.parse_sql_count`) is a ``SELECT count(…)`` whose only bind
parameters are the subject's identifiers. Here it is bound, never formatted: the subject is found
through the map (``:user_id`` is the account's key, ``:phone`` and ``:email`` its registered
values), and the query runs in a read-only transaction that is rolled back (PostgreSQL and
MariaDB refuse writes in it; SQLite runs it with ``query_only``). A store that cannot be reached
makes the check "unavailable" — the request waits and is asked again — never a driver message,
which may quote the bound values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import SQLAlchemyError

from exitright.cancellation.errors import PreCheckConfigError
from exitright.cancellation.ports import Identifiers
from exitright.cancellation.precheck_run import PreCheckUnavailableError
from exitright.cancellation.prechecks import PreCheck
from exitright.connectors.base import SubjectIds
from exitright.connectors.sql_engine import store_engine
from exitright.datamap.model import DataMap, SqlStore
from exitright.errors import ExitRightError

__all__ = ["SqlCountProbe", "check_sql_stores"]

SubjectFinder = Callable[[Identifiers], SubjectIds]


def check_sql_stores(checks: Sequence[PreCheck], dm: DataMap | None) -> None:
    """Refuse (at start-up) a count declared on a store the data map has not, or not as SQL."""
    for check in checks:
        if check.sql is None:
            continue
        store = dm.stores.get(check.sql.store) if dm is not None else None
        if not isinstance(store, SqlStore):
            raise PreCheckConfigError(
                f"pre-check {check.id!r}: sql store {check.sql.store!r} is not a SQL store of "
                "the data map",
                pre_check=check.id,
                store=check.sql.store,
            )


def _read_only(conn: Connection) -> None:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        conn.exec_driver_sql("PRAGMA query_only = ON")
    elif dialect in ("postgresql", "mysql", "mariadb"):
        conn.exec_driver_sql("SET TRANSACTION READ ONLY")


class SqlCountProbe:
    """The ``PreCheckProbe`` for declarations with ``sql``: blocks while the count is above 0."""

    def __init__(
        self,
        dm: DataMap,
        find_subject: SubjectFinder,
        engines: Mapping[str, Engine] | None = None,
    ) -> None:
        self.dm = dm
        self.find_subject = find_subject
        self._given = dict(engines or {})
        self._own: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def engine(self, name: str) -> Engine:
        """The engine of store ``name`` (the one given, or one made on first use)."""
        if name in self._given:
            return self._given[name]
        with self._lock:
            engine = self._own.get(name)
            if engine is None:
                store = self.dm.stores[name]
                assert isinstance(store, SqlStore)  # check_sql_stores ran at start-up
                engine = self._own[name] = store_engine(store.url)
            return engine

    def blocks(self, check: PreCheck, identifiers: Identifiers) -> bool:
        """Run the check's count for the subject; True while it is above 0."""
        sql = check.sql
        if sql is None:
            raise PreCheckUnavailableError(f"pre-check {check.id}: no sql declared")
        try:
            ids = self.find_subject(identifiers)
        except ExitRightError as exc:
            raise PreCheckUnavailableError(
                f"pre-check {check.id}: the subject could not be looked up ({exc.code.value})"
            ) from None
        params = {name: ids.get(name) for name in sql.parameters}
        try:
            with self.engine(sql.store).connect() as conn:
                _read_only(conn)
                try:
                    value = conn.execute(text(sql.query), params).scalar()
                finally:
                    conn.rollback()
                    if conn.dialect.name == "sqlite":
                        conn.exec_driver_sql("PRAGMA query_only = OFF")
        except SQLAlchemyError as exc:
            raise PreCheckUnavailableError(
                f"pre-check {check.id}: store {sql.store} did not answer ({type(exc).__name__})"
            ) from None
        return value is not None and int(value) > 0

    def close(self) -> None:
        """Dispose of the engines this probe created."""
        with self._lock:
            for engine in self._own.values():
                engine.dispose()
            self._own.clear()
