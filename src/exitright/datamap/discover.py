"""``datamap check``: compare a map with the live stores, read-only.

Reports (1) tables and columns the map names that do not exist, tables referencing linked tables
that the map leaves out; (2) personal data the map does not cover: columns whose name or sampled
values look like phone numbers, ID numbers, e-mails, bank cards or addresses, in tables the map
does not list or lists as ``keep`` without the column in ``pi``; Redis keys and upload folders no
pattern covers. Findings name places and kinds, never sampled values.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import inspect, select

from exitright.connectors.files import FilesConnector
from exitright.connectors.patterns import PLACEHOLDER
from exitright.connectors.redis import RedisConnector
from exitright.connectors.sql import SqlConnector, is_text
from exitright.datamap.validate import Problem
from exitright.pii.detect import Kind, column_hint, kinds

SAMPLE_ROWS = 200
MIN_SHARE = 0.2


@dataclass(frozen=True)
class Finding:
    """A place holding data that looks personal but that the map does not cover."""

    store: str
    table: str
    column: str
    kind: str
    evidence: str  # "name" or "values"


def check_sql(conn: SqlConnector) -> tuple[list[Problem], list[Finding]]:
    """Problems of the map against one SQL store, and its uncovered personal-data columns."""
    problems = conn.verify()
    findings: list[Finding] = []
    insp = inspect(conn.engine)
    from sqlalchemy import MetaData, Table

    meta = MetaData()
    for tname in sorted(insp.get_table_names()):
        spec = conn.store.tables.get(tname)
        if spec is not None and spec.action not in (None, "keep"):
            continue
        covered = set(spec.pi) if spec is not None else set()
        table = Table(tname, meta, autoload_with=conn.engine)
        text_cols = [c for c in table.c if is_text(c) and c.name not in covered]
        by_name = {c.name: column_hint(c.name) for c in table.c if c.name not in covered}
        sampled: dict[str, Counter[Kind]] = {c.name: Counter() for c in text_cols}
        if text_cols:
            with conn.engine.connect() as db:
                rows = db.execute(select(*text_cols).limit(SAMPLE_ROWS)).all()
            for row in rows:
                for col, value in zip(text_cols, row, strict=True):
                    if isinstance(value, str) and value:
                        sampled[col.name].update(kinds(value) - {"name"})
            total = max(len(rows), 1)
        else:
            total = 1
        for col in table.c:
            if col.name in covered:
                continue
            hint = by_name.get(col.name)
            top = sampled.get(col.name, Counter()).most_common(1)
            if top and top[0][1] / total >= MIN_SHARE:
                findings.append(Finding(conn.name, tname, col.name, top[0][0], "values"))
            elif hint is not None:
                findings.append(Finding(conn.name, tname, col.name, hint, "name"))
    return problems, findings


def _glob_of(pattern: str) -> re.Pattern[str]:
    parts = PLACEHOLDER.split(pattern)
    regex = "".join(
        "[^:/]+" if i % 2 else re.escape(p).replace(r"\*", ".*").replace(r"\?", ".")
        for i, p in enumerate(parts)
    )
    return re.compile(f"^{regex}")


def check_redis(conn: RedisConnector, limit: int = 2000) -> list[Finding]:
    """Key prefixes holding personal-looking values that no map pattern covers."""
    patterns = [_glob_of(k.pattern) for k in conn.store.keys]
    found: dict[str, str] = {}
    for i, key in enumerate(conn.client.scan_iter(count=500)):
        if i >= limit:
            break
        name = key.decode(errors="replace")
        if any(p.match(name) for p in patterns):
            continue
        prefix = name.split(":", 1)[0] + ":*"
        detected: set[Kind] = kinds(name)
        for _part, blob in conn.values_of(key):
            detected |= kinds(blob.decode(errors="replace"))
        detected.discard("name")
        if detected and prefix not in found:
            found[prefix] = sorted(detected)[0]
    return [
        Finding(conn.name, "(keys)", prefix, kind, "values")
        for prefix, kind in sorted(found.items())
    ]


def check_files(conn: FilesConnector) -> list[Finding]:
    """Top-level folders under the root that no path pattern covers."""
    if not conn.root.is_dir():
        return []
    covered = {p.pattern.split("/", 1)[0] for p in conn.store.paths}
    return [
        Finding(conn.name, "(files)", entry.name, "file", "name")
        for entry in sorted(conn.root.iterdir())
        if entry.name not in covered
    ]
