"""``correct``: the subject's new values for the columns the data map marks correctable.

A request names each field as ``platform.users.nickname`` (the account row) or
``platform.addresses:42.detail`` (one row of another table) and gives its new value. At
submission every value is checked for its column's personal-data category (a mobile number,
an e-mail address, a name, an address, profile text) and for the column's length; the values
are personal data, so the repository keeps them encrypted like the identifiers and drops them
when the request ends. Execution updates exactly those rows, in one store transaction: a row is
updated only if it is the subject's (found through the map's links), so a key that names
someone else's row changes nothing and is counted ``not_found``. The ledger gets counts only.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Final

from sqlalchemy import ColumnElement, Integer, and_, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from exitright.cancellation.errors import DomainError
from exitright.cancellation.model import RequestKind
from exitright.cancellation.ports import Identifiers, KindJob, KindOutcome, ScopeRejectedError
from exitright.connectors.base import SubjectIds
from exitright.connectors.sql import SqlConnector
from exitright.datamap.items import ItemRef, parse_ref
from exitright.datamap.model import DataMap, SqlStore
from exitright.erasure import service as erasure
from exitright.erasure.context import ErasureContext
from exitright.errors import ErrorCode
from exitright.pii.detect import normalize_phone

__all__ = [
    "FIELDS_CORRECTED",
    "MAX_FIELDS",
    "CorrectExecutor",
    "ValueRejectedError",
    "check_value",
    "correctable_fields",
]

FIELDS_CORRECTED: Final = "fields.corrected"
MAX_FIELDS: Final = 20
STORE_ERRORS = (SQLAlchemyError, OSError, ConnectionError)
_EMAIL: Final = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
# Longest value accepted per category, whatever the column allows.
_LIMITS: Final[Mapping[str, int]] = {
    "profile": 100,
    "identity.name": 50,
    "contact.email": 254,
    "contact.phone": 20,
    "location.address": 200,
    "free_text": 500,
}


class ValueRejectedError(DomainError):
    """A new value does not fit its field (its category or its length); the field is named,
    never the value."""

    code: ClassVar[ErrorCode] = ErrorCode.INVALID_REQUEST
    message_id: ClassVar[str] = "kinds.error.value"


def _printable(value: str) -> bool:
    return all(unicodedata.category(ch)[0] != "C" for ch in value)


def check_value(category: str, value: str) -> str | None:
    """``value`` as it will be stored (trimmed; a phone number in its 11-digit form), or None
    when it is not a valid value of ``category``."""
    text = value.strip()
    if not text or len(text) > _LIMITS.get(category, 100) or not _printable(text):
        return None
    if category == "contact.phone":
        return normalize_phone(text)
    if category == "contact.email":
        return text if _EMAIL.match(text) else None
    if category == "identity.name" and any(ch.isdigit() for ch in text):
        return None
    return text


def correctable_fields(dm: DataMap) -> list[tuple[str, str, str, str, bool]]:
    """Every correctable column: (store, table, column, category, is the account table)."""
    out: list[tuple[str, str, str, str, bool]] = []
    for store_name, store in dm.sql_stores().items():
        for name, table in store.tables.items():
            is_subject = store_name == dm.subject.store and name == dm.subject.table
            out += [(store_name, name, c, table.pi[c], is_subject) for c in table.correctable]
    return out


class CorrectExecutor:
    """The ``KindExecutor`` of ``correct``: check the new values, then update exactly the rows."""

    def __init__(self, ctx: ErasureContext, dm: DataMap) -> None:
        self.ctx = ctx
        self.dm = dm

    def _connector(self, store_name: str) -> SqlConnector:
        store = self.dm.sql_stores()[store_name]
        subject = self.dm.subject if store_name == self.dm.subject.store else None
        return SqlConnector(
            store_name, store, subject, self.ctx.engines(self.dm).get(store_name), self.ctx.schemas
        )

    def _field(self, text: str) -> tuple[ItemRef, str]:
        """The reference and the category of a field the map offers, else ScopeRejectedError."""
        ref = parse_ref(text)
        store = self.dm.sql_stores().get(ref.store) if ref is not None else None
        table = store.tables.get(ref.table) if store is not None and ref is not None else None
        if ref is None or table is None or ref.column not in table.correctable:
            raise ScopeRejectedError("not a field this platform offers", kind="correct")
        is_subject = ref.store == self.dm.subject.store and ref.table == self.dm.subject.table
        if is_subject == (ref.key is not None):
            raise ScopeRejectedError("a field of another table needs its row", kind="correct")
        return ref, table.pi[ref.column or ""]

    def check(
        self,
        kind: RequestKind,
        identifiers: Identifiers,
        scope: Sequence[str],
        values: Mapping[str, str],
    ) -> tuple[str, ...]:
        """The fields with new values, each valid for its category and column; the scope, when
        given, names exactly those fields."""
        if not values or len(values) > MAX_FIELDS:
            raise ScopeRejectedError("give between 1 and 20 new values", kind=kind.value)
        if scope and set(scope) != set(values):
            raise ScopeRejectedError("the scope must name the fields given", kind=kind.value)
        for text, value in values.items():
            ref, category = self._field(text)
            checked = check_value(category, value)
            if checked is None or checked != value or len(checked) > self._length(ref):
                # The pages and the API send values as stored (trimmed, normalized): anything
                # else is refused rather than silently changed.
                raise ValueRejectedError("the new value does not fit", field=str(ref))
        return tuple(sorted(values))

    def _length(self, ref: ItemRef) -> int:
        conn = self._connector(ref.store)
        try:
            length = getattr(conn.table(ref.table).c[ref.column or ""].type, "length", None)
        except (KeyError, SQLAlchemyError):
            return 0  # the column is not there: nothing can be stored in it
        finally:
            conn.close()
        return int(length) if length else 10_000

    def run(self, job: KindJob, worker: str) -> KindOutcome:
        """Update the subject's rows in one transaction per store (idempotent: same values)."""
        lookup = erasure.Lookup(job.identifiers.kind, job.identifiers.value)
        try:
            ids, found = erasure.resolve(self.ctx, self.dm, lookup)
            by_row: dict[ItemRef, dict[str, str]] = defaultdict(dict)
            for text in job.scope:
                ref, _category = self._field(text)
                if text in job.values:
                    by_row[ref.rows][ref.column or ""] = job.values[text]
            rows = 0
            not_found = 0
            for store_name in sorted({r.store for r in by_row}):
                mine = {r: v for r, v in by_row.items() if r.store == store_name}
                done = self._update(store_name, mine, ids) if found else 0
                rows += done
                not_found += len(mine) - done
        except ScopeRejectedError:
            # The map no longer offers a field of this open request: an operator decides.
            return KindOutcome("failed", failure="correct_failed:map_changed")
        except IntegrityError:
            # e.g. an e-mail address another account already uses: nothing was changed.
            return KindOutcome("failed", failure="correct_failed:conflict")
        except STORE_ERRORS as exc:
            # Driver messages can quote the statement's values: keep only the error's type.
            return KindOutcome("failed", failure=f"correct_failed:{type(exc).__name__}")
        counts = {"fields": len(job.scope), "rows": rows, "not_found": not_found}
        return KindOutcome("completed", counts, event=FIELDS_CORRECTED)

    def _update(
        self, store_name: str, rows: Mapping[ItemRef, Mapping[str, str]], ids: SubjectIds
    ) -> int:
        store: SqlStore = self.dm.sql_stores()[store_name]
        conn = self._connector(store_name)
        updated = 0
        try:
            with conn.engine.begin() as db:
                for ref, values in sorted(rows.items(), key=lambda kv: str(kv[0])):
                    cond = self._row(conn, store, ref, ids)
                    if cond is None:
                        continue
                    t = conn.table(ref.table)
                    result = db.execute(update(t).where(cond).values(**dict(values)))
                    updated += 1 if result.rowcount else 0
        finally:
            conn.close()
        return updated

    def _row(
        self, conn: SqlConnector, store: SqlStore, ref: ItemRef, ids: SubjectIds
    ) -> ColumnElement[bool] | None:
        """The condition naming exactly the subject's row ``ref`` (None: it cannot be)."""
        t = conn.table(ref.table)
        if ref.key is None:
            return conn.rows_of(ref.table, ids)  # the account row
        key = t.c[store.tables[ref.table].key or ""]
        wanted: Any = ref.key
        if isinstance(key.type, Integer):
            if not ref.key.isdigit():
                return None
            wanted = int(ref.key)
        return and_(key == wanted, conn.rows_of(ref.table, ids))
