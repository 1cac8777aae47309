"""Real servers for tests: a fresh PostgreSQL or MariaDB database per test, Redis.

A server that cannot be reached skips the test with the reason when run by hand, and fails it
under CI (``CI=true``), where scripts/services must have started it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

PG_ADMIN_URL = os.environ.get("EXITRIGHT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
MARIADB_HOST = os.environ.get("EXITRIGHT_TEST_MARIADB_HOST", "127.0.0.1")
REDIS_URL = os.environ.get("EXITRIGHT_TEST_REDIS", "redis://127.0.0.1:6379")


def unavailable(what: str, exc: BaseException) -> None:
    """Skip (by hand) or fail (under CI) a test whose server is not reachable."""
    message = f"{what} is not reachable ({type(exc).__name__}: {exc}); run scripts/services"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database; yields its SQLAlchemy URL and drops it afterwards."""
    import psycopg

    name = f"exitright_test_{secrets.token_hex(6)}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        unavailable("PostgreSQL", exc)
        raise
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def mariadb_database() -> Iterator[str]:
    """A new, empty MariaDB database; yields its SQLAlchemy URL and drops it afterwards."""
    import pymysql

    name = f"exitright_test_{secrets.token_hex(6)}"
    try:
        admin = pymysql.connect(host=MARIADB_HOST, user="root", password="", connect_timeout=5)
    except pymysql.Error as exc:
        unavailable("MariaDB", exc)
        raise
    try:
        with admin.cursor() as cur:
            cur.execute(
                f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        yield f"mysql+pymysql://root@{MARIADB_HOST}:3306/{name}?charset=utf8mb4"
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def redis_url(db: int) -> str:
    """The URL of Redis database ``db``, after checking the server answers."""
    import redis

    url = f"{REDIS_URL}/{db}"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        unavailable("Redis", exc)
    return url
