"""The conditions that name a subject's rows, built from the map's links.

Two forms of the same condition: with the subject's values inside (:meth:`rows_of`, for code that
runs its own statement once), and with bound parameters (:meth:`condition`), built and compiled
once per map and run for every subject with :meth:`bind`'s values — building and compiling
SQLAlchemy expressions per subject cost more than the statements themselves. Table and column
names come from the map but only after they were found in the reflected schema.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    BindParameter,
    ColumnElement,
    Engine,
    String,
    Table,
    any_,
    bindparam,
    false,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.types import NullType

from exitright.connectors.base import SubjectIds
from exitright.datamap.model import (
    IDENTIFIER_KINDS,
    ColumnLink,
    IdentifierLink,
    SqlStore,
    Subject,
    ThroughLink,
    is_detach,
)
from exitright.pii.detect import email_variants, id_number_variants, phone_variants

# Makes the bound parameter ``name`` of a condition: unset (the condition is built once per map
# and executed with each subject's values) or carrying one subject's values.
Binder = Callable[[str], BindParameter[Any]]
# The bound parameters of a subject's identifiers, one list per kind (empty: unknown).
PARAM: dict[str, str] = {kind: f"s_{kind}" for kind in IDENTIFIER_KINDS}


def unset(name: str) -> BindParameter[Any]:
    """A list parameter whose values each execution supplies."""
    return bindparam(name, expanding=True)


class Numbered:
    """The binder of subject number ``i`` in a statement over several subjects at once:
    ``s_phone`` becomes ``s_phone__3`` (values from :meth:`SubjectConditions.bind_each`)."""

    def __init__(self, i: int) -> None:
        self.i = i

    def name(self, name: str) -> str:
        """The parameter's name for this subject."""
        return f"{name}__{self.i}"

    def __call__(self, name: str) -> BindParameter[Any]:
        return bindparam(self.name(name), expanding=True)


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


def subject_values(kind: str, ids: SubjectIds) -> list[Any]:
    """The values of parameter ``PARAM[kind]``: every spelling (e-mail lower-cased, as compared)."""
    values = identifier_values(kind, ids)
    if kind == "email":
        return sorted({str(v).lower() for v in values})
    return values


class SubjectConditions:
    """The condition-building half of a SQL connector (``SqlConnector`` adds the statements)."""

    engine: Engine
    store: SqlStore
    subject: Subject | None
    pinned: dict[str, list[Any]]
    shapes: dict[Hashable, Any]
    ids: SubjectIds | None
    params: dict[str, Any]
    _rows_of: dict[tuple[str, SubjectIds], ColumnElement[bool]]

    def table(self, name: str) -> Table:
        """The reflected table ``name``."""
        raise NotImplementedError

    def link_condition(
        self, tname: str, link: ColumnLink | IdentifierLink | ThroughLink, ids: SubjectIds
    ) -> ColumnElement[bool]:
        """Rows of ``tname`` that ``link`` ties to the subject (the subject's values inside)."""
        return self._link(tname, link, self._literal(ids), ids)

    def rows_of(self, tname: str, ids: SubjectIds) -> ColumnElement[bool]:
        """Rows of ``tname`` that belong to the subject (any non-detach link), values inside."""
        cached = self._rows_of.get((tname, ids))
        if cached is None:
            cached = self._rows_of[(tname, ids)] = self._rows(tname, self._literal(ids), ids)
        return cached

    def condition(self, tname: str, link: int | None = None) -> ColumnElement[bool]:
        """As :meth:`rows_of` (or :meth:`link_condition` of link number ``link``), built once per
        map with bound parameters: this connector's statements run it with ``params``."""
        key = ("cond", tname, link, frozenset(self.pinned))
        cond: ColumnElement[bool] | None = self.shapes.get(key)
        if cond is None:
            if link is None:
                cond = self._rows(tname, unset, None)
            else:
                cond = self._link(tname, self.store.tables[tname].link[link], unset, None)
            self.shapes[key] = cond
            # Registered by id with the object itself, so no other object can take its id.
            self.shapes.setdefault("params", {})[id(cond)] = cond
        return cond

    def bind(self, ids: SubjectIds) -> dict[str, Any]:
        """The values of the bound parameters for ``ids`` (and the keys pinned so far)."""
        out = {PARAM[kind]: subject_values(kind, ids) for kind in IDENTIFIER_KINDS}
        for tname, keys in self.pinned.items():
            out[self._pin_param(tname)] = list(keys)
        return out

    def use(self, ids: SubjectIds) -> None:
        """Run this connector's statements for the subject ``ids`` from now on."""
        self.ids = ids
        self.params = self.bind(ids)

    def use_all(self, others: Sequence[SubjectConditions]) -> None:
        """Run this connector's statements for several subjects at once: the union of the
        identifiers and pinned keys of ``others``, each already :meth:`use`-d for its subject.

        Every condition is a disjunction of ``IN`` lists and sub-selects over them, so under the
        union it matches exactly the rows the subjects' own conditions match together.
        """
        pinned: dict[str, list[Any]] = {}
        params: dict[str, list[Any]] = {}
        for other in others:
            for tname, keys in other.pinned.items():
                pinned.setdefault(tname, []).extend(keys)
            for name, values in other.params.items():
                params.setdefault(name, []).extend(values)
        self.pinned = {t: list(dict.fromkeys(keys)) for t, keys in pinned.items()}
        self._rows_of.clear()
        self.ids = None
        self.params = {n: list(dict.fromkeys(values)) for n, values in params.items()}

    def each(self, tname: str, n: int) -> list[ColumnElement[bool]]:
        """The conditions of ``tname``'s rows for subjects 0 … n-1 of one statement, each with
        its own parameters (:class:`Numbered`), built once per map and ``n``."""
        key = ("each", tname, n, frozenset(self.pinned))
        conds: list[ColumnElement[bool]] | None = self.shapes.get(key)
        if conds is None:
            conds = self.shapes[key] = [self._rows(tname, Numbered(i), None) for i in range(n)]
        return conds

    @staticmethod
    def bind_each(subjects: Sequence[SubjectConditions | None]) -> dict[str, Any]:
        """The values of :meth:`each`'s parameters: subject ``i``'s, or none for ``None``."""
        out: dict[str, Any] = {}
        for i, other in enumerate(subjects):
            if other is not None:
                out |= {Numbered(i).name(k): v for k, v in other.params.items()}
        names = {k for other in subjects if other is not None for k in other.params}
        for i, other in enumerate(subjects):
            if other is None:
                out |= {Numbered(i).name(k): [] for k in names}
        return out

    def _pin_param(self, tname: str) -> str:
        return f"p_{sorted(self.store.tables).index(tname)}"

    def _literal(self, ids: SubjectIds) -> Binder:
        values = self.bind(ids)

        def binder(name: str) -> BindParameter[Any]:
            return bindparam(name, value=values[name], expanding=True)

        return binder

    def one_of(self, expr: ColumnElement[Any], name: str, b: Binder = unset) -> ColumnElement[bool]:
        """``expr`` equals one of the values of list parameter ``name``.

        On PostgreSQL an unset parameter is one array (``= ANY(%(name)s)``): the statement's text
        then stays the same whatever the number of values, so the driver prepares it once and
        the server stops planning it anew (planning a subject's count statement took 4x longer
        than running it). Elsewhere an expanding ``IN`` (on SQLite, ``IN (SELECT value FROM
        json_each(?))`` with one text per statement measured slower: 0.61 against 0.53 ms to
        measure a subject of the demo map).
        """
        if isinstance(b, Numbered):
            name, b = b.name(name), unset
        if b is unset and self.engine.dialect.name == "postgresql":
            element = String() if isinstance(expr.type, NullType) else expr.type  # lower(…)
            return expr == any_(bindparam(name, type_=ARRAY(element)))
        return expr.in_(b(name))

    def _link(
        self,
        tname: str,
        link: ColumnLink | IdentifierLink | ThroughLink,
        b: Binder,
        ids: SubjectIds | None,
    ) -> ColumnElement[bool]:
        t = self.table(tname)
        if isinstance(link, IdentifierLink):
            column = t.c[link.column]
            if link.identifier == "email":
                return self.one_of(func.lower(column), PARAM["email"], b)
            return self.one_of(column, PARAM[link.identifier], b)
        if isinstance(link, ColumnLink):
            if link.parent is None:
                return self.one_of(t.c[link.column], PARAM["user_id"], b)
            parent = self.table(link.parent)
            ref = link.parent_column or self.store.tables[link.parent].key or ""
            inner = self._parent(link.parent, b, ids)
            return t.c[link.column].in_(select(parent.c[ref]).where(inner))
        assoc = self.table(link.through)
        local = link.column or self.store.tables[tname].key or ""
        inner = self._parent(link.through, b, ids)
        return t.c[local].in_(select(assoc.c[link.through_column]).where(inner))

    def _parent(self, tname: str, b: Binder, ids: SubjectIds | None) -> ColumnElement[bool]:
        # A child's condition embeds its parent's, built once (and shared) per mode.
        if ids is not None:
            return self.rows_of(tname, ids)
        return self.condition(tname) if b is unset else self._rows(tname, b, None)

    def _rows(self, tname: str, b: Binder, ids: SubjectIds | None) -> ColumnElement[bool]:
        t = self.table(tname)
        if self.subject is not None and tname == self.subject.table:
            return self.one_of(t.c[self.subject.key], PARAM["user_id"], b)
        if tname in self.pinned:
            key = t.c[self.store.tables[tname].key or ""]
            return self.one_of(key, self._pin_param(tname), b)
        conds = [
            self._link(tname, ln, b, ids)
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

    def statement(self, key: Hashable, conds: Sequence[ColumnElement[bool]], build: Any) -> Any:
        """The statement ``build()`` makes over ``conds``, built once per map when every one of
        ``conds`` is a :meth:`condition` (ids are stable then: the cache holds the objects)."""
        known = self.shapes.get("params", {})
        if not all(known.get(id(c)) is c for c in conds):
            return build()
        full = ("stmt", key, tuple(id(c) for c in conds))
        stmt = self.shapes.get(full)
        if stmt is None:
            stmt = self.shapes[full] = build()
        return stmt

    def set_pins(self, pins: dict[str, list[Any]]) -> None:
        """Use keys pinned earlier (read back from the plan) for these tables."""
        if any(self.pinned.get(t) != keys for t, keys in pins.items()):
            self.pinned.update(pins)
            self._rows_of.clear()
            if self.ids is not None:
                self.use(self.ids)
