"""The order in which a store's tables are processed: children before parents.

Children before parents by *reference*, whichever way a link is read. A table that references the
table it is found through (``orders.user_id``, ``order_items.order_id``) comes first, while the
rows it is found through still exist. A table that is *referenced by* the table it is found
through comes after it, or deleting it would break that table's foreign key: a reverse link
(``address`` found through ``customer.address_id``: ``{column: id, parent: customer,
parent_column: address_id}``) and every many-to-many link (the association table references the
table). The executor pins the keys of such tables before anything changes (``reverse_linked``),
so they are still found once the rows they were found through are gone. Pure.
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
                if parent is None or parent not in before:
                    continue
                if is_reverse(link, table, tables):
                    before[name].add(parent)
                else:
                    before[parent].add(name)
            elif isinstance(link, ThroughLink) and link.through in before:
                before[name].add(link.through)
    return before


def is_reverse(link: ColumnLink, table: Table, tables: Mapping[str, Table]) -> bool:
    """Whether the parent row references this table's row (not the other way round).

    Read from the map alone: the link matches this table's own key against a column of the
    parent that is not the parent's key (``{column: id, parent: customer, parent_column:
    address_id}``). A one-to-one extension table (``{column: id, parent: users}``) and a
    reference to a unique non-key column of the parent (``{column: user_phone, parent: users,
    parent_column: phone}``) stay forward links.
    """
    if link.parent is None or link.parent_column is None or table.key is None:
        return False
    parent = tables.get(link.parent)
    return link.column == table.key and parent is not None and link.parent_column != parent.key


def reverse_linked(tables: Mapping[str, Table]) -> list[str]:
    """Tables processed after a table they are found through: their keys are pinned up front."""
    out: list[str] = []
    for name, table in tables.items():
        for link in table.link:
            if is_detach(link):
                continue
            if isinstance(link, ThroughLink) or (
                isinstance(link, ColumnLink) and is_reverse(link, table, tables)
            ):
                out.append(name)
                break
    return sorted(out)


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
