"""Finding the account an identifier is registered to: the port, and an adapter on a SQL table.

The identity service asks the platform's directory which account (if any) registered a phone
number or e-mail address, which factors it registered, and when it last proved control of each
(the recycled-number guard compares that with the day the number changed hands). After a code
opens an account, the service tells the directory (:meth:`AccountDirectory.record_proof`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Engine, Table, func, or_, select, update

from exitright.identity.identifiers import Identifier
from exitright.identity.otp import Factor

__all__ = ["Account", "AccountDirectory", "SqlAccountDirectory"]


@dataclass(frozen=True)
class Account:
    """An account as the identity service sees it: an opaque reference and its factors.

    ``ref`` is the platform's own id for the account (``user:42``), never a phone or e-mail;
    ``last_verified_at`` says when the account last proved control of each factor.
    """

    ref: str
    factors: frozenset[Factor]
    last_verified_at: Mapping[Factor, datetime] = field(default_factory=dict)


class AccountDirectory(Protocol):
    """The platform's accounts, seen through their registered phone numbers and e-mails."""

    def find(self, identifier: Identifier) -> Account | None:
        """The account registered with ``identifier``, or None."""
        ...

    def get(self, ref: str) -> Account | None:
        """The account ``ref``, or None if it no longer exists."""
        ...

    def record_proof(self, ref: str, factor: Factor, at: datetime) -> None:
        """Remember that account ``ref`` proved control of ``factor`` at ``at``."""
        ...


def _aware(value: datetime | None) -> datetime | None:
    # Platforms often store naive UTC (the demo does).
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class SqlAccountDirectory:
    """A directory over one users table of a platform (the demo's ``users`` by default names).

    Phones may be stored as the bare 11 digits or in E.164; e-mails are compared lowercased.
    ``verified_at_column`` (e.g. ``last_login_at``) is when the account last signed in with a
    factor, falling back to ``created_at_column``; a successful code updates it.
    """

    def __init__(
        self,
        engine: Engine,
        table: Table,
        *,
        id_column: str = "id",
        phone_column: str | None = "phone",
        email_column: str | None = "email",
        verified_at_column: str | None = "last_login_at",
        created_at_column: str = "created_at",
        ref_prefix: str = "user:",
    ) -> None:
        self.engine = engine
        self.table = table
        self.id_column = id_column
        self.phone_column = phone_column
        self.email_column = email_column
        self.verified_at_column = verified_at_column
        self.created_at_column = created_at_column
        self.ref_prefix = ref_prefix

    def _account(self, row: Any) -> Account:
        data = row._mapping
        factors = set()
        if self.phone_column and data[self.phone_column]:
            factors.add(Factor.PHONE)
        if self.email_column and data[self.email_column]:
            factors.add(Factor.EMAIL)
        verified = _aware(data[self.verified_at_column]) if self.verified_at_column else None
        since = verified or _aware(data[self.created_at_column]) or datetime.min.replace(tzinfo=UTC)
        return Account(
            ref=f"{self.ref_prefix}{data[self.id_column]}",
            factors=frozenset(factors),
            last_verified_at=dict.fromkeys(factors, since),
        )

    def find(self, identifier: Identifier) -> Account | None:
        """The account with this phone (bare or E.164) or e-mail (case-insensitive)."""
        t = self.table
        if identifier.factor is Factor.PHONE:
            if not self.phone_column:
                return None
            col = t.c[self.phone_column]
            forms = [identifier.value]
            if identifier.national_mobile:
                forms.append(identifier.national_mobile)
            where = or_(*(col == f for f in forms))
        else:
            if not self.email_column:
                return None
            where = func.lower(t.c[self.email_column]) == identifier.value
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(where).limit(1)).first()
        return self._account(row) if row is not None else None

    def _id(self, ref: str) -> Any:
        if not ref.startswith(self.ref_prefix):
            return None
        raw = ref[len(self.ref_prefix) :]
        python_type = self.table.c[self.id_column].type.python_type
        try:
            return python_type(raw)
        except (TypeError, ValueError):
            return None

    def get(self, ref: str) -> Account | None:
        """The account ``ref`` (``user:<id>``), or None."""
        key = self._id(ref)
        if key is None:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(self.table).where(self.table.c[self.id_column] == key)
            ).first()
        return self._account(row) if row is not None else None

    def record_proof(self, ref: str, factor: Factor, at: datetime) -> None:
        """Set the verified-at column (naive UTC if the column is naive)."""
        key = self._id(ref)
        if key is None or not self.verified_at_column:
            return
        column = self.table.c[self.verified_at_column]
        timezone_aware = bool(getattr(column.type, "timezone", False))
        value = at if timezone_aware else at.astimezone(UTC).replace(tzinfo=None)
        with self.engine.begin() as conn:
            conn.execute(
                update(self.table)
                .where(self.table.c[self.id_column] == key)
                .values({self.verified_at_column: value})
            )
