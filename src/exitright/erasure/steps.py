"""Running one step of a plan against the open connectors (what a step *does*).

The bookkeeping around it (claiming, recording counts, resuming) lives in ``executor.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement

from exitright.connectors.files import FilesConnector
from exitright.connectors.redis import RedisConnector
from exitright.connectors.sql import SqlConnector
from exitright.connectors.sql_maintenance import after_erasure
from exitright.connectors.sql_residual import sql_residual
from exitright.datamap.graph import reverse_linked
from exitright.datamap.model import ColumnLink, DataMap, IdentifierLink, Method, detach_methods
from exitright.erasure import retain as retaining
from exitright.erasure.anonymize import Hasher
from exitright.erasure.context import Connectors, ErasureContext
from exitright.erasure.models import ErasurePlan, Step
from exitright.erasure.sealing import PlanSecrets

Observer = Callable[[str], None]
MAX_REPORTED_HITS = 50

# The count each kind of step reports, and the steps that change a store (and may be empty).
EMPTY_COUNTS = {
    "sql.delete": "deleted",
    "sql.anonymize": "anonymized",
    "sql.retain": "retained",
    "sql.detach": "detached",
    "redis.delete": "keys",
    "files.delete": "files",
}


class StepRunner:
    """Runs the steps of one plan against open connectors.

    ``steps`` are all the plan's steps (the maintenance step reads which tables the others
    touched); ``fresh`` says this process created the plan and nothing ran before, so a retain
    step's count is what it put in the vault (a resumed plan counts the vault instead).
    """

    def __init__(
        self,
        ctx: ErasureContext,
        dm: DataMap,
        plan: ErasurePlan,
        secrets: PlanSecrets,
        connectors: Connectors,
        observe: Observer,
        *,
        steps: list[Step] | None = None,
        fresh: bool = False,
    ) -> None:
        self.ctx = ctx
        self.dm = dm
        self.plan_id = plan.id
        self.subject = plan.subject_pseudonym
        self.ids = secrets.ids
        self.secrets = secrets
        self.connectors = connectors
        self.observe = observe
        self.steps = steps or []
        self.fresh = fresh
        self.hasher = Hasher(ctx.hash_key)
        self.store_in_use = ""  # the store a measure or pin is reading (for its error)
        # Retain steps of the running group already in the vault: seq → (source keys, rows put).
        self.prefetched: dict[int, tuple[list[Any], int]] = {}
        for store, conn in connectors.items():
            if isinstance(conn, SqlConnector):
                conn.set_pins(secrets.pins.get(store, {}))
                conn.use(self.ids)

    def _sql(self, store: str) -> SqlConnector:
        c = self.connectors[store]
        assert isinstance(c, SqlConnector)
        return c

    def pin(self) -> bool:
        """Capture the keys of reverse-linked tables before anything changes (once per plan).

        Returns whether new pins were taken (the caller persists them with the counts).
        """
        taken = False
        for name, store in self.dm.sql_stores().items():
            wanted = [
                t for t in reverse_linked(store.tables) if t not in self.secrets.pins.get(name, {})
            ]
            if wanted:
                self.store_in_use = name
                self.secrets.pins.setdefault(name, {}).update(self._sql(name).pin(wanted, self.ids))
                taken = True
        return taken

    def measure_all(self, steps: list[Step]) -> dict[int, int]:
        """Counts of many steps by ``seq``; a SQL store's are read in one statement."""
        out: dict[int, int] = {}
        by_store: dict[str, list[tuple[Step, ColumnElement[bool]]]] = {}
        for st in steps:
            if st.matched is not None:
                out[st.seq] = st.matched
            elif st.kind.startswith("sql.") and st.kind in EMPTY_COUNTS:
                by_store.setdefault(st.store, []).append((st, self._condition(st)))
            elif st.kind in EMPTY_COUNTS:
                self.store_in_use = st.store
                out[st.seq] = self.measure(st)
        for store, items in by_store.items():
            self.store_in_use = store
            conn = self._sql(store)
            counts = conn.count_many([(st.target, cond) for st, cond in items])
            out.update({st.seq: n for (st, _), n in zip(items, counts, strict=True)})
        return out

    def _condition(self, step: Step) -> ColumnElement[bool]:
        conn = self._sql(step.store)
        if step.kind == "sql.detach":
            return conn.condition(step.target, step.idx or 0)
        return conn.condition(step.target)

    def measure(self, step: Step) -> int:
        """How many rows, keys or files the step will change (before it changes any)."""
        c = self.connectors.get(step.store)
        if step.kind in ("redis.delete", "files.delete"):
            assert isinstance(c, RedisConnector | FilesConnector)
            return c.count(step.idx or 0, self.ids)
        if step.kind in ("sql.detach", "sql.delete", "sql.anonymize", "sql.retain"):
            return self._sql(step.store).count(step.target, self._condition(step))
        return 0

    def run(self, step: Step, matched: int) -> tuple[dict[str, Any], dict[str, Any] | None, bool]:
        """Do the step; returns (counts, result, ok)."""
        seq = step.seq

        def on_batch(_n: int) -> None:
            self.observe(f"batch:{seq}")

        if step.kind in ("redis.delete", "files.delete"):
            c = self.connectors[step.store]
            assert isinstance(c, RedisConnector | FilesConnector)
            c.erase(step.idx or 0, self.ids)
            return {"keys" if step.kind == "redis.delete" else "files": matched}, None, True
        if step.kind == "residual":
            return self.residual()
        conn = self._sql(step.store)
        spec = conn.store.tables.get(step.target)
        if step.kind == "sql.maintenance":
            touched = [
                s.target
                for s in self.steps
                if s.store == step.store and s.kind in EMPTY_COUNTS and (s.matched or 0) > 0
            ]
            return {}, after_erasure(conn, touched), True
        assert spec is not None
        if step.kind == "sql.detach":
            link = spec.link[step.idx or 0]
            assert isinstance(link, ColumnLink | IdentifierLink)
            conn.anonymize_rows(
                step.target,
                conn.condition(step.target, step.idx or 0),
                detach_methods(link),
                self.hasher,
                self.ctx.batch_size,
                None,
                on_batch,
            )
            return {"detached": matched}, None, True
        cond = conn.condition(step.target)
        methods: dict[str, Method] = {c: spec.method(c) for c in spec.anonymize}
        if step.kind == "sql.delete":
            conn.delete_rows(step.target, cond, self.ctx.batch_size, on_batch, expected=matched)
            return {"deleted": matched}, None, True
        if step.kind == "sql.anonymize":
            conn.anonymize_rows(
                step.target, cond, methods, self.hasher, self.ctx.batch_size, None, on_batch
            )
            return {"anonymized": matched}, None, True
        if step.seq in self.prefetched:  # already in the vault: only the source side is left
            keys, put = self.prefetched.pop(step.seq)
            retaining.change(self, step, keys, on_batch)
            return retaining.counts(self, step, matched, put), None, True
        return retaining.run(self, step, matched, on_batch), None, True

    def residual(self, *, sql: bool = True) -> tuple[dict[str, Any], dict[str, Any] | None, bool]:
        """Search every store for the subject (``sql=False``: SQL stores found clean already)."""
        hits = []
        for c in self.connectors.values():
            if isinstance(c, SqlConnector):
                if sql:
                    hits += sql_residual(c, self.ids, self.dm.residual.mode)
            else:
                hits += c.residual(self.ids)
        result = {"hits": [h.to_json() for h in hits[:MAX_REPORTED_HITS]], "total": len(hits)}
        return {"hits": len(hits)}, result, not hits
