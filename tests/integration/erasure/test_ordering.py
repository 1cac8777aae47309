"""A table referenced by two others is deleted after both, with foreign keys enforced.

The shop5 shape (bench/shop5/schema.sql): ``address`` is found through ``customer.address_id``
and ``orders.shipping_address_id`` and both keys are plain (NO ACTION), so the address rows can
only go after the customer and the orders. A group reached through a membership table goes after
the memberships for the same reason. Run on SQLite (``PRAGMA foreign_keys=ON``) and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, select, text

from exitright.connectors.sql_engine import store_engine
from exitright.datamap.loader import parse_map
from exitright.erasure.executor import PLANS, run_plan
from exitright.erasure.service import Lookup, erase_subject, plan_erasure
from tests import servers
from tests.integration.erasure.helpers import context

SCHEMA = """
CREATE TABLE address (id INTEGER PRIMARY KEY, line1 TEXT, city TEXT);
CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL,
    address_id INTEGER REFERENCES address (id));
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer (id),
    shipping_address_id INTEGER REFERENCES address (id));
CREATE TABLE groups_ (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
CREATE TABLE memberships (id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customer (id),
    group_id INTEGER NOT NULL REFERENCES groups_ (id));
"""

ROWS = """
INSERT INTO address VALUES (1, 'home of 1', 'Hangzhou'), (2, 'office of 1', 'Hangzhou'),
    (3, 'home of 2', 'Ningbo'), (4, 'gift address of 1', 'Suzhou');
INSERT INTO customer VALUES (1, 'a@x.cn', 1), (2, 'b@x.cn', 3);
INSERT INTO orders VALUES (1, 1, 2), (2, 1, 4), (3, 2, 3);
INSERT INTO groups_ VALUES (1, 'only 1'), (2, 'only 2');
INSERT INTO memberships VALUES (1, 1, 1), (2, 2, 2);
"""

MAP: dict[str, Any] = {
    "version": 1,
    "platform": "shop",
    "subject": {"store": "db", "table": "customer", "identifiers": {"email": "email"}},
    "stores": {
        "db": {
            "kind": "sql",
            "url": "${URL}",
            "tables": {
                "customer": {"action": "delete"},
                "orders": {"link": {"column": "customer_id"}, "action": "delete"},
                "address": {
                    "link": [
                        {"column": "id", "parent": "customer", "parent_column": "address_id"},
                        {
                            "column": "id",
                            "parent": "orders",
                            "parent_column": "shipping_address_id",
                        },
                    ],
                    "action": "delete",
                },
                "memberships": {"link": {"column": "customer_id"}, "action": "delete"},
                "groups_": {
                    "link": {"through": "memberships", "through_column": "group_id"},
                    "action": "delete",
                },
            },
        }
    },
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The shop schema with its rows and its foreign keys enforced."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'shop.db'}"
        else:
            url = stack.enter_context(servers.postgres_database())
        engine = store_engine(url)  # SQLite: PRAGMA foreign_keys=ON on every connection
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


def load(url: str) -> Any:
    dm, problems = parse_map(yaml.safe_dump(MAP), {"URL": url})
    assert problems == [] and dm is not None, problems
    return dm


def test_the_foreign_keys_are_enforced_so_the_order_matters(db: Engine) -> None:
    """The premise: deleting a customer's address first is refused by the database."""
    with pytest.raises(Exception), db.begin() as conn:  # noqa: B017  # driver-specific class
        conn.execute(text("DELETE FROM address WHERE id = 1"))


def test_addresses_referenced_by_the_customer_and_the_orders_are_deleted_after_both(
    db: Engine, tmp_path: Path
) -> None:
    dm = load(db.url.render_as_string(hide_password=False))
    with context(tmp_path, sql_engines={"db": db}) as ctx:
        summary = erase_subject(ctx, dm, Lookup("email", "a@x.cn"))
    assert summary.status == "completed", (summary.failed_step, summary.hits)
    assert rows(db, "SELECT id FROM address ORDER BY id") == [(3,)]
    assert rows(db, "SELECT id FROM customer") == [(2,)]
    assert rows(db, "SELECT id FROM orders") == [(3,)]
    assert rows(db, "SELECT id FROM groups_") == [(2,)]
    assert summary.tables[("db", "address")] == {"deleted": 3}
    assert summary.tables[("db", "groups_")] == {"deleted": 1}


def test_the_keys_of_reverse_linked_tables_are_pinned_sealed_in_the_plan(
    db: Engine, tmp_path: Path
) -> None:
    """Pinned before anything changes, encrypted at rest with the identifiers, gone at the end."""
    dm = load(db.url.render_as_string(hide_password=False))
    with context(tmp_path, sql_engines={"db": db}) as ctx:
        plan_id = plan_erasure(ctx, dm, Lookup("email", "a@x.cn"))
        with ctx.engine.connect() as conn:
            stored = conn.execute(
                text("SELECT identifiers FROM erasure_plans WHERE id = :p"), {"p": plan_id}
            ).scalar_one()
        assert "a@x.cn" not in str(stored)
        with ctx.engine.connect() as conn:
            plan = conn.execute(select(PLANS).where(PLANS.c.id == plan_id)).one()
        secrets = ctx.sealer.open(plan_id, plan.identifiers)
        assert secrets.ids.email == "a@x.cn"
        assert {t: sorted(k) for t, k in secrets.pins["db"].items()} == {
            "address": [1, 2, 4],
            "groups_": [1],
        }
        assert run_plan(ctx, dm, plan_id) == "completed"
        with ctx.engine.connect() as conn:
            left = conn.execute(select(PLANS.c.identifiers).where(PLANS.c.id == plan_id))
            assert left.scalar_one() is None
