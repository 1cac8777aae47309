"""The shapes the demo generator produces: rows, batches, and the fixed clock of its world."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from exitright.demo.regions import District

__all__ = [
    "PLATFORM_LAUNCH",
    "REFERENCE_NOW",
    "UPLOADS_PREFIX",
    "Batch",
    "Person",
    "Row",
    "format_address",
    "upload_path",
]

Row = tuple[Any, ...]

# "Now" for the generated world: fixed, so that a seed always yields the same platform. Orders
# span from the platform's launch to just before it, so some completed more than three years
# earlier (their retention period is over) and some are still open.
REFERENCE_NOW: Final = datetime(2026, 11, 1, 8, 0, 0)
PLATFORM_LAUNCH: Final = datetime(2018, 1, 1)

# Stored file paths start with this: they are relative to the parent of the uploads directory.
UPLOADS_PREFIX: Final = "uploads"


def upload_path(kind: str, user_id: int, filename: str) -> str:
    """The stored path of an uploaded file: ``uploads/<kind>/<user_id>/<filename>``.

    The user-scoped folder ``uploads/<kind>/<user_id>/`` is what an erasure removes.
    """
    return f"{UPLOADS_PREFIX}/{kind}/{user_id}/{filename}"


def format_address(d: District, detail: str) -> str:
    """An address on one line, as printed on a delivery slip (a municipality's name once)."""
    if d.province == d.city:
        return f"{d.city}{d.district}{detail}"
    return f"{d.province}{d.city}{d.district}{detail}"


@dataclass
class Batch:
    """The rows, files and Redis entries of a run of consecutive users."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    # Stored paths (see upload_path) of the files the rows refer to.
    files: list[str] = field(default_factory=list)
    # (key, hash fields) for Redis: ``session:{user_id}:{token}`` and ``cart:{user_id}``.
    sessions: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    carts: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    users: int = 0

    def add(self, table: str, row: Row) -> None:
        """Append one row to ``table``."""
        rows = self.rows.get(table)
        if rows is None:
            self.rows[table] = [row]
        else:
            rows.append(row)

    def row_count(self) -> int:
        """How many rows the batch holds over all tables."""
        return sum(len(rows) for rows in self.rows.values())


@dataclass
class Person:
    """What the generator knows about one account holder while it writes their rows."""

    user_id: int
    phone: str
    name: str
    email: str | None
    home: District
    home_address: str
    work: District
    work_address: str
    created: datetime
