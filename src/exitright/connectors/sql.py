"""The SQL connector: finds a subject's rows through the map's links and erases them set-based.

Table and column names come from the map but are only ever used after they were found in the
reflected schema, and SQLAlchemy quotes them: a map cannot inject SQL. Every change is one
statement per table per batch (``DELETE … WHERE key IN (…)``, ``UPDATE … SET col = CASE key …``),
in bounded batches so no transaction grows with the subject's history.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
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
    case,
    create_engine,
    delete,
    event,
    false,
    func,
    inspect,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.engine import make_url

from exitright.connectors.base import SubjectIds
from exitright.datamap.model import (
    ColumnLink,
    IdentifierKind,
    IdentifierLink,
    Method,
    SqlStore,
    Subject,
    ThroughLink,
    is_detach,
)
from exitright.datamap.validate import Problem
from exitright.erasure.anonymize import Hasher, apply, needs_value
from exitright.pii.detect import email_variants, id_number_variants, phone_variants

OnBatch = Callable[[int], None]


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


def identifier_values(kind: str, ids: SubjectIds) -> list[Any]:
    """The spellings under which identifier ``kind`` may be stored (empty when unknown)."""
    value = ids.get(kind)
    if value is None or value == "":
        return []
    if kind == "phone":
        return phone_variants(str(value))
    if kind == "email":
        return email_variants(str(value))
    if kind == "id_number":
        return id_number_variants(str(value))
    return [value]


def is_text(column: Column[Any]) -> bool:
    """Whether a reflected column holds text."""
    return isinstance(column.type, String | Text)


class SqlConnector:
    """One SQL store of the map."""

    def __init__(
        self,
        name: str,
        store: SqlStore,
        subject: Subject | None,
        engine: Engine | None = None,
        schemas: dict[str, MetaData] | None = None,
    ) -> None:
        self.name = name
        self.store = store
        self.subject = subject if subject is not None and subject.store == name else None
        self.engine = engine or store_engine(store.url)
        self._owns_engine = engine is None
        self._schemas = schemas if schemas is not None else {}
        self._tx: Connection | None = None
        # Keys of tables processed after a table they are found through (reverse and many-to-many
        # links), captured before anything changed: see ``pin`` and datamap/graph.py.
        self.pinned: dict[str, list[Any]] = {}
        # rows_of conditions built for a subject, reused by every statement that names them
        # (a child's condition embeds its parent's): building expressions is the costly part.
        self._rows_of: dict[tuple[str, SubjectIds], ColumnElement[bool]] = {}

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

    def link_condition(
        self, tname: str, link: ColumnLink | IdentifierLink | ThroughLink, ids: SubjectIds
    ) -> ColumnElement[bool]:
        """Rows of ``tname`` that ``link`` ties to the subject."""
        t = self.table(tname)
        if isinstance(link, IdentifierLink):
            return self.identifier_condition(t.c[link.column], link.identifier, ids)
        if isinstance(link, ColumnLink):
            if link.parent is None:
                return t.c[link.column] == ids.user_id if ids.user_id is not None else false()
            parent = self.table(link.parent)
            ref = link.parent_column or self.store.tables[link.parent].key or ""
            return t.c[link.column].in_(select(parent.c[ref]).where(self.rows_of(link.parent, ids)))
        assoc = self.table(link.through)
        local = link.column or self.store.tables[tname].key or ""
        return t.c[local].in_(
            select(assoc.c[link.through_column]).where(self.rows_of(link.through, ids))
        )

    @staticmethod
    def identifier_condition(
        column: Column[Any], kind: str, ids: SubjectIds
    ) -> ColumnElement[bool]:
        """``column`` holds the subject's identifier ``kind`` in any spelling (e-mail: any case)."""
        values = identifier_values(kind, ids)
        if not values:
            return false()
        if kind == "email":
            return func.lower(column).in_(sorted({str(v).lower() for v in values}))
        return column.in_(values)

    def rows_of(self, tname: str, ids: SubjectIds) -> ColumnElement[bool]:
        """Rows of ``tname`` that belong to the subject (any non-detach link)."""
        cached = self._rows_of.get((tname, ids))
        if cached is None:
            cached = self._rows_of[(tname, ids)] = self._build_rows_of(tname, ids)
        return cached

    def _build_rows_of(self, tname: str, ids: SubjectIds) -> ColumnElement[bool]:
        t = self.table(tname)
        if self.subject is not None and tname == self.subject.table:
            key = t.c[self.subject.key]
            return key == ids.user_id if ids.user_id is not None else false()
        if tname in self.pinned:
            return t.c[self.store.tables[tname].key or ""].in_(self.pinned[tname])
        conds = [
            self.link_condition(tname, ln, ids)
            for ln in self.store.tables[tname].link
            if not is_detach(ln)
        ]
        key_name = self.store.tables[tname].key
        if len(conds) > 1 and key_name:
            # "a = 1 OR b IN (SELECT …)" makes PostgreSQL scan the whole table; a union of
            # indexed look-ups keeps each link on its own index.
            key = t.c[key_name]
            return key.in_(union_all(*[select(key).where(c) for c in conds]))
        return or_(*conds) if conds else false()

    def set_pins(self, pins: dict[str, list[Any]]) -> None:
        """Use keys pinned earlier (read back from the plan) for these tables."""
        if any(self.pinned.get(t) != keys for t, keys in pins.items()):
            self.pinned.update(pins)
            self._rows_of.clear()

    def pin(self, tables: Sequence[str], ids: SubjectIds) -> dict[str, list[Any]]:
        """Capture the keys of the subject's rows of ``tables`` now, before anything changes.

        Such a table is processed after a table it is found through (datamap/graph.py), so its
        rows must be named while that table's rows still exist; ``rows_of`` then matches the
        pinned keys. Tables without a key are not pinned.
        """
        out: dict[str, list[Any]] = {}
        todo = [t for t in tables if t in self.store.tables and self.store.tables[t].key]
        with self._reading() as conn:
            for tname in todo:
                key = self.table(tname).c[self.store.tables[tname].key or ""]
                rows = conn.execute(select(key).where(self.rows_of(tname, ids)).order_by(key))
                out[tname] = [r[0] for r in rows]
        self.pinned.update(out)
        self._rows_of.clear()
        return out

    def count(self, tname: str, cond: ColumnElement[bool]) -> int:
        """How many rows of ``tname`` match ``cond``."""
        with self.engine.connect() as conn:
            return int(
                conn.scalar(select(func.count()).select_from(self.table(tname)).where(cond)) or 0
            )

    def count_many(self, queries: Sequence[tuple[str, ColumnElement[bool]]]) -> list[int]:
        """Counts of several (table, condition) pairs in one statement."""
        if not queries:
            return []
        subs = [
            select(func.count())
            .select_from(self.table(t))
            .where(c)
            .scalar_subquery()
            .label(f"n{i}")
            for i, (t, c) in enumerate(queries)
        ]
        with self._reading() as conn:
            return [int(n or 0) for n in conn.execute(select(*subs)).one()]

    def find_subject(self, kind: IdentifierKind, value: str) -> list[dict[str, Any]]:
        """Rows of the account table whose identifier ``kind`` matches ``value`` (any spelling)."""
        assert self.subject is not None
        t = self.table(self.subject.table)
        if kind == "user_id":
            column = t.c[self.subject.key]
            typed: Any = (
                int(value) if isinstance(column.type, Integer) and value.isdigit() else value
            )
            cond = (
                column == typed
                if not isinstance(column.type, Integer) or value.isdigit()
                else false()
            )
        else:
            column = t.c[self.subject.identifiers[kind]]
            cond = self.identifier_condition(column, kind, SubjectIds(**{kind: value}))
        cols = [t.c[self.subject.key].label("user_id")] + [
            t.c[c].label(k) for k, c in self.subject.identifiers.items()
        ]
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(*cols).where(cond).limit(2))]

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
    def _reading(self) -> Iterator[Connection]:
        if self._tx is not None:
            yield self._tx
        else:
            with self.engine.connect() as conn:
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
        last: Any = None
        while True:
            stmt = select(key, *extra).where(cond)
            if last is not None:
                stmt = stmt.where(key > last)
            with self._reading() as conn:
                rows = list(conn.execute(stmt.order_by(key).limit(batch)))
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
            with self._writing() as conn:
                n = conn.execute(delete(t).where(cond)).rowcount
            if on_batch:
                on_batch(n)
            return
        key = t.c[spec.key]
        for rows in self._batches(tname, cond, batch):
            with self._writing() as conn:
                conn.execute(delete(t).where(key.in_([r[0] for r in rows])))
            if on_batch:
                on_batch(len(rows))

    def key_in(self, tname: str, keys: Sequence[Any]) -> ColumnElement[bool]:
        """Rows of ``tname`` whose key is one of ``keys``."""
        return self.table(tname).c[self.store.tables[tname].key or ""].in_(keys)

    def delete_rows_by_key(self, tname: str, keys: Sequence[Any]) -> None:
        """Delete the rows with these keys (one statement)."""
        t = self.table(tname)
        with self._writing() as conn:
            conn.execute(delete(t).where(t.c[self.store.tables[tname].key or ""].in_(keys)))

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
        yield from self._batches(tname, cond, batch, extra)

    # After erasure ------------------------------------------------------------------------

    def maintenance(self, tables: Sequence[str]) -> dict[str, Any]:
        """After an erasure: checkpoint SQLite's WAL now; on a server database, schedule the
        tables for :meth:`vacuum` (it costs a pass over the table, so it is batched)."""
        names = sorted({n for n in tables if n in self.store.tables})
        if self.engine.dialect.name != "sqlite":
            return {"scheduled": names}
        # Idle pooled connections hold no read snapshot (the pool rolls back on return), so the
        # checkpoint completes without closing them; "busy" in the result would say otherwise.
        with self.engine.connect() as conn:
            busy, log, done = conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
        return {
            "checkpoint": "complete" if busy == 0 else "busy",
            "wal_frames": int(log),
            "checkpointed": int(done),
        }

    def vacuum(self, tables: Sequence[str]) -> dict[str, Any]:
        """Make old row versions go: VACUUM on PostgreSQL, OPTIMIZE TABLE on MariaDB/MySQL."""
        dialect = self.engine.dialect.name
        quote = self.engine.dialect.identifier_preparer.quote
        names = sorted({n for n in tables if n in self.store.tables})
        if dialect == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for n in names:
                    conn.execute(text(f"VACUUM (ANALYZE) {quote(self.table(n).name)}"))
            return {"vacuumed": len(names)}
        if dialect in ("mysql", "mariadb"):
            with self.engine.connect() as conn:
                for n in names:
                    conn.execute(text(f"OPTIMIZE TABLE {quote(self.table(n).name)}")).all()
            return {"optimized": len(names)}
        return {}

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
