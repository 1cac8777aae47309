"""Small data maps for tests, built as Python dicts (what YAML parses into)."""

from __future__ import annotations

import copy
from typing import Any

BASE: dict[str, Any] = {
    "version": 1,
    "platform": "shop",
    "subject": {
        "store": "db",
        "table": "users",
        "identifiers": {"phone": "phone", "email": "email"},
    },
    "stores": {
        "db": {
            "kind": "sql",
            "url": "sqlite://",
            "tables": {
                "users": {"action": "delete", "pi": {"phone": "contact.phone"}},
                "orders": {
                    "link": {"column": "user_id"},
                    "action": "retain",
                    "retain": {"basis": "cn-ecl-31", "from": "completed_at"},
                },
                "order_items": {
                    "link": {"column": "order_id", "parent": "orders"},
                    "action": "delete",
                },
                "notes": {"link": {"identifier": "phone", "column": "phone"}, "action": "delete"},
                "products": {"action": "keep", "reason": "catalogue"},
            },
        },
        "cache": {
            "kind": "redis",
            "url": "redis://x",
            "keys": [{"pattern": "session:{user_id}:*"}],
        },
        "files": {
            "kind": "files",
            "root": "/srv/uploads",
            "paths": [{"pattern": "avatars/{user_id}/*"}],
        },
    },
}


def make(**changes: Any) -> dict[str, Any]:
    """A copy of BASE with dotted-path changes applied (value None deletes the key)."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        *path, last = dotted.split("__")
        node = data
        for part in path:
            node = node[part]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return data
