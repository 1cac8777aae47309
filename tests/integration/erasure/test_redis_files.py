"""Redis keys and uploaded files: only the subject's go, and the residual check searches both."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml

from exitright.connectors.base import SubjectIds
from exitright.connectors.files import FilesConnector
from exitright.connectors.redis import RedisConnector
from exitright.datamap.loader import parse_map
from exitright.datamap.model import DataMap, FilesStore, RedisStore
from tests import servers

DB = 13


@pytest.fixture
def client() -> Iterator[redis.Redis[bytes]]:
    """Redis database 13; only keys under this test's own prefix are written and removed."""
    url = servers.redis_url(DB)
    c = redis.Redis.from_url(url)
    yield c
    c.close()


def store_map(prefix: str, root: Path) -> DataMap:
    data: dict[str, Any] = {
        "platform": "t",
        "subject": {"store": "db", "table": "users", "identifiers": {"phone": "phone"}},
        "stores": {
            "db": {"kind": "sql", "url": "sqlite://", "tables": {"users": {"action": "delete"}}},
            "cache": {
                "kind": "redis",
                "url": "redis://unused",
                "keys": [
                    {"pattern": prefix + ":session:{user_id}:*"},
                    {"pattern": prefix + ":cart:{user_id}"},
                    {"pattern": prefix + ":sms:{phone}"},
                    {"pattern": prefix + ":online", "fields": ["{user_id}"]},
                ],
            },
            "up": {
                "kind": "files",
                "root": str(root),
                "paths": [{"pattern": "idcards/{user_id}"}, {"pattern": "avatars/{user_id}.jpg"}],
            },
        },
    }
    dm, problems = parse_map(yaml.safe_dump(data), {})
    assert dm is not None and problems == [], problems
    return dm


@pytest.mark.redis
def test_redis_keys_of_the_subject_go_and_no_one_elses(
    client: redis.Redis[bytes], tmp_path: Path
) -> None:
    prefix = f"ertest{secrets.token_hex(4)}"
    try:
        client.set(f"{prefix}:session:12:aaa", "x")
        client.set(f"{prefix}:session:12:bbb", "x")
        client.set(f"{prefix}:session:123:ccc", "x")
        client.set(f"{prefix}:session:1:ddd", "x")
        client.hset(f"{prefix}:cart:12", mapping={"7": "1"})
        client.set(f"{prefix}:sms:13800000012", "code 123456")
        client.sadd(f"{prefix}:online", "12", "123")
        dm = store_map(prefix, tmp_path)
        store = dm.stores["cache"]
        assert isinstance(store, RedisStore)
        conn = RedisConnector("cache", store, client)
        ids = SubjectIds(user_id=12, phone="13800000012")
        assert [conn.count(i, ids) for i in range(4)] == [2, 1, 1, 1]
        for i in range(4):
            conn.erase(i, ids)
        left = sorted(k.decode() for k in client.scan_iter(match=f"{prefix}:*"))
        assert left == [f"{prefix}:online", f"{prefix}:session:123:ccc", f"{prefix}:session:1:ddd"]
        assert client.smembers(f"{prefix}:online") == {b"123"}
        client.set(f"{prefix}:note", "call +86 138 0000 0012 please")
        hits = [h for h in conn.residual(ids) if h.table.startswith(prefix) or prefix in h.row_key]
        assert [(h.table, h.column) for h in hits] == [(f"{prefix}:note", "value")]
    finally:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)


def test_files_of_the_subject_go_and_patterns_cannot_leave_the_root(tmp_path: Path) -> None:
    root = tmp_path / "uploads"
    for rel in (
        "idcards/12/front.jpg",
        "idcards/12/back.jpg",
        "idcards/123/front.jpg",
        "avatars/12.jpg",
        "avatars/120.jpg",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"jpg")
    outside = tmp_path / "secret.txt"
    outside.write_text("keep me")
    (root / "idcards" / "7").symlink_to(tmp_path)
    dm = store_map("p", root)
    store = dm.stores["up"]
    assert isinstance(store, FilesStore)
    conn = FilesConnector("up", store)
    ids = SubjectIds(user_id=12)
    assert conn.count(0, ids) == 1 and conn.count(1, ids) == 1
    conn.erase(0, ids)
    conn.erase(1, ids)
    left = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink()
    )
    assert left == ["avatars/120.jpg", "idcards/123/front.jpg"]
    assert conn.residual(ids) == []
    (root / "avatars" / "12.png").write_bytes(b"x")
    assert [h.row_key for h in conn.residual(ids)] == ["avatars/12.png"]
    for evil in ("..", "../..", "7/../../secret.txt", "*"):
        assert conn.count(0, SubjectIds(user_id=evil)) == 0
    assert conn.count(0, SubjectIds(user_id=7)) == 0  # a symlink out of the root is never followed
    assert outside.exists()
