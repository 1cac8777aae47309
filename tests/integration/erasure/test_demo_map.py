"""The shipped demo map erases a subject completely, on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from exitright.connectors.sql_engine import store_engine
from exitright.erasure.maintenance import pending, run_maintenance
from exitright.erasure.models import ErasurePlan, ErasureStep
from exitright.erasure.service import Lookup, dry_run, erase_subject
from tests import servers
from tests.integration.erasure.helpers import (
    SQL_BACKENDS,
    checksum_of_subject,
    context,
    demo_map,
    seed,
    subject_ids,
    user_ids,
)


@pytest.fixture(params=SQL_BACKENDS)
def platform_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty platform database on each SQL backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'platform.db'}"
    elif request.param == "postgres":
        with servers.postgres_database() as url:
            yield url
    else:
        with servers.mariadb_database() as url:
            yield url


def test_every_user_of_the_demo_platform_is_erased_without_residue(
    platform_url: str, tmp_path: Path
) -> None:
    """Each erasure completes without residue and leaves other users' rows unchanged."""
    uploads = tmp_path / "uploads"
    seed(platform_url, uploads, users=12)
    dm = demo_map(platform_url, uploads)
    engine = store_engine(platform_url)
    try:
        ids = user_ids(engine)
        last = subject_ids(dm, engine, ids[-1])
        before = checksum_of_subject(dm, engine, last)
        with context(tmp_path, sql_engines={"platform": engine}) as ctx:
            for uid in ids[:-1]:
                summary = erase_subject(ctx, dm, Lookup("user_id", str(uid)))
                assert summary.status == "completed", (uid, summary.failed_step, summary.hits)
            report = run_maintenance(ctx, dm)
            if not platform_url.startswith("sqlite"):
                assert "orders" in report["platform"]  # VACUUM / OPTIMIZE ran on what changed
            assert pending(ctx, dm)[1] == []
            with ctx.engine.connect() as conn:
                assert (
                    conn.scalar(select(func.count()).where(ErasurePlan.identifiers.is_not(None)))
                    == 0
                )
                assert conn.scalar(select(func.count()).where(ErasureStep.status != "done")) == 0
        assert checksum_of_subject(dm, engine, last) == before
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT COUNT(*) FROM users")) == 1
            assert (
                conn.scalar(text("SELECT COUNT(*) FROM orders WHERE user_id <> :u"), {"u": ids[-1]})
                == 0
            )
        assert not (uploads / "idcards" / str(ids[0])).exists()
    finally:
        engine.dispose()


def test_dry_run_counts_rows_and_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    seed(url, tmp_path / "uploads", users=5)
    dm = demo_map(url, tmp_path / "uploads")
    engine = store_engine(url)
    try:
        uid = user_ids(engine)[0]
        ids = subject_ids(dm, engine, uid)
        before = checksum_of_subject(dm, engine, ids)
        with context(tmp_path, sql_engines={"platform": engine}) as ctx:
            summary = dry_run(ctx, dm, Lookup("phone", f"+86 {ids.phone}"))
            with ctx.engine.connect() as conn:
                assert conn.scalar(select(func.count()).select_from(ErasurePlan)) == 0
        assert summary.found and summary.tables[("platform", "users")]["deleted"] == 1
        assert checksum_of_subject(dm, engine, ids) == before
    finally:
        engine.dispose()


def test_erasing_the_same_subject_twice_is_harmless(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    seed(url, tmp_path / "uploads", users=5)
    dm = demo_map(url, tmp_path / "uploads")
    engine = store_engine(url)
    try:
        ids = subject_ids(dm, engine, user_ids(engine)[0])
        with context(tmp_path, sql_engines={"platform": engine}) as ctx:
            first = erase_subject(ctx, dm, Lookup("phone", str(ids.phone)))
            second = erase_subject(ctx, dm, Lookup("phone", str(ids.phone)))
        assert first.status == second.status == "completed"
        assert first.found and not second.found
        assert all(not any(c.values()) for c in second.tables.values())
    finally:
        engine.dispose()


def test_raw_bytes_of_the_sqlite_file_and_wal_hold_no_identifier_after_erasure(
    tmp_path: Path,
) -> None:
    """secure_delete overwrites erased cells; the WAL is checkpointed and truncated."""
    db = tmp_path / "platform.db"
    url = f"sqlite:///{db}"
    seed(url, tmp_path / "uploads", users=20)
    dm = demo_map(url, tmp_path / "uploads")
    engine = store_engine(url)
    try:
        victims = [subject_ids(dm, engine, u) for u in user_ids(engine)[:5]]
        needles = [v.encode() for s in victims for v in (s.phone, s.email, s.id_number) if v]
        raw = db.read_bytes()
        assert any(n in raw for n in needles)
        with context(tmp_path, sql_engines={"platform": engine}) as ctx:
            for s in victims:
                assert (
                    erase_subject(ctx, dm, Lookup("user_id", str(s.user_id))).status == "completed"
                )
        # Read while the platform's connections are still open: closing the last one would
        # checkpoint and remove the WAL by itself; the erasure's own checkpoint must do it.
        for path in (db, db.with_name(db.name + "-wal")):
            if path.exists():
                raw = path.read_bytes()
                assert [n for n in needles if n in raw] == [], path.name
    finally:
        engine.dispose()


@pytest.mark.redis
def test_the_demo_platforms_sessions_and_carts_in_redis_are_erased(tmp_path: Path) -> None:
    """Seeded sessions and carts of erased users go; other users' keys stay."""
    import redis

    client = redis.Redis.from_url(servers.redis_url(11))
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    try:
        seed(url, tmp_path / "uploads", users=40, redis_client=client)
        keys_before = {
            k.decode() for p in ("session:*", "cart:*") for k in client.scan_iter(match=p)
        }
        owners = sorted({int(k.split(":")[1]) for k in keys_before})
        assert len(owners) >= 2
        dm = demo_map(url, tmp_path / "uploads", "redis://127.0.0.1:6379/11")
        engine = store_engine(url)
        try:
            with context(
                tmp_path, sql_engines={"platform": engine}, redis_clients={"sessions": client}
            ) as ctx:
                summary = erase_subject(ctx, dm, Lookup("user_id", str(owners[0])))
        finally:
            engine.dispose()
        assert summary.status == "completed", (summary.failed_step, summary.hits)
        left = {k.decode() for p in ("session:*", "cart:*") for k in client.scan_iter(match=p)}
        assert {k for k in keys_before if int(k.split(":")[1]) != owners[0]} == left
    finally:
        for pattern in ("session:*", "cart:*"):
            for key in client.scan_iter(match=pattern):
                client.delete(key)
        client.close()
