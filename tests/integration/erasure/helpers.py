"""Building a seeded demo platform and an erasure context for the integration tests."""

from __future__ import annotations

import hashlib
import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, MetaData, select, text

from exitright.clock import FixedClock
from exitright.connectors.base import SubjectIds
from exitright.connectors.sql import SqlConnector
from exitright.connectors.sql_engine import store_engine
from exitright.datamap.loader import load_map
from exitright.datamap.model import DataMap
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.demo.seed import seed_platform
from exitright.erasure.context import ErasureContext
from exitright.vault.crypto import LocalKeyWrapper
from exitright.vault.service import VaultService
from tests import servers

DEMO_MAP = Path(str(resources.files("exitright.demo") / "datamap.yaml"))
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


# The SQL backends a demo-map test runs on (PostgreSQL and MariaDB marked, for -m selection).
SQL_BACKENDS = [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
]


def killer(event: str, nth: int) -> Callable[[str], None]:
    """An observer that SIGKILLs this process at the ``nth`` event starting with ``event``."""
    seen = 0

    def observe(name: str) -> None:
        nonlocal seen
        if name.startswith(event):
            seen += 1
            if seen == nth:
                os.kill(os.getpid(), signal.SIGKILL)

    return observe


def demo_map(platform_url: str, uploads: Path, redis_url: str | None = None) -> DataMap:
    """The shipped demo map pointed at test stores; its Redis store is database 11 (the test is
    skipped, or failed under CI, when Redis is not reachable)."""
    redis_url = redis_url or servers.redis_url(11)
    env = {
        "EXITRIGHT_DEMO_DATABASE_URL": platform_url,
        "EXITRIGHT_DEMO_UPLOADS": str(uploads),
        "EXITRIGHT_REDIS_URL": redis_url,
    }
    return load_map(DEMO_MAP, env)


def seed(
    platform_url: str,
    uploads: Path,
    users: int = 25,
    redis_client: redis.Redis[bytes] | None = None,
) -> None:
    """Seed the demo platform at ``platform_url``."""
    engine = (
        make_engine(platform_url)
        if platform_url.startswith("sqlite")
        else store_engine(platform_url)
    )
    try:
        seed_platform(engine, users=users, seed=11, uploads_dir=uploads, redis_client=redis_client)
    finally:
        engine.dispose()


@contextmanager
def context(
    tmp: Path,
    *,
    clock: FixedClock | None = None,
    batch_size: int = 500,
    url: str | None = None,
    **kwargs: Any,
) -> Iterator[ErasureContext]:
    """An erasure context on the engine database ``url`` (default: SQLite under ``tmp``)."""
    url = url or f"sqlite:///{tmp / 'engine.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    clock = clock or FixedClock(NOW)
    vault = VaultService(engine, LocalKeyWrapper(b"m" * 32), clock)
    try:
        yield ErasureContext(engine, vault, b"p" * 32, clock, batch_size=batch_size, **kwargs)
    finally:
        engine.dispose()


def subject_ids(dm: DataMap, engine: Engine, user_id: int) -> SubjectIds:
    """The identifiers of user ``user_id`` as the engine would resolve them."""
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT id, phone, email, id_number FROM users WHERE id = :i"), {"i": user_id}
        ).one()
    return SubjectIds(user_id=row[0], phone=row[1], email=row[2], id_number=row[3])


def checksum_of_subject(dm: DataMap, engine: Engine, ids: SubjectIds) -> dict[str, str]:
    """A digest per table of every row linked to one subject (to prove others are untouched)."""
    conn = SqlConnector("platform", dm.sql_stores()["platform"], dm.subject, engine)
    out: dict[str, str] = {}
    with engine.connect() as db:
        for name in sorted(dm.sql_stores()["platform"].tables):
            t = conn.table(name)
            rows = db.execute(
                select(t).where(conn.rows_of(name, ids)).order_by(*t.primary_key.columns)
            ).all()
            out[name] = hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()
    return out


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted (to compare end states)."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as db:
        return {
            name: sorted(tuple(map(str, r)) for r in db.execute(select(t)).all())
            for name, t in sorted(meta.tables.items())
        }


def user_ids(engine: Engine) -> list[int]:
    """The platform's user ids, ascending."""
    with engine.connect() as conn:
        return [int(r[0]) for r in conn.execute(text("SELECT id FROM users ORDER BY id"))]
