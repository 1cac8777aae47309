"""The order in which a store's tables are processed: children before parents.

A table whose rows are found through another table (a foreign-key chain, an association table)
must be processed while that other table's rows are still there, so it comes first. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping

from exitright.datamap.model import ColumnLink, Table, ThroughLink, is_detach


class CycleError(ValueError):
    """The links of these tables form a cycle, so no order processes children first."""

    def __init__(self, tables: list[str]) -> None:
        super().__init__(", ".join(tables))
        self.tables = tables


def must_precede(tables: Mapping[str, Table], subject_table: str | None) -> dict[str, set[str]]:
    """For each table, the tables that must be processed before it (its children).

    ``subject_table`` is the account table when this store holds it: a column link without a
    parent then references it. Detach links are separate steps and add no edge here.
    """
    before: dict[str, set[str]] = {name: set() for name in tables}
    for name, table in tables.items():
        for link in table.link:
            if is_detach(link):
                continue
            if isinstance(link, ColumnLink):
                parent = link.parent or subject_table
                if parent is not None and parent in before:
                    before[parent].add(name)
            elif isinstance(link, ThroughLink) and link.through in before:
                before[link.through].add(name)
    return before


def topological_order(before: Mapping[str, set[str]]) -> list[str]:
    """Tables ordered so every table comes after all its children; ties sorted by name.

    Raises :class:`CycleError` naming the tables left in a cycle.
    """
    done: list[str] = []
    placed: set[str] = set()
    remaining = set(before)
    while remaining:
        ready = sorted(t for t in remaining if before[t] - {t} <= placed and t not in before[t])
        if not ready:
            raise CycleError(sorted(remaining))
        for t in ready:
            done.append(t)
            placed.add(t)
            remaining.discard(t)
    return done
