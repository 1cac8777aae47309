"""What a delete-items or correct request may name, read from the data map. Pure (no I/O).

A table's ``items`` lets the subject delete its rows without closing the account; its
``correctable`` columns may be corrected. A request names them as:

- ``<store>.<table>`` — every row of the subject in the table (delete);
- ``<store>.<table>:<key>`` — one row, by its key (delete, when ``one_by_one``);
- ``<store>.<table>.<column>`` — a column of the account row (correct, subject table);
- ``<store>.<table>:<key>.<column>`` — a column of one row (correct, other tables).

:func:`restricted_map` turns one chosen item into a small data map the erasure engine runs as
it runs a cancellation's: the item's table is that map's "subject" table (found by its link
column for all rows, by its key for one row), with the tables that hang off it; nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from exitright.datamap.graph import is_reverse
from exitright.datamap.model import (
    ColumnLink,
    DataMap,
    PICategory,
    Residual,
    SqlStore,
    Subject,
    Table,
    is_detach,
)

__all__ = [
    "CORRECTABLE_CATEGORIES",
    "ItemRef",
    "descendants",
    "direct_link_column",
    "item_tables",
    "parse_ref",
    "restricted_map",
]

# The kinds of personal information a subject may correct; the rest are records (transactions,
# behaviour), device data or credentials, which a correction does not apply to.
CORRECTABLE_CATEGORIES: Final[frozenset[PICategory]] = frozenset(
    {
        "profile",
        "identity.name",
        "contact.phone",
        "contact.email",
        "location.address",
        "free_text",
    }
)
_REF: Final = re.compile(
    r"^(?P<store>[A-Za-z_][A-Za-z0-9_]{0,62})\.(?P<table>[A-Za-z_][A-Za-z0-9_]{0,62})"
    r"(?::(?P<key>[A-Za-z0-9_-]{1,64}))?(?:\.(?P<column>[A-Za-z_][A-Za-z0-9_]{0,62}))?$"
)


@dataclass(frozen=True)
class ItemRef:
    """A parsed reference to rows (and, for a correction, a column) of the map."""

    store: str
    table: str
    key: str | None = None
    column: str | None = None

    def __str__(self) -> str:
        text = f"{self.store}.{self.table}"
        if self.key is not None:
            text += f":{self.key}"
        if self.column is not None:
            text += f".{self.column}"
        return text

    @property
    def rows(self) -> ItemRef:
        """The same reference without its column (the rows it names)."""
        return ItemRef(self.store, self.table, self.key)


def parse_ref(text: str) -> ItemRef | None:
    """The reference ``text`` spells, or None when it is not one."""
    m = _REF.match(text.strip())
    if m is None:
        return None
    return ItemRef(m["store"], m["table"], m["key"], m["column"])


def item_tables(dm: DataMap) -> list[tuple[str, str, Table]]:
    """Every (store, table name, table) whose rows the subject may delete, in map order."""
    return [
        (store_name, name, table)
        for store_name, store in dm.sql_stores().items()
        for name, table in store.tables.items()
        if table.items is not None
    ]


def direct_link_column(table: Table) -> str | None:
    """The column holding the user id itself (the first such link), or None."""
    for link in table.link:
        if isinstance(link, ColumnLink) and link.parent is None and not is_detach(link):
            return link.column
    return None


def _forward_parent_links(
    name: str, table: Table, within: set[str], tables: Mapping[str, Table]
) -> list[ColumnLink]:
    return [
        ln
        for ln in table.link
        if isinstance(ln, ColumnLink)
        and ln.parent in within
        and ln.parent != name
        and not is_detach(ln)
        and not is_reverse(ln, table, tables)
    ]


def descendants(tables: Mapping[str, Table], name: str) -> list[str]:
    """Tables whose rows hang off ``name``'s (found through it, at any depth), sorted."""
    found: set[str] = {name}
    grew = True
    while grew:
        grew = False
        for other, table in tables.items():
            if other not in found and _forward_parent_links(other, table, found, tables):
                found.add(other)
                grew = True
    return sorted(found - {name})


def restricted_map(dm: DataMap, ref: ItemRef) -> DataMap:
    """A data map of just ``ref``'s table and the tables hanging off it, for the erasure engine.

    Its subject is the item's table: keyed by the table's key when one row is named (the plan's
    ``user_id`` is then that row's key), else by the column holding the user id (the plan's
    ``user_id`` is the account's). Only links inside the small map are kept, so rows are found
    from the chosen ones alone; the residual check then looks for the chosen rows by that key.
    """
    store = dm.sql_stores()[ref.store]
    table = store.tables[ref.table]
    column = table.key if ref.key is not None else direct_link_column(table)
    if column is None:
        raise ValueError(f"{ref} cannot be chosen: the table has no key or user id column")
    children = descendants(store.tables, ref.table)
    within = {ref.table, *children}
    kept: dict[str, Table] = {
        ref.table: Table(key=table.key, action="delete", pi=dict(table.pi)),
    }
    for name in children:
        child = store.tables[name]
        kept[name] = Table(
            key=child.key,
            action=child.action,
            link=list(_forward_parent_links(name, child, within, store.tables)),
            anonymize=dict(child.anonymize),
            pi=dict(child.pi),
        )
    small = SqlStore(kind="sql", url=store.url, maintenance=store.maintenance, tables=kept)
    return DataMap(
        platform=dm.platform,
        subject=Subject(store=ref.store, table=ref.table, key=column, find_by=["user_id"]),
        stores={ref.store: small},
        residual=Residual(mode="indexed"),
    )
