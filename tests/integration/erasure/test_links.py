"""Link kinds on a schema of their own: chains, many-to-many, identifier values, self-reference."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, text

from exitright.connectors.sql_engine import store_engine
from exitright.datamap.loader import parse_map
from exitright.datamap.model import DataMap
from exitright.erasure.service import Lookup, erase_subject, plan_erasure
from exitright.errors import ExitRightError
from tests import servers
from tests.integration.erasure.helpers import context

SCHEMA = """
CREATE TABLE users (id INTEGER PRIMARY KEY, phone TEXT NOT NULL, email TEXT,
    invited_by INTEGER REFERENCES users(id));
CREATE TABLE groups_ (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
CREATE TABLE memberships (id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    group_id INTEGER NOT NULL REFERENCES groups_(id));
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
    body TEXT NOT NULL, created_at TIMESTAMP NOT NULL);
CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts(id),
    body TEXT NOT NULL);
CREATE TABLE likes (id INTEGER PRIMARY KEY, comment_id INTEGER NOT NULL REFERENCES comments(id),
    n INTEGER NOT NULL);
CREATE TABLE callbacks (id INTEGER PRIMARY KEY, phone TEXT NOT NULL, note TEXT NOT NULL);
CREATE TABLE tickets (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), contact TEXT,
    body TEXT, opened_at TIMESTAMP NOT NULL);
"""

ROWS = """
INSERT INTO users VALUES (1, '13800000001', 'A@x.cn', NULL), (2, '13800000002', 'b@x.cn', 1),
    (3, '13800000003', NULL, 2);
INSERT INTO groups_ VALUES (1, 'runners'), (2, 'private chat of user 1');
INSERT INTO memberships VALUES (1, 1, 1), (2, 2, 1), (3, 1, 2);
INSERT INTO posts VALUES (1, 1, 'hello', '2025-01-02 10:00:00'),
    (2, 2, 'call me', '2025-01-03 11:00:00');
INSERT INTO comments VALUES (1, 1, 'first'), (2, 1, 'second'), (3, 2, 'ok');
INSERT INTO likes VALUES (1, 1, 3), (2, 2, 1), (3, 3, 7);
INSERT INTO callbacks VALUES (1, '+86 138 0000 0001', 'wants a refund'), (2, '13800000002', 'vip');
INSERT INTO tickets VALUES (1, 1, 'a@x.cn', 'my id is 1', '2025-03-04 05:06:07'),
    (2, 3, 'c', 'fine', '2025-03-05 00:00:00');
"""

MAP: dict[str, Any] = {
    "version": 1,
    "platform": "mini",
    "subject": {
        "store": "db",
        "table": "users",
        "identifiers": {"phone": "phone", "email": "email"},
    },
    "stores": {
        "db": {
            "kind": "sql",
            "url": "${URL}",
            "tables": {
                "users": {"action": "delete", "link": [{"column": "invited_by", "detach": True}]},
                "memberships": {"link": {"column": "user_id"}, "action": "delete"},
                "groups_": {
                    "link": {"through": "memberships", "through_column": "group_id"},
                    "action": "anonymize",
                    "anonymize": {"title": {"fixed": "(removed)"}},
                },
                "posts": {"link": {"column": "user_id"}, "action": "delete"},
                "comments": {"link": {"column": "post_id", "parent": "posts"}, "action": "delete"},
                "likes": {
                    "link": {"column": "comment_id", "parent": "comments"},
                    "action": "delete",
                },
                "callbacks": {
                    "link": {"identifier": "phone", "column": "phone"},
                    "action": "delete",
                },
                "tickets": {
                    "link": {"column": "user_id"},
                    "action": "retain",
                    "retain": {"basis": "cn-ecl-31", "from": "opened_at", "then": "blank"},
                    "anonymize": {
                        "user_id": None,
                        "contact": "hash",
                        "body": "redact",
                        "opened_at": "month",
                    },
                },
            },
        }
    },
}


def load(url: str, data: dict[str, Any] = MAP) -> DataMap:
    dm, problems = parse_map(yaml.safe_dump(data), {"URL": url})
    assert problems == [] and dm is not None, problems
    return dm


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The small schema with its rows, on each SQL backend."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'mini.db'}"
        elif request.param == "postgres":
            url = stack.enter_context(servers.postgres_database())
        else:
            url = stack.enter_context(servers.mariadb_database())
        engine = store_engine(url)
        with engine.begin() as conn:
            for stmt in (SCHEMA + ROWS).split(";"):
                if stmt.strip():
                    conn.execute(text(stmt))
        try:
            yield engine
        finally:
            engine.dispose()


def rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_chains_many_to_many_identifier_links_and_self_reference(
    db: Engine, tmp_path: Path
) -> None:
    dm = load(db.url.render_as_string(hide_password=False))
    with context(tmp_path, sql_engines={"db": db}) as ctx:
        summary = erase_subject(ctx, dm, Lookup("email", "a@X.cn"))
    assert summary.status == "completed", (summary.failed_step, summary.hits)
    assert rows(db, "SELECT id, invited_by FROM users ORDER BY id") == [(2, None), (3, 2)]
    assert rows(db, "SELECT id FROM comments") == [(3,)]
    assert rows(db, "SELECT id FROM likes") == [(3,)]
    assert rows(db, "SELECT id FROM callbacks") == [(2,)]
    assert rows(db, "SELECT id, title FROM groups_ ORDER BY id") == [
        (1, "(removed)"),
        (2, "(removed)"),
    ]
    ticket = rows(db, "SELECT user_id, contact, body, opened_at FROM tickets WHERE id = 1")[0]
    assert ticket[0] is None and ticket[1].startswith("h") and "a@x.cn" not in ticket[1]
    assert str(ticket[3]).startswith("2025-03-01")
    assert summary.tables[("db", "tickets")] == {"retained": 1, "anonymized": 1}
    assert rows(db, "SELECT body FROM posts") == [("call me",)]


def test_an_identifier_left_in_another_users_text_fails_the_erasure_with_its_location(
    db: Engine, tmp_path: Path
) -> None:
    with db.begin() as conn:
        conn.execute(text("UPDATE posts SET body = 'call +86 138-0000-0001' WHERE id = 2"))
    dm = load(db.url.render_as_string(hide_password=False))
    with context(tmp_path, sql_engines={"db": db}) as ctx:
        summary = erase_subject(ctx, dm, Lookup("user_id", "1"))
    assert summary.status == "failed"
    assert {"store": "db", "table": "posts", "column": "body", "row_key": "2"} in summary.hits
    assert all("138" not in str(h) for h in summary.hits)


def test_a_table_referencing_a_linked_table_but_missing_from_the_map_refuses_the_plan(
    db: Engine, tmp_path: Path
) -> None:
    with db.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE shadow (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id))"
            )
        )
    dm = load(db.url.render_as_string(hide_password=False))
    with context(tmp_path, sql_engines={"db": db}) as ctx, pytest.raises(ExitRightError) as err:
        plan_erasure(ctx, dm, Lookup("user_id", "2"))
    assert err.value.message_id == "datamap.problem.unmapped_child"
    assert err.value.params["place"] == "stores.db.tables.shadow"


def test_a_column_the_store_lacks_is_named_before_anything_changes(
    db: Engine, tmp_path: Path
) -> None:
    data = yaml.safe_load(yaml.safe_dump(MAP))
    data["stores"]["db"]["tables"]["callbacks"]["link"]["column"] = "mobile"
    dm = load(str(db.url), data)
    with context(tmp_path, sql_engines={"db": db}) as ctx, pytest.raises(ExitRightError) as err:
        plan_erasure(ctx, dm, Lookup("user_id", "2"))
    assert err.value.params["place"] == "stores.db.tables.callbacks.link[0].column"
    assert rows(db, "SELECT COUNT(*) FROM users") == [(3,)]


def test_the_sweep_finds_an_erased_subjects_phone_later_written_into_free_text(
    db: Engine, tmp_path: Path
) -> None:
    """One pass with keyed hashes: the hit names the place and the plan, not the number."""
    from exitright.erasure.residual import sweep

    dm = load(db.url.render_as_string(hide_password=False))
    with context(tmp_path, sql_engines={"db": db}) as ctx:
        summary = erase_subject(ctx, dm, Lookup("user_id", "1"))
        assert summary.status == "completed"
        assert sweep(ctx, dm) == []
        with db.begin() as conn:
            conn.execute(text("UPDATE posts SET body = 'ring 138 0000 0001 or 13800000002'"))
        hits = sweep(ctx, dm)
    assert [(h.table, h.column, h.row_key, h.plan_id) for h in hits] == [
        ("posts", "body", "2", summary.plan_id)
    ]
