"""Appending to and reading the ledger in the engine database.

``append`` runs inside the caller's transaction, so an event and the state change it records
commit together or not at all. One total order with no gap and no fork, whatever the number of
writers: on PostgreSQL a transaction-scoped advisory lock serializes appends (sequence = head + 1,
and a rolled-back append leaves no gap because the sequence is not a database sequence); on
SQLite every write transaction already holds the database's write lock (``BEGIN IMMEDIATE``, see
``db/engine.py``). The primary key on ``seq`` and the unique ``hash`` reject a fork even if
that ever failed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, func, insert, select, text

from exitright.clock import Clock
from exitright.ledger.chain import GENESIS, Checkpoint, Entry, JsonValue, Verdict, seal, verify
from exitright.ledger.models import LedgerEntry
from exitright.pii.detect import kinds

_TABLE = cast(Table, LedgerEntry.__table__)
# pg_advisory_xact_lock key: "EXITLEDG" as a 64-bit integer, unlikely to collide with others.
_LOCK_KEY = int.from_bytes(b"EXITLEDG", "big") & 0x7FFF_FFFF_FFFF_FFFF


class PersonalDataInLedgerError(ValueError):
    """An event would have written something that looks like personal data into the ledger."""


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_value(value: JsonValue, where: str) -> None:
    """Only JSON that round-trips exactly through every database, and no personal data."""
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return
    if isinstance(value, str):
        found = kinds(value) - {"name"}  # short CJK words look like names; ids never do
        if found:
            raise PersonalDataInLedgerError(
                f"{where} looks like personal data ({', '.join(sorted(found))})"
            )
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where}: keys must be strings")
            _check_value(key, f"{where} key")
            _check_value(item, f"{where}.{key}")
        return
    # Floats are refused because their text form may change across drivers and break the hash.
    raise TypeError(f"{where}: {type(value).__name__} is not allowed in ledger data")


def append(
    conn: Connection,
    clock: Clock,
    event: str,
    *,
    request_id: str | None = None,
    subject: str | None = None,
    data: Mapping[str, JsonValue] | None = None,
) -> Entry:
    """Append one event inside the caller's transaction and return it, sealed."""
    payload = dict(data or {})
    _check_value({"event": event, "request_id": request_id, "subject": subject}, "entry")
    _check_value(payload, "data")
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    query = select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1)
    if conn.dialect.name in ("mysql", "mariadb"):
        query = query.with_for_update()
    head = conn.execute(query).first()
    entry = seal(
        Entry(
            seq=(head.seq + 1) if head else 1,
            at=_timestamp(clock.now()),
            event=event,
            request_id=request_id,
            subject=subject,
            data=payload,
            prev_hash=head.hash if head else GENESIS,
        )
    )
    conn.execute(insert(_TABLE).values(**_row(entry)))
    return entry


def _row(entry: Entry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at,
        "event": entry.event,
        "request_id": entry.request_id,
        "subject": entry.subject,
        "data": dict(entry.data),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def entries(conn: Connection, *, after: int = 0, batch: int = 5000) -> Iterator[Entry]:
    """Every entry in sequence order, read in bounded batches (keyset pagination)."""
    last = after
    while True:
        rows = conn.execute(
            select(_TABLE).where(_TABLE.c.seq > last).order_by(_TABLE.c.seq).limit(batch)
        ).all()
        for row in rows:
            yield Entry(
                seq=row.seq,
                at=row.at,
                event=row.event,
                request_id=row.request_id,
                subject=row.subject,
                data=row.data or {},
                prev_hash=row.prev_hash,
                hash=row.hash,
            )
        if len(rows) < batch:
            return
        last = rows[-1].seq


def for_request(conn: Connection, request_id: str) -> list[Entry]:
    """The entries of one request, in order (for a timeline or a certificate)."""
    rows = conn.execute(
        select(_TABLE).where(_TABLE.c.request_id == request_id).order_by(_TABLE.c.seq)
    ).all()
    return [
        Entry(r.seq, r.at, r.event, r.request_id, r.subject, r.data or {}, r.prev_hash, r.hash)
        for r in rows
    ]


def head(conn: Connection) -> Checkpoint | None:
    """The newest entry's sequence and hash, to publish as a checkpoint."""
    row = conn.execute(
        select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1)
    ).first()
    return Checkpoint(row.seq, row.hash) if row else None


def count(conn: Connection) -> int:
    """How many entries the ledger holds."""
    return int(conn.execute(select(func.count()).select_from(_TABLE)).scalar_one())


def verify_ledger(engine: Engine, checkpoint: Checkpoint | None = None) -> Verdict:
    """Recompute the whole chain from the database (in one read snapshot where supported)."""
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        return verify(entries(conn), checkpoint)
