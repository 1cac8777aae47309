"""The data map's ``items`` and ``correctable``: what validation refuses, and the small maps."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from exitright.cancellation.ports import ScopeRejectedError
from exitright.datamap.items import ItemRef, descendants, parse_ref, restricted_map
from exitright.datamap.model import ColumnLink, DataMap
from exitright.datamap.validate import validate
from exitright.erasure.planner import plan_steps
from exitright.privacy.item_deletion import normalize_items

MAP: dict[str, Any] = yaml.safe_load(
    """
version: 1
platform: shop
subject: {store: db, table: users, key: id, identifiers: {phone: phone}}
stores:
  db:
    kind: sql
    url: sqlite://
    tables:
      users:
        action: delete
        pi: {phone: contact.phone, nickname: profile, password_hash: credentials}
        correctable: [nickname]
      orders:
        link: {column: user_id}
        action: retain
        retain: {basis: cn-ecl-31, from: completed_at}
      reviews:
        link: [{column: user_id}, {column: order_id, parent: orders}]
        action: delete
        pi: {content: free_text}
        items: {label: {zh-CN: 评价, en: reviews}, one_by_one: true}
        correctable: [content]
      review_photos:
        link: {column: review_id, parent: reviews}
        action: delete
      review_votes:
        link: [{column: review_id, parent: reviews}, {column: voter_id, detach: true}]
        action: anonymize
        anonymize: {note: null}
      search_history:
        link: {column: user_id}
        action: delete
        items: {label: {zh-CN: 搜索记录, en: search history}}
"""
)


def problems_of(**tables: dict[str, Any]) -> set[str]:
    """The problem ids of MAP with ``tables`` replaced or added."""
    data = yaml.safe_load(yaml.safe_dump(MAP))
    data["stores"]["db"]["tables"].update(tables)
    return {p.msgid for p in validate(DataMap.model_validate(data))}


def test_the_example_map_with_items_and_correctable_columns_is_valid() -> None:
    """Items on delete tables with a user id column, correctable columns with categories."""
    assert problems_of() == set()


USERS = "action: delete, pi: {phone: contact.phone, password_hash: credentials}"
CASES = {
    "kinds.problem.items_action": "orders: {link: {column: user_id}, action: retain,"
    " retain: {basis: cn-ecl-31, from: completed_at}, items: {label: {zh-CN: 单, en: x}}}",
    "kinds.problem.items_subject": f"users: {{{USERS}, items: {{label: {{zh-CN: 号, en: x}}}}}}",
    "kinds.problem.items_link": "review_photos: {link: {column: review_id, parent: reviews},"
    " action: delete, items: {label: {zh-CN: 图, en: x}}}",
    "kinds.problem.items_key": "search_history: {key: null, link: {column: user_id},"
    " action: delete, items: {label: {zh-CN: 搜, en: x}, one_by_one: true}}",
    "kinds.problem.items_label": "search_history: {link: {column: user_id}, action: delete,"
    " items: {label: {en: searches}}}",
    "kinds.problem.items_child": "review_photos: {link: {column: review_id, parent: reviews},"
    " action: retain, retain: {basis: cn-ecl-31, from: created_at}}",
    "kinds.problem.correct_category": f"users: {{{USERS}, correctable: [email]}}",
    "kinds.problem.correct_not_allowed": f"users: {{{USERS}, correctable: [password_hash]}}",
    "kinds.problem.correct_key": "search_history: {link: {column: user_id}, action: delete,"
    " pi: {user_id: profile}, correctable: [user_id]}",
    "kinds.problem.correct_table": "review_photos: {link: {column: review_id, parent: reviews},"
    " action: delete, pi: {path: free_text}, correctable: [path]}",
}


@pytest.mark.parametrize(("msgid", "tables"), sorted(CASES.items()))
def test_validation_refuses_items_and_corrections_it_cannot_carry_out(
    msgid: str, tables: str
) -> None:
    """Each misuse is reported with its own problem id."""
    assert msgid in problems_of(**yaml.safe_load("{" + tables + "}"))


def test_references_parse_and_print_back() -> None:
    """All rows, one row, a column of the account, a column of one row; junk is None."""
    assert parse_ref("db.search_history") == ItemRef("db", "search_history")
    assert parse_ref("db.reviews:42") == ItemRef("db", "reviews", "42")
    assert parse_ref("db.users.nickname") == ItemRef("db", "users", None, "nickname")
    assert parse_ref("db.addresses:7.detail") == ItemRef("db", "addresses", "7", "detail")
    for text in ("db.reviews:42", "db.users.nickname", "db.addresses:7.detail"):
        ref = parse_ref(text)
        assert ref is not None and str(ref) == text
    for junk in ("reviews", "db.reviews:", "db.reviews:1;drop", "db.a.b.c", "../x.y", ""):
        assert parse_ref(junk) is None


def test_a_small_map_holds_the_item_s_table_and_what_hangs_off_it_only() -> None:
    """One review: keyed by id, its photos and votes through it, no link to the user id."""
    dm = DataMap.model_validate(MAP)
    assert descendants(dm.sql_stores()["db"].tables, "reviews") == ["review_photos", "review_votes"]
    small = restricted_map(dm, ItemRef("db", "reviews", "42"))
    assert validate(small) == []
    tables = small.sql_stores()["db"].tables
    assert set(tables) == {"reviews", "review_photos", "review_votes"}
    assert (small.subject.table, small.subject.key) == ("reviews", "id")
    assert tables["reviews"].link == []
    for name in ("review_photos", "review_votes"):
        assert tables[name].link == [ColumnLink(column="review_id", parent="reviews")]
    assert tables["review_votes"].action == "anonymize"
    kinds = [(s.kind, s.target) for s in plan_steps(small)]
    assert kinds.index(("sql.delete", "review_photos")) < kinds.index(("sql.delete", "reviews"))
    assert kinds[-1] == ("residual", "")
    assert small.residual.mode == "indexed"


def test_all_of_a_table_is_found_by_its_user_id_column() -> None:
    """The whole search history: the small map's subject key is the link column."""
    small = restricted_map(DataMap.model_validate(MAP), ItemRef("db", "search_history"))
    assert (small.subject.table, small.subject.key) == ("search_history", "user_id")
    assert set(small.sql_stores()["db"].tables) == {"search_history"}


@given(st.text(max_size=80))
def test_any_text_is_a_reference_that_prints_back_or_none(text: str) -> None:
    """Nothing half-parses: a reference prints back as given, all else is refused."""
    ref = parse_ref(text)
    assert ref is None or str(ref) == text.strip()


@given(
    st.lists(st.sampled_from(["db.search_history", "db.reviews:1", "db.reviews:2", "db.reviews"]))
)
def test_what_is_offered_is_accepted_whatever_the_mix(scope: list[str]) -> None:
    """Any mix of offered items normalizes; all rows of a table absorb its single rows."""
    dm = DataMap.model_validate(MAP)
    if not scope:
        with pytest.raises(ScopeRejectedError):
            normalize_items(dm, scope)
        return
    items = normalize_items(dm, scope)
    assert list(items) == sorted(set(items))
    if "db.reviews" in scope:
        assert not any(i.startswith("db.reviews:") for i in items)
    assert set(items) <= set(scope)
