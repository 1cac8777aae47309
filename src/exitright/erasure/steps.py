"""Running one step of a plan against the open connectors (what a step *does*).

The bookkeeping around it (claiming, recording counts, resuming) lives in ``executor.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from exitright.connectors.base import SubjectIds
from exitright.connectors.files import FilesConnector
from exitright.connectors.redis import RedisConnector
from exitright.connectors.sql import SqlConnector, retention_start
from exitright.connectors.sql_residual import sql_residual
from exitright.datamap.legal import LEGAL_BASES
from exitright.datamap.model import ColumnLink, DataMap, IdentifierLink, Method, detach_methods
from exitright.erasure.anonymize import Hasher, add_months
from exitright.erasure.context import Connectors, ErasureContext
from exitright.erasure.models import ErasurePlan, ErasureStep
from exitright.vault.service import RetainedRow

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
    """Runs the steps of one plan against open connectors."""

    def __init__(
        self,
        ctx: ErasureContext,
        dm: DataMap,
        plan: ErasurePlan,
        connectors: Connectors,
        observe: Observer,
    ) -> None:
        self.ctx = ctx
        self.dm = dm
        self.plan_id = plan.id
        self.subject = plan.subject_pseudonym
        self.ids = SubjectIds.from_json(plan.identifiers)
        self.connectors = connectors
        self.observe = observe
        self.hasher = Hasher(ctx.hash_key)
        self._measured: dict[int, int] = {}

    def _sql(self, store: str) -> SqlConnector:
        c = self.connectors[store]
        assert isinstance(c, SqlConnector)
        return c

    def measure_all(self, steps: list[ErasureStep]) -> dict[int, int]:
        """Counts of many steps; a SQL store's are read in one statement of scalar sub-queries."""
        out: dict[int, int] = {}
        by_store: dict[str, list[tuple[ErasureStep, ColumnElement[bool]]]] = {}
        for st in steps:
            if st.matched is not None:
                out[st.id] = st.matched
            elif st.kind.startswith("sql.") and st.kind in EMPTY_COUNTS:
                by_store.setdefault(st.store, []).append((st, self._condition(st)))
            elif st.kind in EMPTY_COUNTS:
                out[st.id] = self.measure(st)
        for store, items in by_store.items():
            conn = self._sql(store)
            counts = conn.count_many([(st.target, cond) for st, cond in items])
            out.update({st.id: n for (st, _), n in zip(items, counts, strict=True)})
        self._measured.update(out)
        return out

    def _condition(self, step: ErasureStep) -> ColumnElement[bool]:
        conn = self._sql(step.store)
        if step.kind == "sql.detach":
            link = self.dm.sql_stores()[step.store].tables[step.target].link[step.idx or 0]
            assert isinstance(link, ColumnLink | IdentifierLink)
            return conn.link_condition(step.target, link, self.ids)
        return conn.rows_of(step.target, self.ids)

    def measure_once(self, step: ErasureStep) -> int:
        """The step's persisted count, or a fresh measure remembered until the step runs."""
        if step.matched is not None:
            return step.matched
        if step.id not in self._measured:
            self._measured[step.id] = self.measure(step)
        return self._measured[step.id]

    def measure(self, step: ErasureStep) -> int:
        """How many rows, keys or files the step will change (before it changes any)."""
        c = self.connectors.get(step.store)
        if step.kind in ("redis.delete", "files.delete"):
            assert isinstance(c, RedisConnector | FilesConnector)
            return c.count(step.idx or 0, self.ids)
        if step.kind == "sql.detach":
            link = self.dm.sql_stores()[step.store].tables[step.target].link[step.idx or 0]
            assert isinstance(link, ColumnLink | IdentifierLink)
            conn = self._sql(step.store)
            return conn.count(step.target, conn.link_condition(step.target, link, self.ids))
        if step.kind in ("sql.delete", "sql.anonymize", "sql.retain"):
            conn = self._sql(step.store)
            return conn.count(step.target, conn.rows_of(step.target, self.ids))
        return 0

    def run(
        self, step: ErasureStep, matched: int
    ) -> tuple[dict[str, Any], dict[str, Any] | None, bool]:
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
            return self._residual()
        conn = self._sql(step.store)
        spec = conn.store.tables.get(step.target)
        if step.kind == "sql.maintenance":
            touched = [s.target for s in self._store_steps(step.store)]
            return {}, conn.maintenance(touched), True
        assert spec is not None
        if step.kind == "sql.detach":
            link = spec.link[step.idx or 0]
            assert isinstance(link, ColumnLink | IdentifierLink)
            cond = conn.link_condition(step.target, link, self.ids)
            conn.anonymize_rows(
                step.target,
                cond,
                detach_methods(link),
                self.hasher,
                self.ctx.batch_size,
                None,
                on_batch,
            )
            return {"detached": matched}, None, True
        cond = conn.rows_of(step.target, self.ids)
        methods: dict[str, Method] = {c: spec.method(c) for c in spec.anonymize}
        if step.kind == "sql.delete":
            conn.delete_rows(step.target, cond, self.ctx.batch_size, on_batch)
            return {"deleted": matched}, None, True
        if step.kind == "sql.anonymize":
            conn.anonymize_rows(
                step.target, cond, methods, self.hasher, self.ctx.batch_size, None, on_batch
            )
            return {"anonymized": matched}, None, True
        assert spec.retain is not None
        retain = spec.retain
        basis = LEGAL_BASES[retain.basis]
        today = self.ctx.clock.now().date()

        def until(start: Any) -> date:
            begun = retention_start(start) if basis.counted_from_column else None
            return add_months(begun or today, basis.months)

        def vault_put(rows: list[RetainedRow]) -> None:
            # A row whose legal period has already run out is not kept: the law no longer asks.
            rows = [r for r in rows if r.retain_until > today]
            self.ctx.vault.put(
                plan_id=self.plan_id,
                subject=self.subject,
                store=step.store,
                table=step.target,
                basis=retain.basis,
                rows=rows,
            )
            self.observe(f"vault:{seq}")

        if retain.then == "blank":
            start_col = retain.start if retain.start and "." not in retain.start else None

            def before_write(rows: list[dict[str, Any]]) -> None:
                vault_put(
                    [
                        RetainedRow(
                            str(r[spec.key or ""]),
                            until(r.get(start_col) if start_col else None),
                            {k: v for k, v in r.items() if k != spec.key and k in methods},
                        )
                        for r in rows
                    ]
                )

            conn.anonymize_rows(
                step.target,
                cond,
                methods,
                self.hasher,
                self.ctx.batch_size,
                before_write,
                on_batch,
                read=[start_col] if start_col else [],
            )
        else:
            for rows in conn.select_rows(step.target, cond, self.ctx.batch_size, retain.start):
                vault_put(
                    [
                        RetainedRow(
                            str(r[0]),
                            until(r._mapping.get("_start")),
                            {k: v for k, v in r._mapping.items() if k != "_start"},
                        )
                        for r in rows
                    ]
                )
                conn.delete_rows_by_key(step.target, [r[0] for r in rows])
                on_batch(len(rows))
        retained = self.ctx.vault.count(plan_id=self.plan_id, store=step.store, table=step.target)
        counts = {"retained": retained}
        if retain.then == "blank":
            counts["anonymized"] = matched
        else:
            counts["deleted"] = max(matched - retained, 0)
        return counts, None, True

    def _store_steps(self, store: str) -> list[ErasureStep]:
        with Session(self.ctx.engine) as s:
            return list(
                s.scalars(
                    select(ErasureStep).where(
                        ErasureStep.plan_id == self.plan_id,
                        ErasureStep.store == store,
                        ErasureStep.matched > 0,
                        ErasureStep.kind.in_(
                            ("sql.delete", "sql.anonymize", "sql.retain", "sql.detach")
                        ),
                    )
                )
            )

    def _residual(self) -> tuple[dict[str, Any], dict[str, Any] | None, bool]:
        hits = []
        for c in self.connectors.values():
            if isinstance(c, SqlConnector):
                hits += sql_residual(c, self.ids, self.dm.residual.mode)
            else:
                hits += c.residual(self.ids)
        result = {"hits": [h.to_json() for h in hits[:MAX_REPORTED_HITS]], "total": len(hits)}
        return {"hits": len(hits)}, result, not hits
