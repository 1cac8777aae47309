"""Sessions and carts of the demo platform in Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from exitright.db.engine import make_engine
from exitright.demo.generate import PlatformGenerator
from exitright.demo.seed import drop_platform, seed_platform
from tests import servers

# A Redis database of its own, so that the demo's keys do not mix with other tests' keys.
REDIS_DB = 13
USERS = 80
SEED = 6


def expected_keys() -> list[str]:
    """The session and cart keys the generator makes for this test's seed."""
    batch = next(PlatformGenerator(SEED).batches(USERS, USERS))
    return [key for key, _ in batch.sessions + batch.carts]


@pytest.fixture
def client() -> Iterator[redis.Redis[Any]]:
    """A client on the demo's test database; this test's keys are deleted afterwards."""
    connection: redis.Redis[Any] = redis.Redis.from_url(servers.redis_url(REDIS_DB))
    yield connection
    connection.delete(*expected_keys())
    connection.close()


@pytest.mark.redis
def test_sessions_and_carts_are_written_per_user(tmp_path: Path, client: redis.Redis[Any]) -> None:
    """session:{user_id}:{token} hashes with a TTL and cart:{user_id} hashes, as reported."""
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    summary = seed_platform(engine, users=USERS, seed=SEED, redis_client=client)
    keys = expected_keys()
    assert len(keys) == summary.redis_keys > 0
    assert client.exists(*keys) == len(keys)
    session = next(k for k in keys if k.startswith("session:"))
    fields = client.hgetall(session)
    assert fields[b"user_id"].decode() == session.split(":")[1]
    assert len(fields[b"phone"]) == 11
    assert 0 < client.ttl(session) <= 30 * 24 * 3600
    cart = next(k for k in keys if k.startswith("cart:"))
    assert all(int(quantity) > 0 for quantity in client.hgetall(cart).values())
    drop_platform(engine, redis_client=client)
    assert client.exists(*keys) == 0
    engine.dispose()


@pytest.mark.redis
def test_dropping_a_platform_leaves_other_keys_alone(
    tmp_path: Path, client: redis.Redis[Any]
) -> None:
    """Keys of users the platform does not have survive its drop."""
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    seed_platform(engine, users=USERS, seed=SEED, redis_client=client)
    stranger = f"cart:{10**9 + 7}"
    client.hset(stranger, mapping={"1": "1"})
    try:
        drop_platform(engine, redis_client=client)
        assert client.exists(stranger) == 1
    finally:
        client.delete(stranger)
        engine.dispose()
