"""An access export ("Download my data"): the subject's rows as a zip, generated from the data map.

:func:`collect` finds the subject's rows in every SQL store through the map's links (the same
conditions erasure uses, :meth:`~exitright.connectors.sql.SqlConnector.rows_of`), read-only.
:func:`archive` writes them as a zip: per table ``<store>/<table>.json`` and ``.csv``, and a
``manifest.json`` that labels every column with its personal-data category (in zh-CN and en) and
says what a cancellation does to the table. Columns the map labels ``credentials`` (password
hashes, session tokens) are left out: they protect the account and mean nothing to its owner.

:func:`exported_tables` says which tables that is, for the "Download my data" page. The access
executor (:mod:`exitright.privacy.executors`) runs both and seals the zip; see
docs/privacy-centre.md, "Download my data".
"""

from __future__ import annotations

import base64
import csv
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Engine, select

from exitright.connectors.base import SubjectIds
from exitright.connectors.sql import SqlConnector
from exitright.datamap.model import DataMap
from exitright.i18n import LANGUAGES, gettext

__all__ = [
    "EXCLUDED_CATEGORIES",
    "ExportedTable",
    "TableExport",
    "archive",
    "collect",
    "exported_tables",
]

EXCLUDED_CATEGORIES: Final = frozenset({"credentials"})


@dataclass(frozen=True)
class TableExport:
    """The subject's rows of one table, with the map's category of each column."""

    store: str
    table: str
    action: str
    columns: tuple[str, ...]
    categories: Mapping[str, str]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class ExportedTable:
    """A table the download holds the account's rows of, with its categories."""

    store: str
    name: str
    categories: tuple[str, ...]


def exported_tables(dm: DataMap) -> list[ExportedTable]:
    """What :func:`exitright.privacy.export.collect` exports under ``dm`` (no credentials)."""
    out: list[ExportedTable] = []
    for store_name, store in sorted(dm.sql_stores().items()):
        for name, table in sorted(store.tables.items()):
            is_subject = store_name == dm.subject.store and name == dm.subject.table
            if table.action in (None, "keep") or not (table.link or is_subject):
                continue
            cats = sorted({c for c in table.pi.values() if c not in EXCLUDED_CATEGORIES})
            out.append(ExportedTable(store_name, name, tuple(cats)))
    return out


def collect(
    dm: DataMap, ids: SubjectIds, sql_engines: Mapping[str, Engine] | None = None
) -> list[TableExport]:
    """Every SQL table's rows that link to the subject (tables the map keeps as reference data
    are skipped), in store and table order."""
    out: list[TableExport] = []
    for store_name, store in sorted(dm.sql_stores().items()):
        conn = SqlConnector(store_name, store, dm.subject, (sql_engines or {}).get(store_name))
        try:
            for name in sorted(store.tables):
                entry = store.tables[name]
                is_subject = conn.subject is not None and name == conn.subject.table
                if entry.action in (None, "keep") or not (entry.link or is_subject):
                    continue
                t = conn.table(name)
                columns = [c for c in t.columns if entry.pi.get(c.name) not in EXCLUDED_CATEGORIES]
                labelled = {c.name: entry.pi[c.name] for c in columns if c.name in entry.pi}
                with conn.engine.connect() as db:
                    rows = db.execute(select(*columns).where(conn.rows_of(name, ids))).all()
                out.append(
                    TableExport(
                        store=store_name,
                        table=name,
                        action=entry.action,
                        columns=tuple(c.name for c in columns),
                        categories=labelled,
                        rows=tuple(tuple(r) for r in rows),
                    )
                )
        finally:
            conn.close()
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _manifest(platform: str, tables: Sequence[TableExport]) -> dict[str, Any]:
    def label(key: str) -> dict[str, str]:
        return {lang: gettext(lang, key) for lang in LANGUAGES}

    return {
        "platform": platform,
        "format": "one JSON and one CSV file per table; categories from the data map",
        "tables": [
            {
                "file": f"{t.store}/{t.table}",
                "rows": len(t.rows),
                "on_cancellation": t.action,
                "columns": [
                    {
                        "name": c,
                        "category": t.categories.get(c),
                        "label": label(f"privacy.pi.{t.categories[c]}")
                        if c in t.categories
                        else None,
                    }
                    for c in t.columns
                ],
            }
            for t in tables
        ],
    }


def archive(platform: str, tables: Sequence[TableExport]) -> bytes:
    """The zip: ``manifest.json`` and, per table, ``<store>/<table>.json`` and ``.csv``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        manifest = _manifest(platform, tables)
        zf.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        for t in tables:
            records = [
                {c: _plain(v) for c, v in zip(t.columns, row, strict=True)} for row in t.rows
            ]
            body = {"table": t.table, "categories": dict(t.categories), "rows": records}
            zf.writestr(f"{t.store}/{t.table}.json", json.dumps(body, ensure_ascii=False, indent=2))
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(t.columns)
            writer.writerow([t.categories.get(c, "") for c in t.columns])
            writer.writerows([[_plain(v) for v in row] for row in t.rows])
            # A byte-order mark so spreadsheet programs read the Chinese text as UTF-8.
            zf.writestr(f"{t.store}/{t.table}.csv", "\ufeff" + text.getvalue())
    return buffer.getvalue()
