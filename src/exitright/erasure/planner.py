"""From a data map to the ordered steps of one subject's erasure. Pure: no I/O, no clock.

Order: Redis keys and files first (the subject is signed out and their uploads go), then every
SQL store (the account's own store last); inside a store, detach steps first (other people's rows
stop pointing at the subject), then tables children before parents across every reference (a
table that references the one it is found through comes first; a table referenced by the one it is
found through — a reverse or many-to-many link — comes after it, its keys pinned by the executor
before anything changes: ``datamap/graph.py``), then the store's maintenance step; the residual
check runs last. Steps carry no identifier values: the executor reads those from the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from exitright.datamap.graph import must_precede, topological_order
from exitright.datamap.model import DataMap, FilesStore, RedisStore, SqlStore, is_detach

StepKind = Literal[
    "redis.delete",
    "files.delete",
    "sql.detach",
    "sql.delete",
    "sql.anonymize",
    "sql.retain",
    "sql.maintenance",
    "residual",
]


@dataclass(frozen=True)
class PlannedStep:
    """One unit of work: what to do to which table (or key pattern, or path pattern) of a store."""

    seq: int
    kind: StepKind
    store: str
    target: str = ""
    index: int | None = None

    @property
    def label(self) -> str:
        """A short human-readable name (``platform.orders``)."""
        return f"{self.store}.{self.target}" if self.target else self.store


def _store_order(dm: DataMap) -> list[str]:
    def rank(name: str) -> tuple[int, str]:
        store = dm.stores[name]
        if isinstance(store, RedisStore):
            return (0, name)
        if isinstance(store, FilesStore):
            return (1, name)
        return (3 if name == dm.subject.store else 2, name)

    return sorted(dm.stores, key=rank)


def plan_steps(dm: DataMap) -> list[PlannedStep]:
    """The ordered steps erasing one subject under ``dm`` (a validated map)."""
    raw: list[tuple[StepKind, str, str, int | None]] = []
    for name in _store_order(dm):
        store = dm.stores[name]
        if isinstance(store, RedisStore):
            raw += [("redis.delete", name, key.pattern, i) for i, key in enumerate(store.keys)]
        elif isinstance(store, FilesStore):
            raw += [("files.delete", name, p.pattern, i) for i, p in enumerate(store.paths)]
        else:
            raw += _sql_steps(dm, name, store)
    raw.append(("residual", "*", "", None))
    return [
        PlannedStep(i + 1, kind, store, target, index)
        for i, (kind, store, target, index) in enumerate(raw)
    ]


def _sql_steps(
    dm: DataMap, name: str, store: SqlStore
) -> list[tuple[StepKind, str, str, int | None]]:
    subject_table = dm.subject.table if name == dm.subject.store else None
    out: list[tuple[StepKind, str, str, int | None]] = []
    for table_name in sorted(store.tables):
        for i, link in enumerate(store.tables[table_name].link):
            if is_detach(link):
                out.append(("sql.detach", name, table_name, i))
    for table_name in topological_order(must_precede(store.tables, subject_table)):
        table = store.tables[table_name]
        has_rows = bool(table.link) or table_name == subject_table
        only_detach = table_name != subject_table and all(is_detach(ln) for ln in table.link)
        if not has_rows or only_detach or table.action in (None, "keep"):
            continue
        kind: StepKind = "sql.retain"
        if table.action == "delete":
            kind = "sql.delete"
        elif table.action == "anonymize":
            kind = "sql.anonymize"
        out.append((kind, name, table_name, None))
    if store.maintenance:
        out.append(("sql.maintenance", name, "", None))
    return out
