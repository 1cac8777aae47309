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
    """Random acyclic link graphs: table i links to the subject or to tables with smaller i."""
    n = draw(st.integers(1, 12))
    tables: dict[str, Any] = {"users": {"action": "delete"}}
    for i in range(n):
        links: list[dict[str, Any]] = []
        for _ in range(draw(st.integers(1, 3))):
            target = draw(st.integers(-1, i - 1))
            if target < 0:
                links.append({"column": f"user_id_{len(links)}"})
            elif draw(st.booleans()):
                links.append({"column": f"t{target}_id", "parent": f"t{target}"})
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


@settings(max_examples=200, deadline=None)
@given(chain_maps())
def test_every_table_comes_before_the_tables_it_is_found_through(data: dict[str, Any]) -> None:
    dm = DataMap.model_validate(data)
    problems = [p for p in validate(dm) if p.msgid != "datamap.problem.keep_direct_link"]
    assert problems == []
    steps = plan_steps(dm)
    position = {s.target: s.seq for s in steps if s.kind.startswith("sql.") and s.target}
    for name, table in dm.sql_stores()["db"].tables.items():
        if name not in position:
            continue
        for link in table.link:
            parent = link.parent if isinstance(link, ColumnLink) else None
            parent = link.through if isinstance(link, ThroughLink) else parent
            parent = parent or "users"
            if parent in position:
                assert position[name] < position[parent], (name, parent)
    assert steps[-1].kind == "residual"


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
