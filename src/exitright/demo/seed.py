"""Seeding the demo platform: schema, rows, uploaded files and Redis keys.

The generator (:mod:`exitright.demo.generate`) yields users in batches; each batch is written in
one transaction with one ``executemany`` per table (see :mod:`exitright.demo.sink`), its files
under the uploads directory and its sessions and carts to Redis with one pipeline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.schema import CreateIndex, CreateTable

from exitright.demo.catalog import build_catalog
from exitright.demo.producer import generated_batches
from exitright.demo.schema import TABLE_NAMES, metadata, orders, users, wallets
from exitright.demo.sink import RowSink, prepare_rows
from exitright.demo.uploads import clear_uploads, write_uploads
from exitright.errors import ErrorCode, ExitRightError

if TYPE_CHECKING:
    import redis

__all__ = [
    "REDIS_PATTERNS",
    "SeedSummary",
    "create_schema",
    "demo_phones",
    "drop_platform",
    "is_seeded",
    "seed_platform",
]

# Users per batch, one transaction each: every executemany then gets a few thousand rows (2,000
# users, ~6,000 orders' items), which keeps the driver efficient and memory small.
BATCH_USERS: Final = 2000
SESSION_TTL_SECONDS: Final = 30 * 24 * 3600
# The Redis keys the demo platform writes (and that a reset removes).
REDIS_PATTERNS: Final = ("session:*", "cart:*")


@dataclass(frozen=True)
class SeedSummary:
    """What a seed wrote: rows per table, files, and Redis keys."""

    rows: Mapping[str, int] = field(default_factory=dict)
    files: int = 0
    redis_keys: int = 0

    @property
    def total_rows(self) -> int:
        """Rows over all tables."""
        return sum(self.rows.values())


def create_schema(engine: Engine) -> None:
    """Create the demo platform's tables and indexes where missing (repairs missing indexes)."""
    metadata.create_all(engine)
    _create_missing_indexes(engine)


def _create_missing_indexes(engine: Engine) -> None:
    # One connection for reading and writing: on SQLite every transaction takes the write lock
    # (see db/engine.py), so a second connection would wait for this one.
    with engine.begin() as conn:
        inspector = inspect(conn)
        for table in metadata.sorted_tables:
            existing = {ix["name"] for ix in inspector.get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in existing:
                    conn.execute(CreateIndex(index))


def _create_tables_without_indexes(engine: Engine) -> bool:
    """Create the tables but not their secondary indexes, if none exists yet; return whether it did.

    Building an index once over loaded rows is faster than maintaining it row by row during the
    load (a third of the SQLite load time at 100,000 users); :func:`create_schema` adds them after.
    """
    with engine.begin() as conn:
        if set(inspect(conn).get_table_names()) & set(TABLE_NAMES):
            return False
        for table in metadata.sorted_tables:
            conn.execute(CreateTable(table))
    return True


def is_seeded(engine: Engine) -> bool:
    """Whether the demo platform's users table exists and holds at least one user."""
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        if not inspect(conn).has_table(users.name):
            return False
        return conn.execute(select(users.c.id).limit(1)).first() is not None


def drop_platform(
    engine: Engine,
    *,
    uploads_dir: Path | None = None,
    redis_client: redis.Redis[Any] | None = None,
) -> None:
    """Remove the demo platform: its tables, its upload folders, and its users' Redis keys.

    Only the session and cart keys of this platform's users are deleted, so a Redis database
    shared with something else keeps the rest.
    """
    if redis_client is not None and inspect(engine).has_table(users.name):
        with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
            user_ids = {str(i) for i in conn.execute(select(users.c.id)).scalars()}
        _delete_user_keys(redis_client, user_ids)
    metadata.drop_all(engine)
    if uploads_dir is not None:
        clear_uploads(uploads_dir)


def _delete_user_keys(client: redis.Redis[Any], user_ids: set[str]) -> None:
    doomed: list[bytes | str] = []
    for pattern in REDIS_PATTERNS:
        for key in client.scan_iter(match=pattern, count=1000):
            name = key.decode() if isinstance(key, bytes) else str(key)
            if name.split(":")[1] in user_ids:
                doomed.append(key)
    for start in range(0, len(doomed), 1000):
        client.delete(*doomed[start : start + 1000])


def seed_platform(
    engine: Engine,
    *,
    users: int,
    seed: int = 0,
    uploads_dir: Path | None = None,
    redis_client: redis.Redis[Any] | None = None,
    progress: Callable[[int], None] | None = None,
) -> SeedSummary:
    """Create the schema and fill it with ``users`` users generated from ``seed``.

    ``progress`` is called after each committed batch with the number of users written so far.
    Raises ``ExitRightError(CONFLICT)`` when the platform already has users: reseeding over
    existing rows would collide on ids; drop it first (``drop_platform``).
    """
    if users < 1:
        raise ExitRightError(ErrorCode.INVALID_REQUEST, details={"users": "must be at least 1"})
    if is_seeded(engine):
        raise ExitRightError(ErrorCode.CONFLICT, details={"reason": "demo platform already seeded"})
    _create_tables_without_indexes(engine)
    sink = RowSink(engine)
    catalog = build_catalog(seed)
    counts: Counter[str] = Counter({name: len(rows) for name, rows in catalog.rows.items()})
    files = keys = done = 0
    with engine.connect() as conn:
        with conn.begin():
            sink.insert_all(conn, prepare_rows(sink.dialect_name, catalog.rows))
        for batch in generated_batches(seed, users, BATCH_USERS, sink.dialect_name):
            with conn.begin():
                sink.insert_all(conn, batch.rows)
            counts.update({name: len(rows) for name, rows in batch.rows.items()})
            # Written here, after the rows commit, not by a thread: file writes are many short
            # system calls, and a writer thread spent its time waiting for the GIL (measured:
            # slower than writing in line).
            if uploads_dir is not None:
                files += write_uploads(uploads_dir, batch.files)
            if redis_client is not None:
                keys += _write_redis(redis_client, batch.sessions, batch.carts)
            done += batch.users
            if progress is not None:
                progress(done)
        with conn.begin():
            sink.fix_sequences(conn)
    create_schema(engine)
    return SeedSummary(
        rows={name: counts[name] for name in TABLE_NAMES}, files=files, redis_keys=keys
    )


def _write_redis(
    client: redis.Redis[Any],
    sessions: list[tuple[str, dict[str, str]]],
    carts: list[tuple[str, dict[str, str]]],
) -> int:
    pipe = client.pipeline(transaction=False)
    for key, fields in sessions:
        pipe.hset(key, mapping=_fields(fields))
        pipe.expire(key, SESSION_TTL_SECONDS)
    for key, fields in carts:
        pipe.hset(key, mapping=_fields(fields))
    pipe.execute()
    return len(sessions) + len(carts)


def _fields(fields: dict[str, str]) -> dict[str | bytes, bytes | float | int | str]:
    return {name: value for name, value in fields.items()}  # the type redis-py declares


def demo_phones(engine: Engine, n: int = 3) -> list[str]:
    """Phone numbers of seeded users that make a good demo, best first.

    The user with the most orders, a real-name verified user with a few orders (ID photos and an
    ID number to erase), and the user with the largest wallet balance (a pre-check must stop their
    cancellation); beyond three, the earliest users with orders. Distinct, active users only.
    """
    order_count = func.count(orders.c.id)
    with_orders = (
        select(users.c.phone)
        .join(orders, orders.c.user_id == users.c.id)
        .where(users.c.status == "active")
        .group_by(users.c.id, users.c.phone)
    )
    showcases = [
        with_orders.order_by(order_count.desc(), users.c.id),
        with_orders.where(users.c.real_name_verified.is_(True))
        .having(order_count >= 3)
        .order_by(users.c.id),
        select(users.c.phone)
        .join(wallets, wallets.c.user_id == users.c.id)
        .where(wallets.c.balance_cents > 0, users.c.status == "active")
        .order_by(wallets.c.balance_cents.desc(), users.c.id),
    ]
    picked: list[str] = []
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        for query in showcases[:n]:
            # A few extra rows in case an earlier showcase already took the first one.
            for (phone,) in conn.execute(query.limit(len(picked) + 1)):
                if phone not in picked:
                    picked.append(phone)
                    break
        if len(picked) < n:
            for (phone,) in conn.execute(with_orders.order_by(users.c.id).limit(n + len(picked))):
                if phone not in picked and len(picked) < n:
                    picked.append(phone)
    return picked
