"""The planner orders steps children before parents, for any map that validates."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from exitright.datamap.model import ColumnLink, DataMap, ThroughLink
from exitright.datamap.validate import validate
from exitright.erasure.planner import plan_steps
from tests.unit.datamap.maps import BASE


@st.composite
def chain_maps(draw: st.DrawFn) -> dict[str, Any]:
    """Random link graphs whose references admit an order (as a real schema's foreign keys do).

    Table i is found through the subject or through tables with smaller i (so finding rows
    terminates). Which way each reference points follows a hidden order of the tables, ``rank``:
    a table earlier in it references the table it is found through (``{column, parent}``, or
    the user id); a table later in it is referenced by it (a reverse link ``{column: id,
    parent, parent_column}``, or a many-to-many ``through`` link).
    """
    n = draw(st.integers(1, 12))
    rank = draw(st.permutations(list(range(n))))
    tables: dict[str, Any] = {"users": {"action": "delete"}}
    for i in range(n):
        links: list[dict[str, Any]] = []
        for _ in range(draw(st.integers(1, 3))):
            target = draw(st.integers(-1, i - 1))
            if target < 0:
                links.append({"column": f"user_id_{len(links)}"})
            elif rank[i] < rank[target]:
                links.append({"column": f"t{target}_id", "parent": f"t{target}"})
            elif draw(st.booleans()):
                links.append({"column": "id", "parent": f"t{target}", "parent_column": f"t{i}_id"})
            else:
                links.append({"through": f"t{target}", "through_column": f"t{i}_id"})
        tables[f"t{i}"] = {
            "link": links,
            "action": draw(st.sampled_from(["delete", "keep"])),
            "reason": "x",
        }
        if tables[f"t{i}"]["action"] == "delete":
            del tables[f"t{i}"]["reason"]
    data = {**BASE, "stores": {"db": {"kind": "sql", "url": "sqlite://", "tables": tables}}}
    data["subject"] = {"store": "db", "table": "users", "identifiers": {}, "find_by": ["user_id"]}
    return data


def referenced(link: Any, table: Any, tables: Any) -> tuple[str, bool] | None:
    """(the table ``link`` finds rows through, whether that table references this one)."""
    if isinstance(link, ThroughLink):
        return link.through, True
    if isinstance(link, ColumnLink):
        if link.parent is None:
            return "users", False
        reverse = (
            link.column == table.key
            and link.parent_column is not None
            and link.parent_column != tables[link.parent].key
        )
        return link.parent, reverse
    return None


@settings(max_examples=300, deadline=None)
@given(chain_maps())
def test_every_table_comes_before_the_tables_it_references_and_after_those_referencing_it(
    data: dict[str, Any],
) -> None:
    """Children before parents across every reference, whichever way the link reads it."""
    dm = DataMap.model_validate(data)
    problems = [p for p in validate(dm) if p.msgid != "datamap.problem.keep_direct_link"]
    assert problems == []
    steps = plan_steps(dm)
    position = {s.target: s.seq for s in steps if s.kind.startswith("sql.") and s.target}
    tables = dm.sql_stores()["db"].tables
    for name, table in tables.items():
        if name not in position:
            continue
        for link in table.link:
            found = referenced(link, table, tables)
            if found is None or found[0] not in position:
                continue
            parent, reverse = found
            if reverse:  # the parent references this table: this table's rows go after it
                assert position[parent] < position[name], (name, parent)
            else:
                assert position[name] < position[parent], (name, parent)
    assert steps[-1].kind == "residual"


def test_a_table_referenced_by_two_tables_comes_after_both() -> None:
    """The shop5 address: found through customer.address_id and orders.shipping_address_id."""
    tables = {
        "customer": {"action": "delete"},
        "orders": {"link": {"column": "customer_id"}, "action": "delete"},
        "address": {
            "link": [
                {"column": "id", "parent": "customer", "parent_column": "address_id"},
                {"column": "id", "parent": "orders", "parent_column": "shipping_address_id"},
            ],
            "action": "delete",
        },
    }
    data = {**BASE, "stores": {"db": {"kind": "sql", "url": "sqlite://", "tables": tables}}}
    data["subject"] = {"store": "db", "table": "customer", "identifiers": {}}
    order = [s.target for s in plan_steps(DataMap.model_validate(data)) if s.kind == "sql.delete"]
    assert order == ["orders", "customer", "address"]


def test_detach_steps_and_redis_and_files_come_first_and_the_account_last() -> None:
    data = {**BASE}
    dm = DataMap.model_validate(data)
    kinds = [s.kind for s in plan_steps(dm)]
    assert kinds[0] == "redis.delete" and kinds[1] == "files.delete"
    sql = [s for s in plan_steps(dm) if s.kind.startswith("sql.") and s.kind != "sql.maintenance"]
    assert sql[-1].target == "users"
    assert [s.target for s in sql].index("order_items") < [s.target for s in sql].index("orders")


def test_keep_tables_get_no_step() -> None:
    dm = DataMap.model_validate(BASE)
    assert "products" not in {s.target for s in plan_steps(dm)}
