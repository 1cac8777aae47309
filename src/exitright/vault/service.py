"""The vault's use cases: keep retained rows, let an operator read them with a reason, purge.

Writes are idempotent per (plan, store, table, row key), which makes the move of a row out of a
platform store safe without a transaction spanning both databases: write here and commit, then
delete or blank at the source, then mark the step done; a rerun finds the record and goes on.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Engine, Table, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from exitright.clock import Clock
from exitright.errors import ErrorCode, ExitRightError
from exitright.vault.crypto import KeyWrapper, new_data_key, open_sealed, seal
from exitright.vault.models import VaultAccess, VaultKey, VaultRecord
from exitright.vault.purge import BATCH_KEYS, PurgeBatch, PurgeResult, expired, purge_expired

MIN_REASON = 10
MAX_CACHED_KEYS = 4096  # unwrapped data keys kept between puts (a worker sees many subjects)
_RECORDS = cast(Table, VaultRecord.__table__)
_KEYS = cast(Table, VaultKey.__table__)
# Built once: the statements every put runs (Core, not the ORM's bulk path).
_STORED = select(_RECORDS.c.store, _RECORDS.c.table_name, _RECORDS.c.row_key).where(
    _RECORDS.c.plan_id == bindparam("plan"),
    _RECORDS.c.table_name.in_(bindparam("tables", expanding=True)),
    _RECORDS.c.row_key.in_(bindparam("keys", expanding=True)),
)
_FIND_KEYS = select(
    _KEYS.c.id, _KEYS.c.subject_pseudonym, _KEYS.c.retain_until, _KEYS.c.wrapped_key
).where(
    _KEYS.c.subject_pseudonym.in_(bindparam("subjects", expanding=True)),
    _KEYS.c.retain_until.in_(bindparam("untils", expanding=True)),
)
_NEW_KEYS = insert(_KEYS).returning(_KEYS.c.id, _KEYS.c.subject_pseudonym, _KEYS.c.retain_until)
_NEW_RECORDS = insert(_RECORDS)


@dataclass(frozen=True)
class RetainedRow:
    """One row (or part of a row) to keep: its key at the source, its expiry, its values."""

    row_key: str
    retain_until: date
    values: dict[str, Any]


@dataclass(frozen=True)
class RetainedBatch:
    """Rows of one source table to keep under one legal basis (``VaultService.put_many``)."""

    store: str
    table: str
    basis: str
    rows: Sequence[RetainedRow]


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
        batch = RetainedBatch(store, table, basis, rows)
        return self.put_many(plan_id=plan_id, subject=subject, batches=[batch])[(store, table)]

    def put_many(
        self,
        *,
        plan_id: str,
        subject: str,
        batches: Sequence[RetainedBatch],
        session: Session | None = None,
        new_plan: bool = False,
    ) -> dict[tuple[str, str], int]:
        """:meth:`put` for several tables in one transaction (one commit); new rows per table.

        The erasure of a small subject keeps rows of several tables at once: one commit and one
        look-up of the subject's data keys instead of one per table. With ``session`` the rows
        join that session's transaction and the caller commits (the erasure writes them with its
        plan, before anything is touched); ``new_plan`` says that plan is written in it too, so
        nothing of it can be stored yet.
        """
        if session is not None:
            return self.put_plans(session, [(plan_id, subject, batches)], new_plan=new_plan)[0]
        with Session(self._engine) as own, own.begin():
            out, keys = self._put(own, [(plan_id, subject, batches)], new_plan)
        self._remember(keys)
        return out[0]

    def put_plans(
        self,
        session: Session,
        plans: Sequence[tuple[str, str, Sequence[RetainedBatch]]],
        *,
        new_plan: bool = False,
    ) -> list[dict[tuple[str, str], int]]:
        """:meth:`put_many` of several plans (plan id, subject, batches) in ``session``'s
        transaction, with one look-up of all their subjects' data keys; new rows per plan."""
        return self._put(session, plans, new_plan)[0]

    def _remember(self, keys: dict[tuple[str, date], tuple[int, bytes]]) -> None:
        if len(self._keys) + len(keys) > MAX_CACHED_KEYS:
            self._keys.clear()
        self._keys.update(keys)

    def _put(
        self,
        session: Session,
        plans: Sequence[tuple[str, str, Sequence[RetainedBatch]]],
        new_plan: bool = False,
    ) -> tuple[list[dict[tuple[str, str], int]], dict[tuple[str, date], tuple[int, bytes]]]:
        """Write the new rows in ``session``; count them per plan; return the keys used."""
        outs: list[dict[tuple[str, str], int]] = []
        new: list[tuple[str, str, RetainedBatch, RetainedRow]] = []
        for plan_id, subject, batches in plans:
            out = {(b.store, b.table): 0 for b in batches}
            outs.append(out)
            if not any(b.rows for b in batches):
                continue
            # One look-up of what this plan already stored, for every table at once.
            existing: set[tuple[str, str, str]] = set()
            if not new_plan:
                params = {
                    "plan": plan_id,
                    "tables": sorted({b.table for b in batches}),
                    "keys": sorted({r.row_key for b in batches for r in b.rows}),
                }
                found = session.execute(_STORED, params)
                existing = {(str(st), str(t), str(k)) for st, t, k in found}
            for b in batches:
                fresh = [r for r in b.rows if (b.store, b.table, r.row_key) not in existing]
                new += [(plan_id, subject, b, r) for r in fresh]
                out[(b.store, b.table)] += len(fresh)
        if not new:
            return outs, {}
        keys = self._data_keys(session, {(subject, r.retain_until) for _p, subject, _b, r in new})
        now = self._clock.now()
        records: list[dict[str, Any]] = []
        for plan_id, subject, b, r in new:
            kid, dk = keys[(subject, r.retain_until)]
            plaintext = json.dumps(r.values, default=_jsonable, ensure_ascii=False).encode()
            context = _record_context(subject, b.store, b.table, r.row_key)
            nonce, ct = seal(dk, plaintext, context)
            records.append(
                {
                    "key_id": kid,
                    "plan_id": plan_id,
                    "subject_pseudonym": subject,
                    "store": b.store,
                    "table_name": b.table,
                    "row_key": r.row_key,
                    "legal_basis": b.basis,
                    "retain_until": r.retain_until,
                    "nonce": nonce,
                    "ciphertext": ct,
                    "created_at": now,
                }
            )
        session.connection().execute(_NEW_RECORDS, records)
        return outs, keys

    def _data_keys(
        self, session: Session, wanted: set[tuple[str, date]]
    ) -> dict[tuple[str, date], tuple[int, bytes]]:
        """The data keys of these (subject, expiry date) pairs: cached, then one look-up, then
        new ones in one statement."""
        out = {w: self._keys[w] for w in wanted if w in self._keys}
        missing = wanted - set(out)
        if missing:
            params = {
                "subjects": sorted({s for s, _u in missing}),
                "untils": sorted({u for _s, u in missing}),
            }
            for kid, subject, until, wrapped in session.connection().execute(_FIND_KEYS, params):
                if (subject, until) in missing:
                    ctx = _key_context(subject, until)
                    out[(subject, until)] = (kid, self._wrapper.unwrap(wrapped, ctx))
        absent = sorted(wanted - set(out))
        if absent:
            plain = {w: new_data_key() for w in absent}
            rows = [
                {
                    "subject_pseudonym": subject,
                    "retain_until": until,
                    "wrapped_key": self._wrapper.wrap(dk, _key_context(subject, until)),
                    "master_key_id": self._wrapper.key_id,
                    "created_at": self._clock.now(),
                }
                for (subject, until), dk in plain.items()
            ]
            try:
                with session.begin_nested():
                    made = session.connection().execute(_NEW_KEYS, rows).all()
                out.update({(s, u): (kid, plain[(s, u)]) for kid, s, u in made})
            except IntegrityError:  # another worker made one of them meanwhile: one at a time
                for subject, until in absent:
                    out[(subject, until)] = self._data_key(session, subject, until)
        return out

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

    def purge(
        self,
        *,
        today: date,
        dry_run: bool = False,
        batch: int = BATCH_KEYS,
        on_batch: Callable[[PurgeBatch], None] | None = None,
    ) -> PurgeResult:
        """Destroy every key (and its records) whose expiry date has passed: crypto-shredding.

        In batches of ``batch`` keys, each its own ledgered transaction (``vault/purge.py``):
        safe to interrupt and to run from several processes at once.
        """
        if dry_run:
            return expired(self._engine, today)
        result = purge_expired(self._engine, self._clock, today, batch=batch, on_batch=on_batch)
        # Purged keys must not be found in the cache again (their expiry is before today).
        self._keys = {k: v for k, v in self._keys.items() if k[1] >= today}
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
