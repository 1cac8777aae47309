"""What cancelling an account does to each piece of data, generated from the data map.

:func:`consequences` reads a :class:`~exitright.datamap.model.DataMap` and the legal bases of
:mod:`exitright.datamap.legal` and returns what the cancellation page shows: what is deleted,
what is anonymized, which of other people's records are cut loose from the account, what is
kept (for how long, counted from what, and under which law, with its citation), and which third
parties are told to delete their copies. Nothing here is written by hand: a change to the map
changes the page. Pure (no I/O).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from exitright.datamap.legal import LEGAL_BASES, LegalBasis
from exitright.datamap.model import (
    ColumnLink,
    DataMap,
    FilesStore,
    IdentifierLink,
    RedisStore,
    SqlStore,
    Table,
    detach_methods,
    is_detach,
)

__all__ = [
    "Consequences",
    "Holding",
    "KeptGroup",
    "KeptHolding",
    "RecipientNotice",
    "consequences",
]

# Categories that hold no personal data of their own kind still need a label on the page.
UNLABELLED: Final = "unlabelled"


@dataclass(frozen=True)
class Holding:
    """One place holding the subject's data: a table, a key pattern or a file path pattern."""

    store: str
    name: str
    categories: tuple[str, ...]  # PI category ids (``contact.phone``), sorted; may be empty


@dataclass(frozen=True)
class KeptHolding:
    """A table kept under a legal basis, and the column its period counts from."""

    holding: Holding
    counted_from: str | None  # a column (``completed_at``), or None: from the cancellation


@dataclass(frozen=True)
class KeptGroup:
    """Everything kept under one legal basis."""

    basis: LegalBasis
    holdings: tuple[KeptHolding, ...]

    @property
    def years(self) -> int | None:
        """The period in whole years, or None when it is not a whole number of years."""
        return self.basis.months // 12 if self.basis.months % 12 == 0 else None

    def title(self, lang: str) -> str:
        """The basis' title in ``lang`` (zh-CN or en)."""
        return self.basis.title_zh if lang.startswith("zh") else self.basis.title_en

    @property
    def categories(self) -> tuple[str, ...]:
        """Every PI category kept under this basis, sorted."""
        return _union(h.holding.categories for h in self.holdings)


@dataclass(frozen=True)
class RecipientNotice:
    """A third party told to delete its copies, and the categories it holds."""

    name: str
    kind: str
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Consequences:
    """The consequences of cancelling an account on one platform."""

    platform: str
    deleted: tuple[Holding, ...]
    anonymized: tuple[Holding, ...]
    detached: tuple[Holding, ...]
    kept: tuple[KeptGroup, ...]
    recipients: tuple[RecipientNotice, ...]

    @property
    def deleted_categories(self) -> tuple[str, ...]:
        """Every PI category deleted somewhere, sorted."""
        return _union(h.categories for h in self.deleted)

    @property
    def kept_categories(self) -> tuple[str, ...]:
        """Every PI category kept under some legal basis, sorted."""
        return _union(g.categories for g in self.kept)


def _union(groups: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(sorted({c for g in groups for c in g}))


def _categories(table: Table, columns: Iterable[str] | None = None) -> tuple[str, ...]:
    pi = table.pi if columns is None else {c: table.pi[c] for c in columns if c in table.pi}
    return tuple(sorted(set(pi.values())))


def _sql(
    store_name: str, store: SqlStore, subject_table: str | None
) -> tuple[list[Holding], list[Holding], list[Holding], dict[str, list[KeptHolding]]]:
    deleted: list[Holding] = []
    anonymized: list[Holding] = []
    detached: list[Holding] = []
    kept: dict[str, list[KeptHolding]] = {}
    for name in sorted(store.tables):
        table = store.tables[name]
        linked = bool(table.link) or name == subject_table
        if not linked or table.action in (None, "keep"):
            continue
        holding = Holding(store_name, name, _categories(table))
        owned = [lk for lk in table.link if not is_detach(lk)] or name == subject_table
        cut = [
            lk for lk in table.link if isinstance(lk, ColumnLink | IdentifierLink) and is_detach(lk)
        ]
        if cut:
            columns = {c for lk in cut for c in detach_methods(lk)}
            detached.append(Holding(store_name, name, _categories(table, columns)))
        if not owned:
            continue
        if table.action == "delete":
            deleted.append(holding)
        elif table.action == "anonymize":
            anonymized.append(Holding(store_name, name, _categories(table, table.anonymize)))
        elif table.action == "retain" and table.retain is not None:
            kept.setdefault(table.retain.basis, []).append(KeptHolding(holding, table.retain.start))
    return deleted, anonymized, detached, kept


def consequences(dm: DataMap) -> Consequences:
    """What cancelling an account does, store by store, as the data map declares it."""
    deleted: list[Holding] = []
    anonymized: list[Holding] = []
    detached: list[Holding] = []
    kept: dict[str, list[KeptHolding]] = {}
    for store_name in sorted(dm.stores):
        store = dm.stores[store_name]
        if isinstance(store, SqlStore):
            subject_table = dm.subject.table if store_name == dm.subject.store else None
            d, a, x, k = _sql(store_name, store, subject_table)
            deleted += d
            anonymized += a
            detached += x
            for basis, rows in k.items():
                kept.setdefault(basis, []).extend(rows)
        elif isinstance(store, RedisStore):
            deleted += [
                Holding(store_name, key.pattern, (key.pi,) if key.pi else ()) for key in store.keys
            ]
        elif isinstance(store, FilesStore):
            deleted += [
                Holding(store_name, path.pattern, (path.pi,) if path.pi else ())
                for path in store.paths
            ]
    groups = tuple(
        KeptGroup(LEGAL_BASES[basis], tuple(rows))
        for basis, rows in sorted(kept.items())
        if basis in LEGAL_BASES  # validation refuses a map citing an unknown basis
    )
    recipients = tuple(
        RecipientNotice(r.name, r.kind, tuple(sorted(set(r.holds)))) for r in dm.recipients
    )
    return Consequences(
        platform=dm.platform,
        deleted=tuple(deleted),
        anonymized=tuple(anonymized),
        detached=tuple(detached),
        kept=groups,
        recipients=recipients,
    )
