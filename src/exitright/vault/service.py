"""The vault's use cases: keep retained rows, let an operator read them with a reason, purge.

Writes are idempotent per (plan, store, table, row key), which makes the move of a row out of a
platform store safe without a transaction spanning both databases: write here and commit, then
delete or blank at the source, then mark the step done; a rerun finds the record and goes on.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exitright.clock import Clock
from exitright.errors import ErrorCode, ExitRightError
from exitright.vault.crypto import KeyWrapper, new_data_key, open_sealed, seal
from exitright.vault.models import VaultAccess, VaultKey, VaultRecord

MIN_REASON = 10


@dataclass(frozen=True)
class RetainedRow:
    """One row (or part of a row) to keep: its key at the source, its expiry, its values."""

    row_key: str
    retain_until: date
    values: dict[str, Any]


@dataclass(frozen=True)
class PurgeResult:
    """What a purge destroyed (or would destroy, on a dry run)."""

    records: int
    keys: int
    subjects: int


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return {"base64": base64.b64encode(bytes(value)).decode()}
    raise TypeError(type(value).__name__)


def _record_context(subject: str, store: str, table: str, row_key: str) -> bytes:
    return f"vault-record\x00{subject}\x00{store}\x00{table}\x00{row_key}".encode()


def _key_context(subject: str, retain_until: date) -> bytes:
    return f"vault-key\x00{subject}\x00{retain_until.isoformat()}".encode()


class VaultService:
    """The retention vault in the engine database."""

    def __init__(self, engine: Engine, wrapper: KeyWrapper, clock: Clock) -> None:
        self._engine = engine
        self._wrapper = wrapper
        self._clock = clock
        self._keys: dict[tuple[str, date], tuple[int, bytes]] = {}

    def _data_key(self, session: Session, subject: str, until: date) -> tuple[int, bytes]:
        cached = self._keys.get((subject, until))
        if cached:
            return cached
        stmt = select(VaultKey).where(
            VaultKey.subject_pseudonym == subject, VaultKey.retain_until == until
        )
        row = session.scalars(stmt).one_or_none()
        if row is None:
            dk = new_data_key()
            row = VaultKey(
                subject_pseudonym=subject,
                retain_until=until,
                wrapped_key=self._wrapper.wrap(dk, _key_context(subject, until)),
                master_key_id=self._wrapper.key_id,
                created_at=self._clock.now(),
            )
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:  # another worker created it between our look-up and insert
                row = session.scalars(stmt).one()
        # Cached by the caller once committed: a rolled-back key must not be reused.
        return row.id, self._wrapper.unwrap(row.wrapped_key, _key_context(subject, until))

    def put(
        self,
        *,
        plan_id: str,
        subject: str,
        store: str,
        table: str,
        basis: str,
        rows: Sequence[RetainedRow],
    ) -> int:
        """Encrypt and store the ``rows`` this plan has not stored yet; commit; count the new."""
        if not rows:
            return 0
        with Session(self._engine) as session, session.begin():
            existing = set(
                session.scalars(
                    select(VaultRecord.row_key).where(
                        VaultRecord.plan_id == plan_id,
                        VaultRecord.store == store,
                        VaultRecord.table_name == table,
                        VaultRecord.row_key.in_([r.row_key for r in rows]),
                    )
                )
            )
            now = self._clock.now()
            new = [r for r in rows if r.row_key not in existing]
            keys = {u: self._data_key(session, subject, u) for u in {r.retain_until for r in new}}
            records: list[dict[str, Any]] = []
            for r in new:
                kid, dk = keys[r.retain_until]
                plaintext = json.dumps(r.values, default=_jsonable, ensure_ascii=False).encode()
                nonce, ct = seal(dk, plaintext, _record_context(subject, store, table, r.row_key))
                records.append(
                    {
                        "key_id": kid,
                        "plan_id": plan_id,
                        "subject_pseudonym": subject,
                        "store": store,
                        "table_name": table,
                        "row_key": r.row_key,
                        "legal_basis": basis,
                        "retain_until": r.retain_until,
                        "nonce": nonce,
                        "ciphertext": ct,
                        "created_at": now,
                    }
                )
            if records:
                session.execute(insert(VaultRecord), records)
        self._keys.update({(subject, u): v for u, v in keys.items()})
        return len(new)

    def count(self, *, plan_id: str, store: str, table: str) -> int:
        """How many records a plan stored for one table."""
        with Session(self._engine) as session:
            return int(
                session.scalar(
                    select(func.count()).where(
                        VaultRecord.plan_id == plan_id,
                        VaultRecord.store == store,
                        VaultRecord.table_name == table,
                    )
                )
                or 0
            )

    def read(self, *, subject: str, operator: str, reason: str) -> list[dict[str, Any]]:
        """Decrypt a subject's records for an operator; the read and its reason are logged first."""
        if len(reason.strip()) < MIN_REASON or not operator.strip():
            raise ExitRightError(
                ErrorCode.INVALID_REQUEST,
                message_id="vault.reason_required",
                params={"min": MIN_REASON},
            )
        with Session(self._engine) as session, session.begin():
            records = list(
                session.scalars(
                    select(VaultRecord)
                    .where(VaultRecord.subject_pseudonym == subject)
                    .order_by(VaultRecord.id)
                )
            )
            session.add(
                VaultAccess(
                    at=self._clock.now(),
                    operator=operator,
                    reason=reason,
                    subject_pseudonym=subject,
                    records=len(records),
                )
            )
            out: list[dict[str, Any]] = []
            for rec in records:
                _, dk = self._data_key(session, subject, rec.retain_until)
                ctx = _record_context(subject, rec.store, rec.table_name, rec.row_key)
                values = json.loads(open_sealed(dk, rec.nonce, rec.ciphertext, ctx))
                out.append(
                    {
                        "store": rec.store,
                        "table": rec.table_name,
                        "row_key": rec.row_key,
                        "legal_basis": rec.legal_basis,
                        "retain_until": rec.retain_until.isoformat(),
                        "values": values,
                    }
                )
            return out

    def purge(self, *, today: date, dry_run: bool = False) -> PurgeResult:
        """Destroy every key (and its records) whose expiry date has passed: crypto-shredding."""
        with Session(self._engine) as session, session.begin():
            expired = list(session.scalars(select(VaultKey).where(VaultKey.retain_until < today)))
            ids = [k.id for k in expired]
            records = (
                int(session.scalar(select(func.count()).where(VaultRecord.key_id.in_(ids))) or 0)
                if ids
                else 0
            )
            result = PurgeResult(records, len(ids), len({k.subject_pseudonym for k in expired}))
            if dry_run or not ids:
                return result
            for chunk in _chunks(ids, 500):
                session.execute(delete(VaultRecord).where(VaultRecord.key_id.in_(chunk)))
                session.execute(delete(VaultKey).where(VaultKey.id.in_(chunk)))
            self._keys = {k: v for k, v in self._keys.items() if v[0] not in set(ids)}
            return result

    def stats(self) -> list[tuple[str, str, int, int]]:
        """(legal basis, expiry month, records, subjects) — counts only, never contents."""
        month = func.substr(func.cast(VaultRecord.retain_until, _text()), 1, 7)
        with Session(self._engine) as session:
            rows = session.execute(
                select(
                    VaultRecord.legal_basis,
                    month,
                    func.count(),
                    func.count(func.distinct(VaultRecord.subject_pseudonym)),
                )
                .group_by(VaultRecord.legal_basis, month)
                .order_by(VaultRecord.legal_basis, month)
            ).all()
        return [(str(b), str(m), int(n), int(s)) for b, m, n, s in rows]


def _text() -> Any:
    from sqlalchemy import String

    return String(10)


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
