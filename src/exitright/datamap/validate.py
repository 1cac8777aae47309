"""The checks a JSON Schema cannot express, each reported with the place in the map.

``validate(map)`` returns a list of :class:`Problem` (empty = valid). Each problem carries a
catalog message id (``datamap.problem.*`` in ``locales/*/LC_MESSAGES/erasure.po``) and the
place (``stores.platform.tables.orders.retain.basis``), so a reviewer can find and fix it.
Pure: names are checked for shape here; their existence in the live stores is checked by
``datamap check`` and again before a plan is executed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import ValidationError

from exitright.datamap.graph import CycleError, must_precede, topological_order
from exitright.datamap.legal import LEGAL_BASES, known_bases
from exitright.datamap.model import (
    IDENTIFIER_KINDS,
    ColumnLink,
    DataMap,
    FilesStore,
    IdentifierLink,
    RedisStore,
    SqlStore,
    Table,
    ThroughLink,
    is_detach,
)
from exitright.datamap.validate_kinds import check_kinds

NAME: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
PLACEHOLDER: Final = re.compile(r"\{([^{}]*)\}")
_GLOB: Final = set("*?[]\\")


@dataclass(frozen=True)
class Problem:
    """One reason the map is refused: where, and a catalog message id with its parameters."""

    place: str
    msgid: str
    params: dict[str, Any] = field(default_factory=dict)


def from_validation_error(exc: ValidationError) -> list[Problem]:
    """Schema errors from Pydantic, as problems naming the place."""
    out: list[Problem] = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"] if not str(p)[:1].isupper() and "[" not in str(p)]
        if len(loc) > 2 and loc[0] == "stores" and loc[2] in ("sql", "redis", "files"):
            del loc[2]  # the discriminator's tag, not a place in the file
        out.append(
            Problem(".".join(loc) or "(root)", "datamap.problem.schema", {"detail": err["msg"]})
        )
    return out


def validate(dm: DataMap) -> list[Problem]:
    """Every problem of ``dm``; an empty list means the map may be used."""
    problems: list[Problem] = []
    _check_subject(dm, problems)
    problems += [Problem(place, msgid, params) for place, msgid, params in check_kinds(dm)]
    for store_name, store in dm.stores.items():
        place = f"stores.{store_name}"
        if not NAME.match(store_name):
            problems.append(Problem(place, "datamap.problem.bad_name", {"name": store_name}))
        if isinstance(store, SqlStore):
            subject_table = dm.subject.table if store_name == dm.subject.store else None
            _check_sql_store(dm, store, subject_table, place, problems)
        elif isinstance(store, RedisStore):
            for i, key in enumerate(store.keys):
                if key.fields and not PLACEHOLDER.search(key.pattern):
                    # A shared key (a set of online users): only the subject's fields go.
                    if any(ch in _GLOB for ch in key.pattern):
                        problems.append(
                            Problem(
                                f"{place}.keys[{i}].pattern",
                                "datamap.problem.pattern_unbounded",
                                {"placeholder": "*"},
                            )
                        )
                else:
                    _check_pattern(key.pattern, f"{place}.keys[{i}].pattern", "redis", dm, problems)
                for j, fld in enumerate(key.fields):
                    _check_pattern(fld, f"{place}.keys[{i}].fields[{j}]", "redis", dm, problems)
        elif isinstance(store, FilesStore):
            for i, path in enumerate(store.paths):
                _check_pattern(path.pattern, f"{place}.paths[{i}].pattern", "files", dm, problems)
    return problems


def _check_subject(dm: DataMap, problems: list[Problem]) -> None:
    s = dm.subject
    store = dm.stores.get(s.store)
    if store is None:
        problems.append(
            Problem(
                "subject.store",
                "datamap.problem.unknown_store",
                {"name": s.store, "known": ", ".join(sorted(dm.stores))},
            )
        )
        return
    if not isinstance(store, SqlStore):
        problems.append(
            Problem("subject.store", "datamap.problem.subject_not_sql", {"name": s.store})
        )
        return
    if s.table not in store.tables:
        problems.append(
            Problem("subject.table", "datamap.problem.unknown_table", {"name": s.table})
        )
    for kind, column in s.identifiers.items():
        if not NAME.match(column):
            problems.append(
                Problem(f"subject.identifiers.{kind}", "datamap.problem.bad_name", {"name": column})
            )
    for kind in s.find_by or []:
        if kind != "user_id" and kind not in s.identifiers:
            problems.append(
                Problem("subject.find_by", "datamap.problem.find_by_unknown", {"identifier": kind})
            )
    if not NAME.match(s.key):
        problems.append(Problem("subject.key", "datamap.problem.bad_name", {"name": s.key}))


def _direct_links(table: Table) -> list[ColumnLink | IdentifierLink]:
    """Links whose column itself holds the user id or an identifier (the row names the subject)."""
    return [
        ln
        for ln in table.link
        if not is_detach(ln)
        and (isinstance(ln, IdentifierLink) or (isinstance(ln, ColumnLink) and ln.parent is None))
    ]


def _check_sql_store(
    dm: DataMap, store: SqlStore, subject_table: str | None, place: str, problems: list[Problem]
) -> None:
    for name, table in store.tables.items():
        tplace = f"{place}.tables.{name}"
        if not NAME.match(name):
            problems.append(Problem(tplace, "datamap.problem.bad_name", {"name": name}))
        _check_names(table, tplace, problems)
        _check_links(dm, store, name, table, subject_table, tplace, problems)
        _check_action(name, table, subject_table, tplace, problems)
    try:
        topological_order(must_precede(store.tables, subject_table))
    except CycleError as exc:
        problems.append(
            Problem(f"{place}.tables", "datamap.problem.cycle", {"tables": ", ".join(exc.tables)})
        )


def _check_names(table: Table, tplace: str, problems: list[Problem]) -> None:
    # key: null means "no single-column key"; an empty string is not a name (it would reach SQL).
    names: list[tuple[str, str]] = [(f"{tplace}.key", table.key)] if table.key is not None else []
    names += [(f"{tplace}.anonymize.{c}", c) for c in table.anonymize]
    names += [(f"{tplace}.pi.{c}", c) for c in table.pi]
    for i, link in enumerate(table.link):
        for attr in ("column", "parent", "parent_column", "through", "through_column"):
            value = getattr(link, attr, None)
            if value is not None:
                names.append((f"{tplace}.link[{i}].{attr}", value))
    if table.retain and table.retain.start:
        parent, _, column = table.retain.start.rpartition(".")
        names += [(f"{tplace}.retain.from", n) for n in (parent, column) if n or n is column]
        parents = {ln.parent for ln in table.link if isinstance(ln, ColumnLink) and ln.parent}
        if parent and parent not in parents:
            problems.append(
                Problem(
                    f"{tplace}.retain.from", "datamap.problem.start_not_parent", {"name": parent}
                )
            )
    for where, value in names:
        if not NAME.match(value):
            problems.append(Problem(where, "datamap.problem.bad_name", {"name": value}))


def _check_links(
    dm: DataMap,
    store: SqlStore,
    name: str,
    table: Table,
    subject_table: str | None,
    tplace: str,
    problems: list[Problem],
) -> None:
    for i, link in enumerate(table.link):
        lplace = f"{tplace}.link[{i}]"
        if isinstance(link, ColumnLink | IdentifierLink) and isinstance(link.detach, dict):
            for col in link.detach:
                if not NAME.match(col):
                    problems.append(
                        Problem(f"{lplace}.detach.{col}", "datamap.problem.bad_name", {"name": col})
                    )
        if name == subject_table and not is_detach(link):
            problems.append(Problem(lplace, "datamap.problem.subject_linked", {"table": name}))
        if isinstance(link, ColumnLink) and link.parent is not None:
            parent = store.tables.get(link.parent)
            if parent is None:
                problems.append(
                    Problem(
                        f"{lplace}.parent", "datamap.problem.unknown_table", {"name": link.parent}
                    )
                )
            elif parent.key is None and link.parent_column is None:
                problems.append(
                    Problem(
                        f"{lplace}.parent",
                        "datamap.problem.parent_without_key",
                        {"name": link.parent},
                    )
                )
            elif not parent.link and link.parent != subject_table:
                problems.append(
                    Problem(
                        f"{lplace}.parent",
                        "datamap.problem.parent_not_linked",
                        {"name": link.parent},
                    )
                )
        elif isinstance(link, ThroughLink):
            assoc = store.tables.get(link.through)
            if assoc is None:
                problems.append(
                    Problem(
                        f"{lplace}.through", "datamap.problem.unknown_table", {"name": link.through}
                    )
                )
            elif not assoc.link:
                problems.append(
                    Problem(
                        f"{lplace}.through",
                        "datamap.problem.parent_not_linked",
                        {"name": link.through},
                    )
                )
            if link.column is None and table.key is None:
                problems.append(
                    Problem(
                        f"{lplace}.column", "datamap.problem.parent_without_key", {"name": name}
                    )
                )
        elif (
            isinstance(link, IdentifierLink)
            and link.identifier != "user_id"
            and link.identifier not in dm.subject.identifiers
        ):
            problems.append(
                Problem(
                    f"{lplace}.identifier",
                    "datamap.problem.unknown_identifier",
                    {"identifier": link.identifier},
                )
            )


def _check_action(
    name: str, table: Table, subject_table: str | None, tplace: str, problems: list[Problem]
) -> None:
    linked = bool(table.link) or name == subject_table
    if table.action is None:
        problems.append(Problem(tplace, "datamap.problem.no_action", {"table": name}))
        return
    real_links = [ln for ln in table.link if not is_detach(ln)]
    if table.action != "keep" and not real_links and name != subject_table:
        problems.append(
            Problem(
                f"{tplace}.action", "datamap.problem.action_without_link", {"action": table.action}
            )
        )
    if table.action == "keep":
        if not table.reason:
            problems.append(Problem(f"{tplace}.reason", "datamap.problem.keep_without_reason", {}))
        if name == subject_table or _direct_links(table):
            problems.append(
                Problem(f"{tplace}.action", "datamap.problem.keep_direct_link", {"table": name})
            )
    if table.action == "retain":
        _check_retain(table, tplace, problems)
    elif table.retain is not None:
        problems.append(
            Problem(
                f"{tplace}.retain", "datamap.problem.retain_unexpected", {"action": table.action}
            )
        )
    blanks = table.action == "anonymize" or (
        table.action == "retain" and table.retain is not None and table.retain.then == "blank"
    )
    if blanks and not table.anonymize:
        problems.append(Problem(f"{tplace}.anonymize", "datamap.problem.anonymize_missing", {}))
    if not blanks and table.anonymize:
        problems.append(
            Problem(
                f"{tplace}.anonymize",
                "datamap.problem.anonymize_unexpected",
                {"action": table.action},
            )
        )
    if blanks:
        for link in _direct_links(table):
            if link.column not in table.anonymize:
                problems.append(
                    Problem(
                        f"{tplace}.anonymize",
                        "datamap.problem.link_not_blanked",
                        {"column": link.column},
                    )
                )
    if linked and table.key is None and table.action in ("anonymize", "retain"):
        problems.append(
            Problem(f"{tplace}.key", "datamap.problem.key_required", {"action": table.action})
        )


def _check_retain(table: Table, tplace: str, problems: list[Problem]) -> None:
    if table.retain is None:
        problems.append(Problem(f"{tplace}.retain", "datamap.problem.retain_missing", {}))
        return
    basis = LEGAL_BASES.get(table.retain.basis)
    if basis is None:
        problems.append(
            Problem(
                f"{tplace}.retain.basis",
                "datamap.problem.unknown_basis",
                {"basis": table.retain.basis, "known": ", ".join(known_bases())},
            )
        )
    elif basis.counted_from_column and not table.retain.start:
        problems.append(
            Problem(
                f"{tplace}.retain.from", "datamap.problem.basis_needs_from", {"basis": basis.id}
            )
        )


def _check_pattern(
    pattern: str, place: str, kind: str, dm: DataMap, problems: list[Problem]
) -> None:
    """Patterns must name the subject through placeholders bounded so they match no one else."""
    holders = list(PLACEHOLDER.finditer(pattern))
    if not holders:
        problems.append(Problem(place, "datamap.problem.pattern_no_placeholder", {}))
        return
    stripped = PLACEHOLDER.sub("", pattern)
    if "{" in stripped or "}" in stripped:
        problems.append(Problem(place, "datamap.problem.pattern_braces", {}))
    for m in holders:
        ident = m.group(1)
        if ident not in IDENTIFIER_KINDS or (
            ident != "user_id" and ident not in dm.subject.identifiers
        ):
            problems.append(
                Problem(place, "datamap.problem.unknown_placeholder", {"placeholder": ident})
            )
        before = pattern[m.start() - 1] if m.start() > 0 else ""
        after = pattern[m.end()] if m.end() < len(pattern) else ""
        for ch in (before, after):
            if ch and (ch in _GLOB or ch.isalnum() or ch == "{"):
                problems.append(
                    Problem(place, "datamap.problem.pattern_unbounded", {"placeholder": ident})
                )
                break
    if kind == "files":
        parts = pattern.replace("\\", "/").split("/")
        if pattern.startswith(("/", "~")) or "\\" in pattern or ":" in parts[0] or ".." in parts:
            problems.append(Problem(place, "datamap.problem.path_escapes", {}))
