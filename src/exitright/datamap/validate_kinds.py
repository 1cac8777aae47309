"""The checks of a map's ``items`` and ``correctable`` declarations (delete and correct). Pure.

Called by :func:`exitright.datamap.validate.validate`; each finding is ``(place, msgid,
params)`` with its message in ``locales/*/LC_MESSAGES/kinds.po``.
"""

from __future__ import annotations

from typing import Any

from exitright.datamap.items import CORRECTABLE_CATEGORIES, descendants, direct_link_column
from exitright.datamap.model import DataMap, Table

__all__ = ["Finding", "check_kinds"]

Finding = tuple[str, str, dict[str, Any]]


def check_kinds(dm: DataMap) -> list[Finding]:
    """Every problem of the map's items and correctable columns."""
    out: list[Finding] = []
    for store_name, store in dm.sql_stores().items():
        subject_table = dm.subject.table if store_name == dm.subject.store else None
        for name, table in store.tables.items():
            place = f"stores.{store_name}.tables.{name}"
            if table.items is not None:
                out += _items(store.tables, name, table, subject_table, place)
            if table.correctable:
                out += _correctable(table, name == subject_table, f"{place}.correctable")
    return out


def _items(
    tables: dict[str, Table], name: str, table: Table, subject_table: str | None, place: str
) -> list[Finding]:
    assert table.items is not None
    out: list[Finding] = []
    where = f"{place}.items"
    if name == subject_table:
        out.append((where, "kinds.problem.items_subject", {"table": name}))
    if table.action != "delete":
        out.append((where, "kinds.problem.items_action", {"table": name}))
    if direct_link_column(table) is None:
        out.append((where, "kinds.problem.items_link", {"table": name}))
    if table.items.one_by_one and not table.key:
        out.append((f"{where}.one_by_one", "kinds.problem.items_key", {"table": name}))
    for lang in ("zh-CN", "en"):
        if not table.items.label.get(lang, "").strip():
            out.append((f"{where}.label", "kinds.problem.items_label", {"lang": lang}))
    for child in descendants(tables, name):
        if tables[child].action not in ("delete", "anonymize"):
            out.append((where, "kinds.problem.items_child", {"table": name, "child": child}))
    return out


def _correctable(table: Table, is_subject: bool, place: str) -> list[Finding]:
    out: list[Finding] = []
    if not is_subject and (not table.key or direct_link_column(table) is None):
        out.append((place, "kinds.problem.correct_table", {}))
    links = {ln.column for ln in table.link if ln.column}
    for i, column in enumerate(table.correctable):
        category = table.pi.get(column)
        if category is None:
            out.append((f"{place}[{i}]", "kinds.problem.correct_category", {"column": column}))
        elif category not in CORRECTABLE_CATEGORIES:
            params = {"column": column, "category": category}
            out.append((f"{place}[{i}]", "kinds.problem.correct_not_allowed", params))
        if column == table.key or column in links:
            out.append((f"{place}[{i}]", "kinds.problem.correct_key", {"column": column}))
    return out
