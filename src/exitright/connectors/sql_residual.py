"""The residual check of a SQL store: does anything still name the subject?

Two searches per mapped table: rows that still link to the subject through a direct link (the
user id or an identifier in a link column), and text columns containing any spelling of the
subject's phone, e-mail or ID number (``full`` mode: every text column with ``LIKE``;
``indexed`` mode: equality on link and identifier columns only, the rest left to the sweep).
Hits name the place (table, column, row key), never the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Column, ColumnElement, func, or_, select

from exitright.connectors.base import Hit, SubjectIds
from exitright.connectors.sql import SqlConnector, is_text
from exitright.connectors.sql_conditions import identifier_values
from exitright.connectors.sql_engine import reading
from exitright.datamap.model import ColumnLink, IdentifierLink

MAX_HITS_PER_COLUMN = 5
IDENTIFIER_CATEGORIES = frozenset({"contact.phone", "contact.email", "identity.id_number"})
EXACT = "r_exact"  # the bound parameter of every spelling of every identifier
# (table, key column names, key columns, column searched, condition)
Located = tuple[str, list[str], list[Column[Any]], str, ColumnElement[bool]]


def _row_key(row: Any, names: list[str]) -> str:
    if len(names) == 1:
        return str(row[0])
    return ",".join(f"{n}={v}" for n, v in zip(names, row, strict=False))


def _checks(conn: SqlConnector, ids: SubjectIds, mode: str) -> list[Located]:
    """Every (table, key, column, condition) to search; built with bound parameters, except the
    ``full`` mode's substrings."""
    needles = ids.needles()
    located: list[Located] = []
    for tname, spec in sorted(conn.store.tables.items()):
        t = conn.table(tname)
        key_names = (
            [spec.key]
            if spec.key
            else [c.name for c in t.primary_key.columns] or [c.name for c in t.c][:1]
        )
        key_cols = [t.c[n] for n in key_names]
        checks: list[tuple[str, ColumnElement[bool]]] = []
        for i, link in enumerate(spec.link):
            if isinstance(link, IdentifierLink) or (
                isinstance(link, ColumnLink) and link.parent is None
            ):
                checks.append((link.column, conn.condition(tname, i)))
        if conn.subject is not None and tname == conn.subject.table:
            checks.append((conn.subject.key, conn.condition(tname)))
        for column in t.c:
            if not is_text(column):
                continue
            if mode == "full" and needles:
                lowered = func.lower(column)
                checks.append(
                    (column.name, or_(*[lowered.contains(n, autoescape=True) for n in needles]))
                )
            elif mode != "full" and spec.pi.get(column.name) in IDENTIFIER_CATEGORIES:
                # Indexed mode: equality on declared identifier columns only; free text and
                # the rest are left to the periodic sweep (DESIGN.md, residual check at scale).
                checks.append((column.name, conn.one_of(column, EXACT)))
            if mode == "full" and ids.user_id is not None and len(str(ids.user_id)) >= 6:
                checks.append((column.name, column == str(ids.user_id)))
        located += [(tname, key_names, key_cols, cname, cond) for cname, cond in checks]
    return located


def _flags(located: list[Located]) -> Any:
    return select(
        *[
            select(*keys).where(cond).exists().label(f"c{i}")
            for i, (_t, _n, keys, _c, cond) in enumerate(located)
        ]
    )


def _exact(subjects: Sequence[SubjectIds]) -> list[Any]:
    out: list[Any] = []
    for ids in subjects:
        for kind in ("phone", "email", "id_number"):
            out += identifier_values(kind, ids)
    return list(dict.fromkeys(out))


def _indexed(conn: SqlConnector, ids: SubjectIds) -> tuple[list[Located], Any]:
    # The same for every subject: built and compiled once per map.
    key = ("residual", "indexed", frozenset(conn.pinned))
    cached = conn.shapes.get(key)
    if cached is None:
        located = _checks(conn, ids, "indexed")
        cached = conn.shapes[key] = (located, _flags(located) if located else None)
    return cached


def sql_residual(conn: SqlConnector, ids: SubjectIds, mode: str) -> list[Hit]:
    """Every place in ``conn``'s mapped tables where the subject can still be found."""
    params = conn.bind(ids) | {EXACT: _exact([ids])}
    if mode == "full":
        located = _checks(conn, ids, mode)
        flags = _flags(located) if located else None
    else:
        located, flags = _indexed(conn, ids)
    if flags is None:
        return []
    hits: list[Hit] = []
    with reading(conn.engine, generic=True) as db:
        # One round trip answers "anything left?" for every check; only hits are then located.
        found = db.execute(flags, params).one()
        for flag, (tname, key_names, key_cols, cname, cond) in zip(found, located, strict=True):
            if not flag:
                continue
            rows = db.execute(select(*key_cols).where(cond).limit(MAX_HITS_PER_COLUMN), params)
            hits += [Hit(conn.name, tname, cname, _row_key(row, key_names)) for row in rows]
    return sorted(set(hits), key=lambda h: (h.table, h.column, h.row_key))


def any_residual(conn: SqlConnector, subjects: Sequence[SubjectIds]) -> bool:
    """Whether the ``indexed`` checks find anything of any of ``subjects`` (one statement);
    ``conn`` runs for all of them (:meth:`~SqlConnector.use_all`). Hits are then located
    subject by subject with :func:`sql_residual`."""
    _located, flags = _indexed(conn, SubjectIds())
    if flags is None:
        return False
    with reading(conn.engine, generic=True) as db:
        return any(db.execute(flags, conn.params | {EXACT: _exact(subjects)}).one())
