"""The Redis connector: deletes a subject's keys (or their fields), searches keys and values.

Patterns come from the map (validated so a placeholder is bounded by separators) and are filled
with escaped identifier values, so ``session:{user_id}:*`` for user 12 never matches user 123.
"""

from __future__ import annotations

from typing import Any

import redis

from exitright.connectors.base import Hit, SubjectIds
from exitright.connectors.patterns import fill, has_glob, redis_escape, unescape_redis
from exitright.datamap.model import RedisStore

SCAN_COUNT = 500


class RedisConnector:
    """One Redis store of the map."""

    def __init__(
        self, name: str, store: RedisStore, client: redis.Redis[bytes] | None = None
    ) -> None:
        self.name = name
        self.store = store
        self.client: redis.Redis[bytes] = client or redis.Redis.from_url(store.url)
        self._owns_client = client is None

    def _keys(self, index: int, ids: SubjectIds) -> list[bytes]:
        spec = self.store.keys[index]
        if spec.fields and not has_glob(spec.pattern) and "{" not in spec.pattern:
            return [spec.pattern.encode()] if self.client.exists(spec.pattern) else []
        filled = fill(spec.pattern, ids.placeholder_values(), redis_escape)
        if filled is None:
            return []
        if not has_glob(filled):
            key = unescape_redis(filled)
            return [key.encode()] if self.client.exists(key) else []
        return sorted(set(self.client.scan_iter(match=filled, count=SCAN_COUNT)))

    def count(self, index: int, ids: SubjectIds) -> int:
        """How many keys the pattern matches for this subject."""
        return len(self._keys(index, ids))

    def erase(self, index: int, ids: SubjectIds) -> int:
        """Delete the matched keys, or only the listed fields/members of them; idempotent."""
        spec = self.store.keys[index]
        keys = self._keys(index, ids)
        if not keys:
            return 0
        if not spec.fields:
            for i in range(0, len(keys), SCAN_COUNT):
                self.client.delete(*keys[i : i + SCAN_COUNT])
            return len(keys)
        values = ids.placeholder_values()
        fields = [f for f in (fill(p, values, lambda v: v) for p in spec.fields) if f]
        for key in keys:
            kind = self.client.type(key)  # type: ignore[no-untyped-call]  # untyped in types-redis
            kind = kind.decode() if isinstance(kind, bytes) else kind
            if kind == "hash":
                self.client.hdel(key, *fields)
            elif kind == "set":
                self.client.srem(key, *fields)
            elif kind == "zset":
                self.client.zrem(key, *fields)
            elif kind == "list":
                for f in fields:
                    self.client.lrem(key, 0, f)
        return len(keys)

    def residual(self, ids: SubjectIds) -> list[Hit]:
        """Keys still matching the subject's patterns, and keys whose name or value holds a phone,
        e-mail or ID number of the subject (user ids are too short to search for as text)."""
        hits: list[Hit] = []
        values = ids.placeholder_values()
        for i, spec in enumerate(self.store.keys):
            for key in self._keys(i, ids):
                if not spec.fields:
                    hits.append(
                        Hit(self.name, "(keys)", spec.pattern, key.decode(errors="replace"))
                    )
                    continue
                members = {blob for _part, blob in self.values_of(key)}
                for f in (fill(p, values, lambda v: v) for p in spec.fields):
                    if f and f.encode() in members:
                        hits.append(
                            Hit(self.name, key.decode(errors="replace"), "field", spec.pattern)
                        )
        needles = [n.encode() for n in ids.needles()]
        if not needles:
            return hits
        for key in self.client.scan_iter(count=SCAN_COUNT):
            name = key.decode(errors="replace")
            if any(n in key.lower() for n in needles):
                hits.append(Hit(self.name, "(keys)", "name", name))
                continue
            for part, blob in self.values_of(key):
                if any(n in blob.lower() for n in needles):
                    hits.append(Hit(self.name, name, part, ""))
                    break
        return hits

    def values_of(self, key: bytes) -> list[tuple[str, bytes]]:
        """(part, bytes) of a key's value: the string, hash fields and values, members, items."""
        kind: Any = self.client.type(key)  # type: ignore[no-untyped-call]  # untyped in types-redis
        kind = kind.decode() if isinstance(kind, bytes) else kind
        if kind == "string":
            value = self.client.get(key)
            return [("value", value)] if isinstance(value, bytes) else []
        if kind == "hash":
            out: list[tuple[str, bytes]] = []
            for f, v in self.client.hgetall(key).items():
                out += [("field", f), ("value", v)]
            return out
        if kind == "set":
            return [("member", m) for m in self.client.smembers(key)]
        if kind == "zset":
            return [("member", m) for m in self.client.zrange(key, 0, -1)]
        if kind == "list":
            return [("item", m) for m in self.client.lrange(key, 0, 999)]
        return []

    def close(self) -> None:
        """Close the client if this connector created it."""
        if self._owns_client:
            self.client.close()
