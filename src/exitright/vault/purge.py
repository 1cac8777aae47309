"""Purging the vault at expiry in bounded batches: crypto-shredding a million records at a time.

Each batch is its own transaction: take up to ``batch`` expired keys (oldest id first), delete
their records, delete the keys, and append one ``vault.purged`` ledger entry with the batch's
counts (no pseudonyms, no dates of single subjects). So a purge

* never holds a lock for longer than one batch: new vault writes (other keys, later dates) go
  on meanwhile;
* can be killed at any moment: what committed is gone, the batch in flight rolls back whole,
  and the next run starts where this one stopped;
* can run from several workers at once on PostgreSQL: keys are taken ``FOR UPDATE SKIP
  LOCKED``, so two purgers never wait for or delete each other's batch (on SQLite the database's
  write lock serializes them, which is just as safe).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final, cast

from sqlalchemy import Engine, Table, delete, func, select

from exitright.clock import Clock
from exitright.ledger import service as ledger
from exitright.vault.models import VaultKey, VaultRecord

__all__ = ["BATCH_KEYS", "PurgeBatch", "PurgeResult", "expired", "purge_batch", "purge_expired"]

# Keys per batch: with a handful of records per key, a few seconds' work and a few tens of
# thousands of rows per transaction on PostgreSQL (bench/vault_purge.py).
BATCH_KEYS: Final = 2000

_KEYS = cast(Table, VaultKey.__table__)
_RECORDS = cast(Table, VaultRecord.__table__)


@dataclass(frozen=True)
class PurgeResult:
    """What a purge destroyed (or would destroy, on a dry run)."""

    records: int
    keys: int
    subjects: int


@dataclass(frozen=True)
class PurgeBatch:
    """One committed batch: how much it destroyed, and of which subjects (pseudonyms, in memory)."""

    records: int
    keys: int
    subjects: frozenset[str]


def expired(engine: Engine, today: date) -> PurgeResult:
    """What is due: records, keys and subjects whose keys expired before ``today``."""
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        keys, subjects = conn.execute(
            select(func.count(), func.count(func.distinct(_KEYS.c.subject_pseudonym))).where(
                _KEYS.c.retain_until < today
            )
        ).one()
        records = conn.execute(
            select(func.count())
            .select_from(_RECORDS.join(_KEYS, _RECORDS.c.key_id == _KEYS.c.id))
            .where(_KEYS.c.retain_until < today)
        ).scalar_one()
    return PurgeResult(int(records), int(keys), int(subjects))


def purge_batch(
    engine: Engine, clock: Clock, today: date, *, batch: int = BATCH_KEYS
) -> PurgeBatch:
    """Destroy up to ``batch`` expired keys and their records in one transaction (ledgered)."""
    query = (
        select(_KEYS.c.id, _KEYS.c.subject_pseudonym)
        .where(_KEYS.c.retain_until < today)
        .order_by(_KEYS.c.id)
        .limit(batch)
    )
    if engine.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    with engine.begin() as conn:
        rows = conn.execute(query).all()
        if not rows:
            return PurgeBatch(0, 0, frozenset())
        ids: Sequence[int] = [int(r[0]) for r in rows]
        records = conn.execute(delete(_RECORDS).where(_RECORDS.c.key_id.in_(ids))).rowcount
        conn.execute(delete(_KEYS).where(_KEYS.c.id.in_(ids)))
        subjects = frozenset(str(r[1]) for r in rows)
        # Last, so the ledger's lock (one writer at a time) is held only until the commit.
        ledger.append(
            conn,
            clock,
            "vault.purged",
            data={"records": int(records), "keys": len(ids), "subjects": len(subjects)},
        )
    return PurgeBatch(int(records), len(ids), subjects)


def purge_expired(
    engine: Engine,
    clock: Clock,
    today: date,
    *,
    batch: int = BATCH_KEYS,
    on_batch: Callable[[PurgeBatch], None] | None = None,
) -> PurgeResult:
    """Purge batch after batch until nothing expired is left (that no other purger holds)."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    records = keys = 0
    subjects: set[str] = set()
    while True:
        done = purge_batch(engine, clock, today, batch=batch)
        if not done.keys:
            return PurgeResult(records, keys, len(subjects))
        records += done.records
        keys += done.keys
        subjects |= done.subjects
        if on_batch is not None:
            on_batch(done)
