"""Validation refuses unsafe or undecided maps with a message that names the place."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from exitright.datamap.loader import json_schema, parse_map
from exitright.datamap.validate import Problem
from exitright.i18n import gettext
from tests.unit.datamap.maps import BASE, make


def problems_of(data: dict[str, Any]) -> list[Problem]:
    _, problems = parse_map(yaml.safe_dump(data), {})
    return problems


def only(data: dict[str, Any]) -> Problem:
    problems = problems_of(data)
    assert len(problems) == 1, problems
    return problems[0]


def test_the_base_map_is_valid() -> None:
    """The fixture map passes every check."""
    assert problems_of(BASE) == []


def test_a_linked_table_without_an_action_is_refused_naming_the_table() -> None:
    p = only(make(stores__db__tables__notes={"link": {"identifier": "phone", "column": "phone"}}))
    assert p.place == "stores.db.tables.notes"
    assert p.msgid == "datamap.problem.no_action"
    assert "notes" in gettext("en", p.msgid, **{**p.params, "place": p.place})
    assert "notes" in gettext("zh-CN", p.msgid, **{**p.params, "place": p.place})


def test_retain_without_a_known_legal_basis_is_refused() -> None:
    data = make()
    data["stores"]["db"]["tables"]["orders"]["retain"]["basis"] = "because-we-want"
    p = only(data)
    assert p.place == "stores.db.tables.orders.retain.basis"
    assert "cn-ecl-31" in p.params["known"]


def test_a_basis_counted_from_a_column_needs_from() -> None:
    data = make()
    del data["stores"]["db"]["tables"]["orders"]["retain"]["from"]
    assert only(data).msgid == "datamap.problem.basis_needs_from"


def test_an_unknown_store_or_parent_table_is_named() -> None:
    assert problems_of(make(subject__store="nope"))[0].place == "subject.store"
    data = make()
    data["stores"]["db"]["tables"]["order_items"]["link"]["parent"] = "ordrs"
    p = only(data)
    assert (p.place, p.params["name"]) == ("stores.db.tables.order_items.link[0].parent", "ordrs")


def test_a_link_cycle_cannot_be_ordered() -> None:
    data = make()
    data["stores"]["db"]["tables"]["orders"]["link"] = [
        {"column": "user_id"},
        {"column": "item_id", "parent": "order_items"},
    ]
    p = only(data)
    assert p.msgid == "datamap.problem.cycle"
    assert "order_items" in p.params["tables"] and "orders" in p.params["tables"]


def test_names_that_could_inject_sql_are_refused() -> None:
    data = make()
    data["stores"]["db"]["tables"]["users; DROP TABLE users"] = {"action": "keep", "reason": "x"}
    assert any(p.msgid == "datamap.problem.bad_name" for p in problems_of(data))
    data = make()
    data["stores"]["db"]["tables"]["notes"]["link"]["column"] = 'phone" OR 1=1 --'
    assert any(p.msgid == "datamap.problem.bad_name" for p in problems_of(data))


@pytest.mark.parametrize(
    "pattern",
    ["session:*", "session:{user_id}*", "session*{user_id}:x", "s{user_id}", "x:{nobody}"],
)
def test_redis_patterns_that_could_match_another_subject_are_refused(pattern: str) -> None:
    data = make()
    data["stores"]["cache"]["keys"] = [{"pattern": pattern}]
    assert problems_of(data), pattern


@pytest.mark.parametrize("pattern", ["/etc/{user_id}", "../{user_id}/x", "a/../../{user_id}"])
def test_file_patterns_cannot_escape_their_root(pattern: str) -> None:
    data = make()
    data["stores"]["files"]["paths"] = [{"pattern": pattern}]
    assert any(p.msgid == "datamap.problem.path_escapes" for p in problems_of(data))


def test_keep_is_refused_for_a_table_that_names_the_subject() -> None:
    data = make()
    data["stores"]["db"]["tables"]["notes"]["action"] = "keep"
    data["stores"]["db"]["tables"]["notes"]["reason"] = "we like them"
    assert only(data).msgid == "datamap.problem.keep_direct_link"


def test_anonymize_must_blank_the_link_column() -> None:
    data = make()
    data["stores"]["db"]["tables"]["notes"].update(action="anonymize", anonymize={"body": "redact"})
    p = only(data)
    assert (p.msgid, p.params["column"]) == ("datamap.problem.link_not_blanked", "phone")


def test_an_unset_environment_variable_is_named() -> None:
    text = yaml.safe_dump(make(stores__db__url="${NOPE_URL}"))
    dm, problems = parse_map(text, {})
    assert dm is None
    assert (problems[0].place, problems[0].params["name"]) == ("stores.db.url", "NOPE_URL")
    dm, problems = parse_map(text, {"NOPE_URL": "sqlite://"})
    assert problems == [] and dm is not None


def test_schema_errors_name_the_place() -> None:
    data = make()
    data["stores"]["db"]["tables"]["orders"]["action"] = "shred"
    problems = problems_of(data)
    assert problems and problems[0].place.startswith("stores.db.tables.orders")


def test_the_json_schema_describes_the_map() -> None:
    schema = json.loads(json_schema())
    assert schema["title"] == "DataMap"
    assert "stores" in schema["properties"]
