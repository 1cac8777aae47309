"""What an erasure needs from the outside: the engine database, the vault, keys, a clock, stores.

``ErasureContext.from_settings`` is the production wiring; tests build one by hand with their own
engines and clients (``sql_engines`` / ``redis_clients`` replace the map's URLs per store).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Any

import redis
from sqlalchemy import Engine, MetaData

from exitright.clock import Clock, SystemClock
from exitright.config import Settings
from exitright.connectors.files import FilesConnector
from exitright.connectors.redis import RedisConnector
from exitright.connectors.sql import SqlConnector
from exitright.connectors.sql_engine import store_engine
from exitright.datamap.model import DataMap, FilesStore, RedisStore, SqlStore
from exitright.db.engine import make_engine
from exitright.erasure.planner import PlannedStep, plan_steps
from exitright.erasure.sealing import PlanSealer
from exitright.errors import ErrorCode, ExitRightError
from exitright.keys import load_key
from exitright.pseudonym import keyed_hash
from exitright.vault.crypto import LocalKeyWrapper
from exitright.vault.service import VaultService

Connectors = dict[str, SqlConnector | RedisConnector | FilesConnector]
MAX_SHAPES = 32  # maps whose statements a context keeps (item deletion makes one per choice)


def map_digest(dm: DataMap) -> str:
    """A digest of the map's decisions (not of URLs or roots, which differ between machines)."""
    data = dm.model_dump(mode="json", exclude_none=True)
    for store in data["stores"].values():
        store.pop("url", None)
        store.pop("root", None)
    # Who is told, and how, does not change what an erasure does to the stores.
    data.pop("recipients", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass
class ErasureContext:
    """The ports of the erasure use cases."""

    engine: Engine
    vault: VaultService
    pseudonym_key: bytes
    clock: Clock
    batch_size: int = 500
    lease: timedelta = timedelta(minutes=5)
    sql_engines: dict[str, Engine] = field(default_factory=dict)
    redis_clients: dict[str, redis.Redis[bytes]] = field(default_factory=dict)
    # Reflected schemas and maps already checked against the stores, kept for this context's life
    # (a worker re-creates its context to pick up schema changes).
    schemas: dict[str, MetaData] = field(default_factory=dict)
    verified: set[str] = field(default_factory=set)
    # Digests of the maps used with this context, by object (a map is not changed in place).
    digests: dict[int, tuple[DataMap, str]] = field(default_factory=dict)
    # Per map digest and SQL store: conditions and statements built once with bound parameters.
    shapes: dict[tuple[str, str], dict[Hashable, Any]] = field(default_factory=dict)
    # Engines opened from the maps' URLs (stores not in ``sql_engines``), by URL, for this
    # context's life: an engine per plan would connect anew and compile every statement again.
    store_engines: dict[str, Engine] = field(default_factory=dict)
    store_clients: dict[str, redis.Redis[bytes]] = field(default_factory=dict)
    # The ordered steps of each map (by digest): the same for every subject.
    planned: dict[str, list[PlannedStep]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @cached_property
    def sealer(self) -> PlanSealer:
        """Seals an open plan's identifiers (and pinned keys) at rest."""
        return PlanSealer(self.pseudonym_key)

    @property
    def hash_key(self) -> bytes:
        """The key of the ``hash`` anonymize method (derived, so it is not the pseudonym key)."""
        return bytes.fromhex(keyed_hash(self.pseudonym_key, "anonymize-hash-key", "v1"))

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Clock | None = None, **kwargs: Any
    ) -> ErasureContext:
        """The production wiring: engine database from settings, keys from settings or key files."""
        clock = clock or SystemClock()
        engine = make_engine(settings.engine_url)
        wrapper = LocalKeyWrapper(load_key(settings, "vault_master"))
        vault = VaultService(engine, wrapper, clock)
        return cls(engine, vault, load_key(settings, "pseudonym"), clock, **kwargs)

    def digest(self, dm: DataMap) -> str:
        """``map_digest(dm)``, computed once per map object for this context."""
        known = self.digests.get(id(dm))
        if known is None or known[0] is not dm:
            known = self.digests[id(dm)] = (dm, map_digest(dm))
        return known[1]

    def steps(self, dm: DataMap) -> list[PlannedStep]:
        """``plan_steps(dm)``, computed once per map for this context."""
        digest = self.digest(dm)
        known = self.planned.get(digest)
        if known is None:
            with self._lock:
                if len(self.planned) > MAX_SHAPES:
                    self.planned.clear()
                known = self.planned[digest] = plan_steps(dm)
        return known

    def engines(self, dm: DataMap) -> dict[str, Engine]:
        """An engine for every SQL store of ``dm``: the one given, else one kept per URL."""
        out: dict[str, Engine] = {}
        for name, store in dm.sql_stores().items():
            engine = self.sql_engines.get(name)
            if engine is None:
                with self._lock:
                    engine = self.store_engines.get(store.url)
                    if engine is None:
                        engine = self.store_engines[store.url] = store_engine(store.url)
            out[name] = engine
        return out

    def open(self, dm: DataMap) -> Connectors:
        """A connector for every store of ``dm`` (the engines and clients given here first)."""
        digest = self.digest(dm)
        with self._lock:
            if len(self.shapes) > MAX_SHAPES:
                self.shapes.clear()
            shapes = {name: self.shapes.setdefault((name, digest), {}) for name in dm.sql_stores()}
        return self.open_stores(dm, self.engines(dm), self._clients(dm), self.schemas, shapes)

    def _clients(self, dm: DataMap) -> dict[str, redis.Redis[bytes]]:
        """A client for every Redis store of ``dm``: the one given, else one kept per URL."""
        out: dict[str, redis.Redis[bytes]] = {}
        for name, store in dm.stores.items():
            if not isinstance(store, RedisStore):
                continue
            client = self.redis_clients.get(name)
            if client is None:
                with self._lock:
                    client = self.store_clients.get(store.url)
                    if client is None:
                        client = self.store_clients[store.url] = redis.Redis.from_url(store.url)
            out[name] = client
        return out

    def close(self) -> None:
        """Dispose of the engines and clients this context opened (not those it was given)."""
        with self._lock:
            engines, self.store_engines = list(self.store_engines.values()), {}
            clients, self.store_clients = list(self.store_clients.values()), {}
        for engine in engines:
            engine.dispose()
        for client in clients:
            client.close()

    @staticmethod
    def open_stores(
        dm: DataMap,
        sql_engines: dict[str, Engine] | None = None,
        redis_clients: dict[str, redis.Redis[bytes]] | None = None,
        schemas: dict[str, MetaData] | None = None,
        shapes: dict[str, dict[Hashable, Any]] | None = None,
    ) -> Connectors:
        """A connector for every store of ``dm``, from the map's URLs unless given."""
        out: Connectors = {}
        for name, store in dm.stores.items():
            if isinstance(store, SqlStore):
                subject = dm.subject if name == dm.subject.store else None
                out[name] = SqlConnector(
                    name,
                    store,
                    subject,
                    (sql_engines or {}).get(name),
                    schemas,
                    (shapes or {}).get(name),
                )
            elif isinstance(store, RedisStore):
                out[name] = RedisConnector(name, store, (redis_clients or {}).get(name))
            elif isinstance(store, FilesStore):
                out[name] = FilesConnector(name, store)
        return out


def close_all(connectors: Connectors) -> None:
    """Close every connector."""
    for c in connectors.values():
        c.close()


def unreachable(store: str, exc: BaseException) -> ExitRightError:
    """The error for a store that cannot be reached (no driver message: it may hold values)."""
    return ExitRightError(
        ErrorCode.STORE_UNREACHABLE,
        details={"store": store, "error": type(exc).__name__},
        message_id="erasure.store_unreachable",
        params={"store": store},
    )
