"""The demo platform on PostgreSQL and MariaDB: schema, seed, and ids that keep counting."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import Engine, func, insert, inspect, select

from exitright.db.engine import make_engine
from exitright.demo.schema import TABLE_NAMES, metadata, users
from exitright.demo.seed import create_schema, demo_phones, is_seeded, seed_platform


def check_platform(engine: Engine) -> None:
    """Create, seed and read back 60 users; then a new sign-up gets a fresh id."""
    create_schema(engine)
    assert set(inspect(engine).get_table_names()) >= set(TABLE_NAMES)
    assert not is_seeded(engine)
    summary = seed_platform(engine, users=60, seed=2)
    assert is_seeded(engine)
    with engine.connect() as conn:
        for name in TABLE_NAMES:
            rows = conn.execute(
                select(func.count()).select_from(metadata.tables[name])
            ).scalar_one()
            assert rows == summary.rows[name], name
        nickname = conn.execute(select(users.c.nickname).where(users.c.id == 1)).scalar_one()
    assert nickname == summary_nickname()
    assert len(demo_phones(engine)) == 3
    with engine.begin() as conn:
        key = conn.execute(
            insert(users).values(
                phone="13900000000", nickname="新用户", real_name_verified=False, status="active",
                created_at=datetime(2026, 11, 2),
            )
        ).inserted_primary_key  # fmt: skip
    assert key is not None and key[0] == 61


def summary_nickname() -> str:
    """User 1's nickname for seed 2, as the generator makes it (Chinese text round-trips)."""
    from exitright.demo.generate import PlatformGenerator

    return str(next(PlatformGenerator(2).batches(1)).rows["users"][0][3])


@pytest.mark.postgres
def test_the_platform_is_created_and_seeded_on_postgresql(postgres_url: str) -> None:
    """Every table, the seed's rows, and sequences moved past the seeded ids."""
    engine = make_engine(postgres_url)
    try:
        check_platform(engine)
    finally:
        engine.dispose()


@pytest.mark.mariadb
def test_the_platform_is_created_and_seeded_on_mariadb(mariadb_url: str) -> None:
    """Every table in utf8mb4, the seed's rows, and auto-increment past the seeded ids."""
    engine = make_engine(mariadb_url)
    try:
        check_platform(engine)
        with engine.connect() as conn:
            charsets = conn.exec_driver_sql(
                "SELECT DISTINCT CCSA.character_set_name FROM information_schema.TABLES T "
                "JOIN information_schema.COLLATION_CHARACTER_SET_APPLICABILITY CCSA "
                "ON CCSA.collation_name = T.table_collation WHERE T.table_schema = DATABASE()"
            ).fetchall()
        assert charsets == [("utf8mb4",)]
    finally:
        engine.dispose()
