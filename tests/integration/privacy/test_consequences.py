"""The consequences shown before a cancellation are generated from the data map, nothing else."""

from __future__ import annotations

from typing import Any

from exitright.datamap.model import DataMap
from exitright.privacy.consequences import consequences


def small_map(orders_action: dict[str, Any]) -> DataMap:
    """A platform with an account, orders, anonymized logs, invitations, files and a courier."""
    return DataMap.model_validate(
        {
            "platform": "tiny",
            "subject": {"store": "db", "table": "users", "identifiers": {"phone": "phone"}},
            "stores": {
                "db": {
                    "kind": "sql",
                    "url": "sqlite://",
                    "tables": {
                        "users": {"action": "delete", "pi": {"phone": "contact.phone"}},
                        "orders": {
                            "link": {"column": "user_id"},
                            "pi": {"address": "location.address"},
                            **orders_action,
                        },
                        "logs": {
                            "link": {"column": "user_id"},
                            "action": "anonymize",
                            "anonymize": {"ip": None},
                            "pi": {"ip": "location.ip", "agent": "device.id"},
                        },
                        "invites": {
                            "link": [
                                {"column": "inviter_id"},
                                {"column": "invitee_id", "detach": True},
                            ],
                            "action": "delete",
                            "pi": {"invitee_id": "identity.account", "note": "free_text"},
                        },
                        "products": {"action": "keep", "reason": "the catalogue"},
                    },
                },
                "files": {
                    "kind": "files",
                    "root": "/srv/uploads",
                    "paths": [{"pattern": "avatars/{user_id}", "pi": "identity.photo"}],
                },
            },
            "recipients": [{"name": "couriers", "kind": "courier", "holds": ["contact.phone"]}],
        }
    )


RETAIN = {"action": "retain", "retain": {"basis": "cn-ecl-31", "from": "completed_at"}}


def test_each_action_of_the_map_lands_in_its_own_section() -> None:
    """Delete, anonymize (only the anonymized columns), detach, retain; keep tables not shown."""
    c = consequences(small_map(RETAIN))
    assert [(h.store, h.name) for h in c.deleted] == [
        ("db", "invites"),
        ("db", "users"),
        ("files", "avatars/{user_id}"),
    ]
    assert [(h.name, h.categories) for h in c.anonymized] == [("logs", ("location.ip",))]
    assert [(h.name, h.categories) for h in c.detached] == [("invites", ("identity.account",))]
    assert all(h.name != "products" for h in (*c.deleted, *c.anonymized, *c.detached))
    [group] = c.kept
    assert group.basis.id == "cn-ecl-31" and group.years == 3
    assert group.basis.citation == "中华人民共和国电子商务法 第三十一条"
    assert group.title("en").startswith("E-commerce Law Art. 31")
    assert group.title("zh-CN").startswith("电子商务法第三十一条")
    [kept] = group.holdings
    assert kept.holding.name == "orders" and kept.counted_from == "completed_at"
    assert [(r.kind, r.categories) for r in c.recipients] == [("courier", ("contact.phone",))]


def test_changing_the_map_changes_what_the_page_says() -> None:
    """Orders deleted instead of kept: nothing is kept any more, and orders are deleted."""
    c = consequences(small_map({"action": "delete"}))
    assert c.kept == ()
    assert "location.address" in c.deleted_categories
    assert "orders" in [h.name for h in c.deleted]


def test_a_period_that_is_not_whole_years_is_shown_in_months() -> None:
    """Network logs (Cybersecurity Law Art. 21(3)) are kept six months."""
    retain = {"action": "retain", "retain": {"basis": "cn-csl-21", "from": "completed_at"}}
    [group] = consequences(small_map(retain)).kept
    assert group.years is None and group.basis.months == 6
