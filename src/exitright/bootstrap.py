"""The one place that wires the request workflow: engine database, erasure, keys, clock, policies.

:func:`build` returns a :class:`Runtime` — the ports the use cases of
:mod:`exitright.cancellation.services` take, and a factory of units of work. The web app, the
worker and the CLI each build one; tests build one with their own clock, map and engines.
:class:`EngineEraser` is the adapter of the ``Eraser`` port onto :mod:`exitright.erasure.service`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from exitright.cancellation.calendar_data import load_arrangements, packaged_arrangements
from exitright.cancellation.cooling_off import CoolingOffPolicy, validate_timing
from exitright.cancellation.deadlines import DeadlinePolicy, Regime, deadline_policy
from exitright.cancellation.ports import (
    EraserBusyError,
    ErasureOutcome,
    Identifiers,
    Ports,
    RetryPolicy,
    TableCounts,
)
from exitright.clock import Clock, SystemClock
from exitright.config import Settings
from exitright.datamap.loader import load_map
from exitright.datamap.model import DataMap, RedisStore
from exitright.db.engine import make_engine
from exitright.db.requests import IdentifierCipher, SqlUnitOfWork
from exitright.erasure import service as erasure
from exitright.erasure.context import ErasureContext
from exitright.erasure.executor import run_plan
from exitright.erasure.models import ErasurePlan
from exitright.errors import ExitRightError
from exitright.keys import load_key
from exitright.ledger.signing import wrapping_key
from exitright.pseudonym import pseudonym
from exitright.vault.crypto import LocalKeyWrapper
from exitright.vault.models import VaultRecord
from exitright.vault.service import VaultService

__all__ = ["EngineEraser", "Runtime", "build", "deadline_policies", "demo_map", "runtime_for"]


class EngineEraser:
    """The ``Eraser`` port on the erasure engine: one plan per request, found again on re-runs."""

    def __init__(self, ctx: ErasureContext, dm: DataMap) -> None:
        self.ctx = ctx
        self.dm = dm

    @staticmethod
    def _lookup(identifiers: Identifiers) -> erasure.Lookup:
        return erasure.Lookup(identifiers.kind, identifiers.value)

    def subject_ref(self, identifiers: Identifiers) -> str:
        """The pseudonym the erasure plan will carry (account id if found, else the identifier)."""
        lookup = self._lookup(identifiers)
        ids, _found = erasure.resolve(self.ctx, self.dm, lookup)
        if ids.user_id is not None:
            return pseudonym(self.ctx.pseudonym_key, self.dm.platform, str(ids.user_id))
        return pseudonym(
            self.ctx.pseudonym_key, self.dm.platform, f"{lookup.kind}:{ids.get(lookup.kind)}"
        )

    def plan(self, request_id: str, identifiers: Identifiers) -> str:
        """The plan already persisted for ``request_id``, or a new one."""
        with Session(self.ctx.engine) as s:
            existing = s.scalars(
                select(ErasurePlan.id)
                .where(ErasurePlan.request_id == request_id)
                .order_by(ErasurePlan.created_at)
                .limit(1)
            ).first()
        if existing is not None:
            return existing
        return erasure.plan_erasure(
            self.ctx, self.dm, self._lookup(identifiers), request_id=request_id
        )

    def run(self, plan_id: str, worker: str) -> ErasureOutcome:
        """Run the plan unless it already completed; report its counts and retention."""
        with Session(self.ctx.engine) as s:
            status = s.scalar(select(ErasurePlan.status).where(ErasurePlan.id == plan_id))
        if status != "completed":
            try:
                run_plan(self.ctx, self.dm, plan_id, worker=worker)
            except ExitRightError as exc:
                if exc.message_id == "erasure.plan_busy":
                    raise EraserBusyError(plan_id) from exc
                raise
        summary = erasure.summarize(self.ctx, plan_id)
        kept = self._retention(plan_id)
        tables = [
            TableCounts(
                store=store,
                table=table,
                counts={k: int(v) for k, v in counts.items()},
                legal_basis=kept.get((store, table), (None, None))[0],
                retain_until=kept.get((store, table), (None, None))[1],
            )
            for (store, table), counts in summary.tables.items()
        ]
        return ErasureOutcome(
            status="completed" if summary.status == "completed" else "failed",
            tables=tables,
            residual_hits=len(summary.hits),
            failed_step=summary.failed_step,
        )

    def _retention(self, plan_id: str) -> dict[tuple[str, str], tuple[str, str]]:
        """Per table, the legal basis and the latest expiry of the rows the vault keeps."""
        with Session(self.ctx.engine) as s:
            rows = s.execute(
                select(
                    VaultRecord.store,
                    VaultRecord.table_name,
                    VaultRecord.legal_basis,
                    func.max(VaultRecord.retain_until),
                )
                .where(VaultRecord.plan_id == plan_id)
                .group_by(VaultRecord.store, VaultRecord.table_name, VaultRecord.legal_basis)
            ).all()
        out: dict[tuple[str, str], tuple[str, str]] = {}
        for store, table, basis, until in rows:
            out[(store, table)] = (basis, until.isoformat() if until else "")
        return out


def deadline_policies(settings: Settings) -> dict[Regime, DeadlinePolicy]:
    """A deadline policy per regime; cn counts with the packaged and deployed holiday files."""
    arrangements = packaged_arrangements() + load_arrangements([settings.data_dir / "calendars"])
    return {r: deadline_policy(r.value, arrangements=arrangements) for r in Regime}


def demo_map(settings: Settings) -> DataMap:
    """The demo platform's data map, pointed at this deployment's demo database and folders."""
    path = Path(str(resources.files("exitright.demo") / "datamap.yaml"))
    env = {
        **os.environ,
        "EXITRIGHT_DEMO_DATABASE_URL": settings.demo_url,
        "EXITRIGHT_REDIS_URL": settings.redis_url or "redis://127.0.0.1:6379/0",
        "EXITRIGHT_DEMO_UPLOADS": str(settings.data_dir / "uploads"),
    }
    dm = load_map(path, env)
    if settings.redis_url is None:
        # The embedded default runs without Redis, and the demo then keeps no sessions or carts
        # there (exitright demo seed writes them only when Redis is configured): nothing to erase.
        stores = {name: s for name, s in dm.stores.items() if not isinstance(s, RedisStore)}
        dm = dm.model_copy(update={"stores": stores})
    return dm


@dataclass
class Runtime:
    """What the request use cases run on: the ports, and units of work on the engine database."""

    engine: Engine
    ports: Ports
    cipher: IdentifierCipher
    wrap: bytes
    settings: Settings
    _owned: list[Engine] = field(default_factory=list)

    @property
    def clock(self) -> Clock:
        """The clock every use case reads."""
        return self.ports.clock

    def uow(self, *, readonly: bool = False) -> SqlUnitOfWork:
        """A fresh unit of work (one transaction per ``with``)."""
        return SqlUnitOfWork(self.engine, self.cipher, self.clock, self.wrap, readonly=readonly)

    def close(self) -> None:
        """Dispose of the engines this runtime created."""
        for engine in self._owned:
            engine.dispose()


_runtime_lock = threading.Lock()


def runtime_for(state: Any) -> Runtime:
    """The runtime kept on a web app's ``state`` (built on first use from ``state.settings``).

    Tests may put their own on ``state.requests_runtime`` before the app serves.
    """
    with _runtime_lock:
        existing: Runtime | None = getattr(state, "requests_runtime", None)
        if existing is None:
            existing = build(state.settings, engine=state.engine)
            state.requests_runtime = existing
            state.on_shutdown.append(existing.close)
    return existing


def build(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    datamap: DataMap | None = None,
    cooling_off: CoolingOffPolicy | None = None,
    retry: RetryPolicy | None = None,
    sql_engines: dict[str, Engine] | None = None,
    redis_clients: dict[str, redis.Redis] | None = None,  # type: ignore[type-arg]  # as erasure.context declares it
    **ports: Any,
) -> Runtime:
    """Wire the workflow for ``settings``; refuses a cooling-off that cannot meet the deadline.

    Without ``datamap``, the demo platform's map is used when the demo is enabled; a deployment
    without a map accepts no cancellation (its API answers ``kind_not_supported``).
    """
    clock = clock or SystemClock()
    owned: list[Engine] = []
    if engine is None:
        engine = make_engine(settings.engine_url)
        owned.append(engine)
    policies = deadline_policies(settings)
    default_regime = Regime(settings.regime)
    cooling = cooling_off or CoolingOffPolicy(settings.cooling_off_days)
    validate_timing(policies[default_regime], cooling)
    if datamap is None and settings.datamap_path is not None:
        datamap = load_map(settings.datamap_path)
    elif datamap is None and settings.demo_enabled:
        datamap = demo_map(settings)
    eraser = None
    if datamap is not None:
        ctx = ErasureContext(
            engine=engine,
            vault=VaultService(engine, LocalKeyWrapper(load_key(settings, "vault_master")), clock),
            pseudonym_key=load_key(settings, "pseudonym"),
            clock=clock,
            sql_engines=sql_engines or {},
            redis_clients=redis_clients or {},
        )
        eraser = EngineEraser(ctx, datamap)
    wired = Ports(
        clock=clock,
        eraser=eraser,
        deadlines=policies,
        default_regime=default_regime,
        cooling_off=cooling,
        retry=retry or RetryPolicy(),
        issuer=settings.public_url,
        **ports,
    )
    return Runtime(
        engine=engine,
        ports=wired,
        cipher=IdentifierCipher(load_key(settings, "secret")),
        wrap=wrapping_key(load_key(settings, "secret")),
        settings=settings,
        _owned=owned,
    )
