"""A data map cannot be used to attack the stores it describes.

* SQL: every name the map puts into a statement (tables, columns, keys, links, retention
  columns, the subject's identifier columns) must be a plain name; odd but valid names
  (reserved words, mixed case) are quoted, so they work on SQLite and PostgreSQL alike.
* Files: a pattern cannot leave its root (``..``, absolute paths, symlinks pointing out).
* Redis: identifier values are escaped, so ``*``, ``?`` or ``[`` in a value never widen the
  match; a pattern that does not name the subject is refused.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from sqlalchemy import Engine, text

from exitright.connectors.base import SubjectIds
from exitright.connectors.files import FilesConnector
from exitright.connectors.redis import RedisConnector
from exitright.connectors.sql_engine import store_engine
from exitright.datamap.loader import parse_map
from exitright.datamap.model import DataMap, FilesStore, RedisStore
from exitright.erasure.service import Lookup, erase_subject
from tests import servers
from tests.integration.erasure.helpers import context

REDIS_DB = 13  # shared with tests/integration/erasure/test_redis_files.py: own key prefix

# SQL ---------------------------------------------------------------------------------------------

HOSTILE_NAMES = [
    "users; DROP TABLE users",
    'phone" OR 1=1 --',
    "phone' OR '1'='1",
    "a`b",
    "a b",
    "a-b",
    "1abc",
    "téléphone",
    "x" * 64,
    "",
]
BASE: dict[str, Any] = {
    "version": 1,
    "platform": "odd",
    "subject": {"store": "db", "table": "user", "identifiers": {"phone": "Phone"}},
    "stores": {
        "db": {
            "kind": "sql",
            "url": "${URL}",
            "tables": {
                "user": {"action": "delete", "key": "id", "pi": {"Phone": "contact.phone"}},
                "order": {
                    "link": {"column": "from"},
                    "action": "retain",
                    "retain": {"basis": "cn-ecl-31", "from": "select", "then": "blank"},
                    "anonymize": {"from": None, "group": "redact"},
                },
                "Group": {
                    "link": {"column": "order", "parent": "order"},
                    "action": "delete",
                },
                "where": {"link": {"identifier": "phone", "column": "Phone"}, "action": "delete"},
            },
        }
    },
}
# Every place in BASE that holds a name put into SQL, as a function writing a name there.
SLOTS = {
    "table": lambda d, n: d["stores"]["db"]["tables"].__setitem__(n, {"action": "keep",
                                                                      "reason": "x"}),
    "key": lambda d, n: d["stores"]["db"]["tables"]["user"].__setitem__("key", n),
    "pi": lambda d, n: d["stores"]["db"]["tables"]["user"]["pi"].__setitem__(n, "contact.phone"),
    "link.column": lambda d, n: d["stores"]["db"]["tables"]["order"]["link"].__setitem__(
        "column", n),
    "link.parent": lambda d, n: d["stores"]["db"]["tables"]["Group"]["link"].__setitem__(
        "parent", n),
    "identifier column": lambda d, n: d["stores"]["db"]["tables"]["where"]["link"].__setitem__(
        "column", n),
    "anonymize": lambda d, n: d["stores"]["db"]["tables"]["order"]["anonymize"].__setitem__(
        n, "redact"),
    "retain.from": lambda d, n: d["stores"]["db"]["tables"]["order"]["retain"].__setitem__(
        "from", n),
    "subject identifier": lambda d, n: d["subject"]["identifiers"].__setitem__("email", n),
    "subject key": lambda d, n: d["subject"].__setitem__("key", n),
}  # fmt: skip


def problems_of(data: dict[str, Any]) -> list[str]:
    """The message ids of the problems of ``data``."""
    _dm, problems = parse_map(yaml.safe_dump(data, allow_unicode=True), {"URL": "sqlite://"})
    return [p.msgid for p in problems]


def test_the_odd_but_valid_map_is_valid() -> None:
    """Reserved words and mixed case are plain names: the map itself has no problem."""
    assert problems_of(BASE) == []


@pytest.mark.parametrize("name", HOSTILE_NAMES)
@pytest.mark.parametrize("slot", sorted(SLOTS))
def test_a_hostile_name_in_any_sql_slot_of_the_map_is_refused(slot: str, name: str) -> None:
    """Quotes, semicolons, spaces, non-ASCII, a leading digit, 64 characters: refused."""
    data = copy.deepcopy(BASE)
    SLOTS[slot](data, name)
    found = problems_of(data)
    assert found, (slot, name)
    if name == "" and slot == "retain.from":
        assert found == ["datamap.problem.basis_needs_from"]  # empty is "not given"
        return
    assert "datamap.problem.bad_name" in found or "datamap.problem.schema" in found, found


SCHEMA = """
CREATE TABLE "user" (id INTEGER PRIMARY KEY, "Phone" VARCHAR(20) NOT NULL);
CREATE TABLE "order" (id INTEGER PRIMARY KEY, "from" INTEGER REFERENCES "user"(id),
    "select" TIMESTAMP NOT NULL, "group" VARCHAR(100));
CREATE TABLE "Group" (id INTEGER PRIMARY KEY, "order" INTEGER NOT NULL REFERENCES "order"(id));
CREATE TABLE "where" (id INTEGER PRIMARY KEY, "Phone" VARCHAR(20) NOT NULL);
INSERT INTO "user" VALUES (1, '13800000001'), (2, '13800000002');
INSERT INTO "order" VALUES (10, 1, '2025-01-02 03:04:05', 'call 13800000001'),
    (20, 2, '2025-01-02 03:04:05', 'fine');
INSERT INTO "Group" VALUES (100, 10), (200, 20);
INSERT INTO "where" VALUES (1000, '13800000001'), (2000, '13800000002')
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def odd_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A store whose tables and columns are reserved words and mixed case, with two users."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'odd.db'}"
        else:
            url = stack.enter_context(servers.postgres_database())
        engine = store_engine(url)
        with engine.begin() as conn:
            for stmt in SCHEMA.split(";"):
                conn.execute(text(stmt))
        try:
            yield engine
        finally:
            engine.dispose()


def rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    """The rows of a query, as tuples."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_reserved_words_and_mixed_case_names_are_quoted_and_only_the_subject_goes(
    odd_db: Engine, tmp_path: Path
) -> None:
    """user, order, from, select, group, Group, where, Phone: erased as named, user 2 intact."""
    dm, problems = parse_map(
        yaml.safe_dump(BASE), {"URL": odd_db.url.render_as_string(hide_password=False)}
    )
    assert dm is not None and problems == [], problems
    with context(tmp_path, sql_engines={"db": odd_db}) as ctx:
        summary = erase_subject(ctx, dm, Lookup("phone", "13800000001"))
    assert summary.status == "completed", (summary.failed_step, summary.hits)
    assert rows(odd_db, 'SELECT id, "Phone" FROM "user"') == [(2, "13800000002")]
    kept = rows(odd_db, 'SELECT id, "from", "group" FROM "order" ORDER BY id')
    assert kept[0][0] == 10 and kept[0][1] is None and "13800000001" not in str(kept[0][2])
    assert kept[1] == (20, 2, "fine")
    assert rows(odd_db, 'SELECT id FROM "Group"') == [(200,)]
    assert rows(odd_db, 'SELECT id FROM "where"') == [(2000,)]


# Files -------------------------------------------------------------------------------------------


def files_map(root: Path, *patterns: str) -> tuple[DataMap | None, list[str]]:
    """A map whose files store has ``patterns`` under ``root``."""
    data: dict[str, Any] = {
        "platform": "t",
        "subject": {"store": "db", "table": "users", "identifiers": {"email": "email"}},
        "stores": {
            "db": {"kind": "sql", "url": "sqlite://", "tables": {"users": {"action": "delete"}}},
            "up": {"kind": "files", "root": str(root),
                   "paths": [{"pattern": p} for p in patterns]},
        },
    }  # fmt: skip
    dm, problems = parse_map(yaml.safe_dump(data), {})
    return dm, [p.msgid for p in problems]


@pytest.mark.parametrize(
    "pattern",
    ["../outside/{user_id}", "/srv/{user_id}", "a/../../{user_id}", "~/{user_id}", "C:/{user_id}",
     "a\\..\\{user_id}"],
)  # fmt: skip
def test_a_file_pattern_that_could_leave_its_root_is_refused(tmp_path: Path, pattern: str) -> None:
    """``..``, absolute, home-relative, drive letters, backslashes: refused by validation."""
    _dm, problems = files_map(tmp_path, pattern)
    assert "datamap.problem.path_escapes" in problems, problems


def test_symlinks_pointing_out_of_the_root_are_never_followed_or_deleted_through(
    tmp_path: Path,
) -> None:
    """A subject's directory or file that is a symlink to outside: the outside stays whole."""
    root, outside = tmp_path / "uploads", tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "dir" / "precious.jpg").write_bytes(b"keep")
    (outside / "file.jpg").write_bytes(b"keep")
    (root / "idcards").mkdir(parents=True)
    (root / "avatars").mkdir()
    (root / "idcards" / "12").symlink_to(outside / "dir")  # the subject's dir links out
    (root / "avatars" / "12.jpg").symlink_to(outside / "file.jpg")  # the subject's file too
    (root / "idcards" / "13").mkdir()
    (root / "idcards" / "13" / "front.jpg").write_bytes(b"13")
    dm, problems = files_map(root, "idcards/{user_id}/*", "avatars/{user_id}.jpg",
                             "idcards/{user_id}")  # fmt: skip
    assert dm is not None and problems == []
    store = dm.stores["up"]
    assert isinstance(store, FilesStore)
    conn = FilesConnector("up", store)
    ids = SubjectIds(user_id=12)
    assert [conn.count(i, ids) for i in range(3)] == [0, 0, 0]
    for i in range(3):
        conn.erase(i, ids)
    assert (outside / "dir" / "precious.jpg").read_bytes() == b"keep"
    assert (outside / "file.jpg").read_bytes() == b"keep"
    assert (root / "idcards" / "13" / "front.jpg").exists()
    # A hostile identifier value cannot climb out either (it is refused before any glob).
    for evil in ("..", "../outside", "*", "12/../13", "\x00"):
        assert [conn.count(i, SubjectIds(user_id=evil)) for i in range(3)] == [0, 0, 0], evil


# Redis -------------------------------------------------------------------------------------------


@pytest.fixture
def redis_client() -> Iterator[redis.Redis[bytes]]:
    """Redis; the test writes only under its own random prefix and removes it afterwards."""
    client = redis.Redis.from_url(servers.redis_url(REDIS_DB))
    try:
        client.ping()
    except redis.RedisError as exc:
        servers.unavailable("Redis", exc)
    yield client
    client.close()


def redis_map(prefix: str, *patterns: str) -> tuple[DataMap | None, list[str]]:
    """A map whose Redis store has key ``patterns``."""
    data: dict[str, Any] = {
        "platform": "t",
        "subject": {"store": "db", "table": "users", "identifiers": {"email": "email"}},
        "stores": {
            "db": {"kind": "sql", "url": "sqlite://", "tables": {"users": {"action": "delete"}}},
            "cache": {"kind": "redis", "url": "redis://unused",
                      "keys": [{"pattern": prefix + p} for p in patterns]},
        },
    }  # fmt: skip
    dm, problems = parse_map(yaml.safe_dump(data), {})
    return dm, [p.msgid for p in problems]


@pytest.mark.parametrize("pattern", [":*", ":session:*", ":{user_id}*", ":x{email}", ":{nobody}"])
def test_a_redis_pattern_not_bounded_to_the_subject_is_refused(pattern: str) -> None:
    """No placeholder, a glob or a letter against the placeholder, an unknown one: refused."""
    _dm, problems = redis_map("p", pattern)
    assert problems, pattern


@pytest.mark.redis
@pytest.mark.parametrize("email", ["a*@x.cn", "a?@x.cn", "[ab]@x.cn", "a\\*@x.cn", "a]@x.cn"])
def test_glob_characters_in_an_identifier_match_only_the_literal_key(
    redis_client: redis.Redis[bytes], email: str
) -> None:
    """An address holding ``*``, ``?``, ``[`` or ``\\`` deletes its own keys and nobody else's."""
    prefix = f"ersec{secrets.token_hex(4)}"
    others = ["ab@x.cn", "aa@x.cn", "b@x.cn", "a@x.cn", "a\\b@x.cn", "abc@x.cn"]
    try:
        for who in [email, *others]:
            redis_client.set(f"{prefix}:mail:{who}", "x")
            redis_client.set(f"{prefix}:sess:{who}:1", "x")
        dm, problems = redis_map(prefix, ":mail:{email}", ":sess:{email}:*")
        assert dm is not None and problems == [], problems
        store = dm.stores["cache"]
        assert isinstance(store, RedisStore)
        conn = RedisConnector("cache", store, redis_client)
        ids = SubjectIds(email=email)
        assert [conn.count(0, ids), conn.count(1, ids)] == [1, 1]
        conn.erase(0, ids)
        conn.erase(1, ids)
        left = {k.decode() for k in redis_client.scan_iter(match=f"{prefix}:*")}
        assert left == {f"{prefix}:mail:{o}" for o in others} | {
            f"{prefix}:sess:{o}:1" for o in others
        }
    finally:
        for key in redis_client.scan_iter(match=f"{prefix}:*"):
            redis_client.delete(key)
