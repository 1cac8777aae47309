"""What every store connector offers the erasure engine, and the values they exchange.

A connector finds the subject's rows (keys, files) from the identifiers of an open plan, erases
them step by step, and searches for what is left. Results carry locations and counts, never the
values found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from exitright.pii.detect import email_variants, id_number_variants, normalize_phone, phone_needles


@dataclass(frozen=True)
class SubjectIds:
    """The identifiers of the subject of an open plan (never persisted past completion)."""

    user_id: int | str | None = None
    phone: str | None = None
    email: str | None = None
    id_number: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> SubjectIds:
        """From the plan's ``identifiers`` column."""
        data = data or {}
        return cls(
            user_id=data.get("user_id"),
            phone=data.get("phone"),
            email=data.get("email"),
            id_number=data.get("id_number"),
        )

    def to_json(self) -> dict[str, Any]:
        """For the plan's ``identifiers`` column."""
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def get(self, kind: str) -> int | str | None:
        """The identifier of ``kind`` (user_id, phone, email, id_number), if known."""
        value: int | str | None = getattr(self, kind)
        return value

    def placeholder_values(self) -> dict[str, str]:
        """Values for ``{user_id}``-style placeholders in key and path patterns."""
        out: dict[str, str] = {}
        if self.user_id is not None:
            out["user_id"] = str(self.user_id)
        if self.phone:
            out["phone"] = normalize_phone(self.phone) or self.phone
        if self.email:
            out["email"] = self.email.lower()
        if self.id_number:
            out["id_number"] = self.id_number.upper()
        return out

    def needles(self) -> list[str]:
        """Substrings whose presence in text means an identifier is still there (lower-cased)."""
        found: list[str] = []
        if self.phone:
            found += phone_needles(self.phone)
        if self.email:
            found += [e.lower() for e in email_variants(self.email)]
        if self.id_number:
            found += [v.lower() for v in id_number_variants(self.id_number)]
        return sorted(set(found))


@dataclass(frozen=True)
class Hit:
    """Where an identifier was found after erasure: never the value itself."""

    store: str
    table: str
    column: str
    row_key: str

    def to_json(self) -> dict[str, str]:
        """For the residual step's result."""
        return {
            "store": self.store,
            "table": self.table,
            "column": self.column,
            "row_key": self.row_key,
        }


class Connector(Protocol):
    """The operations the executor needs from a store."""

    name: str

    def residual(self, ids: SubjectIds) -> list[Hit]:
        """Locations where the subject's identifiers remain."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
