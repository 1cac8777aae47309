"""The SQL connector: finds a subject's rows through the map's links and erases them set-based.

Table and column names come from the map but are only ever used after they were found in the
reflected schema, and SQLAlchemy quotes them: a map cannot inject SQL. Every change is one
statement per table per batch (``DELETE … WHERE key IN (…)``, ``UPDATE … SET col = CASE key …``),
in bounded batches so no transaction grows with the subject's history.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    case,
    delete,
    func,
    inspect,
    literal,
    select,
    union_all,
    update,
)

from exitright.connectors.base import SubjectIds
from exitright.connectors.sql_conditions import SubjectConditions, subject_values
from exitright.connectors.sql_engine import reading, store_engine
from exitright.datamap.model import (
    ColumnLink,
    IdentifierKind,
    Method,
    SqlStore,
    Subject,
)
from exitright.datamap.validate import Problem
from exitright.erasure.anonymize import Hasher, apply, needs_value

OnBatch = Callable[[int], None]


def is_text(column: Column[Any]) -> bool:
    """Whether a reflected column holds text."""
    return isinstance(column.type, String | Text)


class SqlConnector(SubjectConditions):
    """One SQL store of the map."""

    def __init__(
        self,
        name: str,
        store: SqlStore,
        subject: Subject | None,
        engine: Engine | None = None,
        schemas: dict[str, MetaData] | None = None,
        shapes: dict[Hashable, Any] | None = None,
    ) -> None:
        self.name = name
        self.store = store
        self.subject = subject if subject is not None and subject.store == name else None
        self.engine = engine or store_engine(store.url)
        self._owns_engine = engine is None
        self._schemas = schemas if schemas is not None else {}
        self._tx: Connection | None = None
        self._generic_tx: Connection | None = None
        # Keys of tables processed after a table they are found through (reverse and many-to-many
        # links), captured before anything changed: see ``pin`` and datamap/graph.py.
        self.pinned: dict[str, list[Any]] = {}
        # rows_of conditions built for a subject, reused by every statement that names them
        # (a child's condition embeds its parent's).
        self._rows_of: dict[tuple[str, SubjectIds], ColumnElement[bool]] = {}
        # Conditions and statements built once per map with bound parameters (shared by the
        # connectors of one context and map: see ErasureContext.open), and the values of the
        # subject they run for (``use``). Building and compiling expressions is what costs most.
        self.shapes: dict[Hashable, Any] = shapes if shapes is not None else {}
        self.ids: SubjectIds | None = None
        self.params: dict[str, Any] = {}

    # Schema ------------------------------------------------------------------------------

    def table(self, name: str) -> Table:
        """The reflected table ``name`` (reflected once, on first use)."""
        meta = self._schemas.get(self.name)
        if meta is None:
            meta = MetaData()
            present = set(inspect(self.engine).get_table_names())
            meta.reflect(self.engine, only=[t for t in self.store.tables if t in present])
            self._schemas[self.name] = meta
        return meta.tables[name]

    def verify(self) -> list[Problem]:
        """Names the store lacks, and unmapped tables that reference linked tables."""
        from exitright.connectors.sql_verify import verify_store

        return verify_store(self)

    # Finding rows -------------------------------------------------------------------------

    def pin(self, tables: Sequence[str], ids: SubjectIds) -> dict[str, list[Any]]:
        """Capture the keys of the subject's rows of ``tables`` now, before anything changes.

        Such a table is processed after a table it is found through (datamap/graph.py), so its
        rows must be named while that table's rows still exist; ``rows_of`` then matches the
        pinned keys. Tables without a key are not pinned.
        """
        out: dict[str, list[Any]] = {}
        todo = [t for t in tables if t in self.store.tables and self.store.tables[t].key]
        params = self.bind(ids)
        with self._reading() as conn:
            for tname in todo:
                key = self.table(tname).c[self.store.tables[tname].key or ""]
                cond = self.condition(tname)
                stmt = self.statement(
                    ("pin", tname), [cond], lambda k=key, c=cond: select(k).where(c).order_by(k)
                )
                out[tname] = [r[0] for r in conn.execute(stmt, params)]
        self.pinned.update(out)
        self._rows_of.clear()
        self.use(ids)
        return out

    def count(self, tname: str, cond: ColumnElement[bool]) -> int:
        """How many rows of ``tname`` match ``cond``."""
        stmt = self.statement(
            ("count", tname),
            [cond],
            lambda: select(func.count()).select_from(self.table(tname)).where(cond),
        )
        with self._reading(generic=True) as conn:
            return int(conn.scalar(stmt, self.params) or 0)

    def count_many(self, queries: Sequence[tuple[str, ColumnElement[bool]]]) -> list[int]:
        """Counts of several (table, condition) pairs in one statement."""
        if not queries:
            return []

        def build() -> Any:
            return select(
                *[
                    select(func.count())
                    .select_from(self.table(t))
                    .where(c)
                    .scalar_subquery()
                    .label(f"n{i}")
                    for i, (t, c) in enumerate(queries)
                ]
            )

        stmt = self.statement(
            ("counts", *[t for t, _c in queries]), [c for _t, c in queries], build
        )
        with self._reading(generic=True) as conn:
            return [int(n or 0) for n in conn.execute(stmt, self.params).one()]

    def find_subject(self, kind: IdentifierKind, value: str) -> list[dict[str, Any]]:
        """Rows of the account table whose identifier ``kind`` matches ``value`` (any spelling)."""
        assert self.subject is not None
        t = self.table(self.subject.table)
        column = t.c[self.subject.key if kind == "user_id" else self.subject.identifiers[kind]]
        if kind == "user_id":
            typed: Any = value
            if isinstance(column.type, Integer):
                typed = int(value) if value.isdigit() else None  # no such account
            values = [typed] if typed is not None else []
        else:
            values = subject_values(kind, SubjectIds(**{kind: value}))
        stmt = self.shapes.get(("find", kind))
        if stmt is None:
            compared = func.lower(column) if kind == "email" else column
            cols = [t.c[self.subject.key].label("user_id")] + [
                t.c[c].label(k) for k, c in self.subject.identifiers.items()
            ]
            stmt = self.shapes[("find", kind)] = (
                select(*cols).where(self.one_of(compared, "values")).limit(2)
            )
        with self._reading() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt, {"values": values})]

    # Changing rows ------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Run the changes made inside in one store transaction (for several small steps).

        Every read and write of this connector inside the block uses that transaction, so a step
        sees what the steps before it changed. Outside, each batch is its own transaction.
        """
        with self.engine.begin() as conn:
            self._tx = conn
            try:
                yield
            finally:
                self._tx = None

    @contextmanager
    def reads_on(self, conn: Connection, generic: Connection | None = None) -> Iterator[None]:
        """Run this connector's reads on ``conn`` inside the block (those that ask for a generic
        plan on ``generic``, if given: see :func:`reading`): the plans of a chunk are measured in
        shared read transactions instead of one per read."""
        self._tx, self._generic_tx = conn, generic
        try:
            yield
        finally:
            self._tx = self._generic_tx = None

    @contextmanager
    def _reading(self, *, generic: bool = False) -> Iterator[Connection]:
        if generic and self._generic_tx is not None:
            yield self._generic_tx
        elif self._tx is not None:
            yield self._tx
        else:
            with reading(self.engine, generic=generic) as conn:
                yield conn

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        if self._tx is not None:
            yield self._tx
        else:
            with self.engine.begin() as conn:
                yield conn

    def _batches(
        self,
        tname: str,
        cond: ColumnElement[bool],
        batch: int,
        extra: Sequence[ColumnElement[Any]] = (),
    ) -> Any:
        """Yield lists of rows (key first) matching ``cond``, keyset-paginated on the key."""
        t = self.table(tname)
        key = t.c[self.store.tables[tname].key or ""]
        names = tuple(str(getattr(c, "key", None) or c) for c in extra)

        def page(after: bool) -> Any:
            def build() -> Any:
                stmt = select(key, *extra).where(cond)
                if after:
                    stmt = stmt.where(key > bindparam("b_last"))
                return stmt.order_by(key).limit(bindparam("b_limit", type_=Integer))

            return self.statement(("page", tname, names, after), [cond], build)

        last: Any = None
        while True:
            params = self.params | {"b_limit": batch, "b_last": last}
            with self._reading() as conn:
                rows = list(conn.execute(page(last is not None), params))
            if not rows:
                return
            yield rows
            last = rows[-1][0]
            if len(rows) < batch:
                return

    def delete_rows(
        self,
        tname: str,
        cond: ColumnElement[bool],
        batch: int,
        on_batch: OnBatch | None = None,
        expected: int | None = None,
    ) -> None:
        """Delete matching rows: one ``DELETE … WHERE key IN`` per batch (one without a key).

        When the rows were counted (``expected``) and fit in one batch, one ``DELETE … WHERE``
        the condition does it without reading the keys first — except on MySQL/MariaDB, which
        refuse a ``DELETE`` whose condition reads the same table (error 1093).
        """
        t = self.table(tname)
        spec = self.store.tables[tname]
        small = expected is not None and expected <= batch
        if spec.key is None or (small and self.engine.dialect.name in ("sqlite", "postgresql")):
            stmt = self.statement(("delete", tname), [cond], lambda: delete(t).where(cond))
            with self._writing() as conn:
                n = conn.execute(stmt, self.params).rowcount
            if on_batch:
                on_batch(n)
            return
        for rows in self._batches(tname, cond, batch):
            self.delete_rows_by_key(tname, [r[0] for r in rows])
            if on_batch:
                on_batch(len(rows))

    def key_in(self, tname: str, keys: Sequence[Any]) -> ColumnElement[bool]:
        """Rows of ``tname`` whose key is one of ``keys``."""
        return self.table(tname).c[self.store.tables[tname].key or ""].in_(keys)

    def delete_rows_by_key(self, tname: str, keys: Sequence[Any]) -> None:
        """Delete the rows with these keys (one statement)."""
        t = self.table(tname)
        key = t.c[self.store.tables[tname].key or ""]
        stmt = self.shapes.get(("delete-keys", tname))
        if stmt is None:
            stmt = self.shapes[("delete-keys", tname)] = delete(t).where(self.one_of(key, "b_keys"))
        with self._writing() as conn:
            conn.execute(stmt, {"b_keys": list(keys)})

    def anonymize_rows(
        self,
        tname: str,
        cond: ColumnElement[bool],
        methods: dict[str, Method],
        hasher: Hasher,
        batch: int,
        before_write: Callable[[list[dict[str, Any]]], None] | None = None,
        on_batch: OnBatch | None = None,
        read: Sequence[str] = (),
    ) -> None:
        """Apply ``methods`` to matching rows: one ``UPDATE`` per batch, per-row ``CASE`` values.

        ``before_write`` receives each batch's rows (key, the columns about to change and the
        ``read`` columns) first: the retain-and-blank move writes them to the vault there.
        """
        t = self.table(tname)
        key = t.c[self.store.tables[tname].key or ""]
        cols = [t.c[c] for c in methods] + [t.c[c].label(f"_read_{c}") for c in read]
        for rows in self._batches(tname, cond, batch, cols):
            keys = [r[0] for r in rows]
            if before_write:
                before_write(
                    [{k.removeprefix("_read_"): v for k, v in r._mapping.items()} for r in rows]
                )
            values: dict[str, Any] = {}
            for i, (cname, method) in enumerate(methods.items()):
                column = t.c[cname]
                if not needs_value(method):
                    values[cname] = apply(method, "x", hasher)
                    continue
                length = getattr(column.type, "length", None)
                new = {r[0]: apply(method, r[i + 1], hasher, length) for r in rows}
                values[cname] = case(new, value=key, else_=column)
            with self._writing() as conn:
                conn.execute(update(t).where(key.in_(keys)).values(values))
            if on_batch:
                on_batch(len(rows))

    def select_rows(
        self, tname: str, cond: ColumnElement[bool], batch: int, start: str | None
    ) -> Any:
        """Batches of whole rows (plus ``_start``, the retention start) for retain-and-delete."""
        extra = self.shapes.get(("whole-rows", tname, start))
        if extra is None:
            extra = self.shapes[("whole-rows", tname, start)] = self._whole_rows(tname, start)
        yield from self._batches(tname, cond, batch, extra)

    def select_rows_each(
        self, tname: str, start: str | None, subjects: Sequence[SubjectConditions | None]
    ) -> dict[int, list[Any]]:
        """:meth:`select_rows` for several subjects in one statement (each its own rows, all of
        them: for steps counted at one batch or less), by the subject's position; ``None``
        subjects are skipped."""
        n = len(subjects)
        key = ("whole-rows-each", tname, start, n, frozenset(self.pinned))
        stmt = self.shapes.get(key)
        if stmt is None:
            t = self.table(tname)
            pk = t.c[self.store.tables[tname].key or ""]
            extra = self._whole_rows(tname, start)
            stmt = self.shapes[key] = union_all(
                *[
                    select(pk, *extra, literal(i, Integer).label("_subject")).where(cond)
                    for i, cond in enumerate(self.each(tname, n))
                ]
            )
        out: dict[int, list[Any]] = {}
        with self._reading() as conn:
            for row in conn.execute(stmt, self.bind_each(subjects)):
                out.setdefault(row._mapping["_subject"], []).append(row)
        return out

    def _whole_rows(self, tname: str, start: str | None) -> list[ColumnElement[Any]]:
        t = self.table(tname)
        extra: list[ColumnElement[Any]] = [c for c in t.c if c.name != self.store.tables[tname].key]
        if start and "." in start:
            ptable, pcol = start.split(".", 1)
            link = next(
                ln
                for ln in self.store.tables[tname].link
                if isinstance(ln, ColumnLink) and ln.parent == ptable
            )
            parent = self.table(ptable)
            pkey = parent.c[link.parent_column or self.store.tables[ptable].key or ""]
            extra.append(
                select(parent.c[pcol])
                .where(pkey == t.c[link.column])
                .scalar_subquery()
                .label("_start")
            )
        elif start:
            extra.append(t.c[start].label("_start"))
        return extra

    def close(self) -> None:
        """Dispose of the engine if this connector created it."""
        if self._owns_engine:
            self.engine.dispose()


def retention_start(value: Any) -> date | datetime | None:
    """A retention start read from a row (drivers return datetimes, SQLite may return text)."""
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None
