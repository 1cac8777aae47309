"""Checking a map's SQL store entries against the live schema (before any plan is executed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import inspect

from exitright.datamap.model import ThroughLink
from exitright.datamap.validate import Problem

if TYPE_CHECKING:
    from exitright.connectors.sql import SqlConnector


def verify_store(conn: SqlConnector) -> list[Problem]:
    """Names the store lacks, and unmapped tables that reference linked tables."""
    problems: list[Problem] = []
    insp = inspect(conn.engine)
    present = set(insp.get_table_names())
    base = f"stores.{conn.name}.tables"
    for tname, spec in conn.store.tables.items():
        if tname not in present:
            problems.append(
                Problem(f"{base}.{tname}", "datamap.problem.missing_table", {"name": tname})
            )
            continue
        columns = {c["name"] for c in insp.get_columns(tname)}
        wanted = [(f"{base}.{tname}.key", spec.key)] if spec.key else []
        wanted += [(f"{base}.{tname}.anonymize.{c}", c) for c in spec.anonymize]
        wanted += [(f"{base}.{tname}.pi.{c}", c) for c in spec.pi]
        for i, link in enumerate(spec.link):
            wanted += [(f"{base}.{tname}.link[{i}].column", link.column)] if link.column else []
            if isinstance(link, ThroughLink):
                through_cols = (
                    {c["name"] for c in insp.get_columns(link.through)}
                    if link.through in present
                    else set()
                )
                if link.through in present and link.through_column not in through_cols:
                    problems.append(
                        Problem(
                            f"{base}.{tname}.link[{i}].through_column",
                            "datamap.problem.missing_column",
                            {"name": link.through_column, "table": link.through},
                        )
                    )
        if spec.retain and spec.retain.start and "." not in spec.retain.start:
            wanted.append((f"{base}.{tname}.retain.from", spec.retain.start))
        for place, col in wanted:
            if col not in columns:
                problems.append(
                    Problem(place, "datamap.problem.missing_column", {"name": col, "table": tname})
                )
    if conn.subject is not None:
        cols = (
            {c["name"] for c in insp.get_columns(conn.subject.table)}
            if conn.subject.table in present
            else set()
        )
        for kind, col in conn.subject.identifiers.items():
            if cols and col not in cols:
                problems.append(
                    Problem(
                        f"subject.identifiers.{kind}",
                        "datamap.problem.missing_column",
                        {"name": col, "table": conn.subject.table},
                    )
                )
    linked = {t for t, s in conn.store.tables.items() if s.link} | (
        {conn.subject.table} if conn.subject else set()
    )
    for tname in sorted(present - set(conn.store.tables)):
        for fk in insp.get_foreign_keys(tname):
            if fk["referred_table"] in linked:
                problems.append(
                    Problem(
                        f"{base}.{tname}",
                        "datamap.problem.unmapped_child",
                        {"table": tname, "parent": fk["referred_table"]},
                    )
                )
                break
    return problems
