"""``delete``: the subject's chosen items go through the erasure engine, and nothing else.

Each chosen item (``platform.search_history``: all of the subject's rows of the table;
``platform.addresses:42``: that one row) becomes a plan of the erasure engine over a small
data map of just that table and the tables hanging off it
(:func:`exitright.datamap.items.restricted_map`): set-based, children first, each step counted
and resumable, a residual check that the chosen rows are gone, then the store's maintenance
(SQLite's ``secure_delete`` and checkpoint). A row named by key is first checked to be the
subject's (found through the full map's links); one that is not — someone else's, or gone —
is counted ``not_found`` and nothing is planned for it, so a request never reaches another
person's rows and never tells whether they exist.

All of a request's plans are created in one transaction, the first time it executes; a later
run (after a crash, or a failure) finds them by request id and resumes the ones not completed.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import Integer, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from exitright.cancellation.model import RequestKind
from exitright.cancellation.ports import (
    EraserBusyError,
    Identifiers,
    KindJob,
    KindOutcome,
    ScopeRejectedError,
)
from exitright.connectors.base import SubjectIds
from exitright.connectors.sql import SqlConnector
from exitright.datamap.items import ItemRef, parse_ref, restricted_map
from exitright.datamap.loader import problem_error
from exitright.datamap.model import DataMap
from exitright.erasure import service as erasure
from exitright.erasure.context import ErasureContext, close_all
from exitright.erasure.executor import run_plan
from exitright.erasure.models import ErasurePlan, ErasureStep
from exitright.erasure.planner import plan_steps
from exitright.erasure.sealing import PlanSecrets
from exitright.errors import ExitRightError

__all__ = ["ITEMS_DELETED", "MAX_ITEMS", "DeleteItemsExecutor", "normalize_items"]

ITEMS_DELETED: Final = "items.deleted"
MAX_ITEMS: Final = 50
STORE_ERRORS = (SQLAlchemyError, OSError, ConnectionError)


def normalize_items(dm: DataMap, scope: Sequence[str]) -> tuple[str, ...]:
    """The items ``scope`` names, checked against the map, deduplicated and sorted.

    All rows of a table make single rows of the same table redundant. Raises
    ScopeRejectedError for anything the map does not offer (never saying whose rows exist).
    """
    if not scope or len(scope) > MAX_ITEMS:
        raise ScopeRejectedError("choose between 1 and 50 items", kind="delete")
    refs: set[ItemRef] = set()
    for text in scope:
        ref = parse_ref(text)
        store = dm.sql_stores().get(ref.store) if ref is not None else None
        table = store.tables.get(ref.table) if ref is not None and store is not None else None
        if (
            ref is None
            or table is None
            or table.items is None
            or ref.column is not None
            or (ref.key is not None and not table.items.one_by_one)
        ):
            raise ScopeRejectedError("not an item this platform offers", kind="delete")
        refs.add(ref)
    whole = {(r.store, r.table) for r in refs if r.key is None}
    kept = [r for r in refs if r.key is None or (r.store, r.table) not in whole]
    return tuple(sorted(str(r) for r in kept))


class DeleteItemsExecutor:
    """The ``KindExecutor`` of ``delete`` on the erasure engine."""

    def __init__(self, ctx: ErasureContext, dm: DataMap) -> None:
        self.ctx = ctx
        self.dm = dm

    def check(
        self,
        kind: RequestKind,
        identifiers: Identifiers,
        scope: Sequence[str],
        values: Mapping[str, str],
    ) -> tuple[str, ...]:
        """The chosen items, normalized; no values."""
        if values:
            raise ScopeRejectedError("a delete request takes no values", kind=kind.value)
        return normalize_items(self.dm, scope)

    # Running ------------------------------------------------------------------------------

    def run(self, job: KindJob, worker: str) -> KindOutcome:
        """Plan the items once, run (or resume) every plan, report the counts."""
        refs = [r for r in (parse_ref(s) for s in job.scope) if r is not None]
        try:
            maps = {erasure.map_digest(m): m for m in (restricted_map(self.dm, r) for r in refs)}
        except (KeyError, ValueError):
            # The map no longer offers an item of this open request: an operator decides.
            return KindOutcome("failed", failure="delete_failed:map_changed")
        try:
            plans = self._plans(job.request_id)
            if not plans:
                plans = self._plan_all(job, refs)
            for plan_id, digest, status in plans:
                if status == "completed":
                    continue
                small = maps.get(digest)
                if small is None:  # the map changed under an open request: say so, do nothing
                    return KindOutcome("failed", failure="delete_failed:map_changed")
                try:
                    run_plan(self.ctx, small, plan_id, worker=worker)
                except ExitRightError as exc:
                    if exc.message_id == "erasure.plan_busy":
                        raise EraserBusyError(plan_id) from exc
                    raise
        except STORE_ERRORS as exc:
            # Driver messages can quote the statement's values: keep only the error's type.
            return KindOutcome("failed", failure=f"delete_failed:{type(exc).__name__}")
        return self._outcome(job, [p[0] for p in plans], len(refs))

    def _plans(self, request_id: str) -> list[tuple[str, str, str]]:
        with Session(self.ctx.engine) as s:
            rows = s.execute(
                select(ErasurePlan.id, ErasurePlan.map_digest, ErasurePlan.status)
                .where(ErasurePlan.request_id == request_id)
                .order_by(ErasurePlan.created_at, ErasurePlan.id)
            ).all()
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    def _owned_key(self, ids: SubjectIds, ref: ItemRef) -> Any:
        """The key of ``ref``'s row if it is the subject's (as the store spells it), else None."""
        store = self.dm.sql_stores()[ref.store]
        subject = self.dm.subject if ref.store == self.dm.subject.store else None
        conn = SqlConnector(ref.store, store, subject, self.ctx.engines(self.dm).get(ref.store))
        try:
            t = conn.table(ref.table)
            key = t.c[store.tables[ref.table].key or ""]
            wanted: Any = ref.key
            if isinstance(key.type, Integer):
                if not str(ref.key).isdigit():
                    return None
                wanted = int(str(ref.key))
            with conn.engine.connect() as db:
                return db.execute(
                    select(key).where(key == wanted, conn.rows_of(ref.table, ids)).limit(1)
                ).scalar()
        finally:
            conn.close()

    def _check_stores(self, small: DataMap) -> None:
        """The small map against the live schema (once per context), as plan_erasure does."""
        digest = erasure.map_digest(small)
        if digest in self.ctx.verified:
            return
        connectors = self.ctx.open(small)
        try:
            problems = [
                p for c in connectors.values() if isinstance(c, SqlConnector) for p in c.verify()
            ]
        finally:
            close_all(connectors)
        if problems:
            raise problem_error(problems)
        self.ctx.verified.add(digest)

    def _plan_all(self, job: KindJob, refs: list[ItemRef]) -> list[tuple[str, str, str]]:
        """One plan per item that is the subject's, all in one transaction."""
        lookup = erasure.Lookup(job.identifiers.kind, job.identifiers.value)
        ids, found = erasure.resolve(self.ctx, self.dm, lookup)
        if not found or ids.user_id is None:
            return []  # no account: it has no items
        planned: list[tuple[str, DataMap, SubjectIds]] = []
        for ref in refs:
            small = restricted_map(self.dm, ref)
            if ref.key is None:
                planned.append((str(ref), small, SubjectIds(user_id=ids.user_id)))
                continue
            key = self._owned_key(ids, ref)
            if key is not None:
                planned.append((str(ref), small, SubjectIds(user_id=key)))
        for _ref, small, _ids in planned:
            self._check_stores(small)
        now = self.ctx.clock.now()
        out: list[tuple[str, str, str]] = []
        with Session(self.ctx.engine) as s, s.begin():
            for _ref, small, sids in planned:
                plan_id = str(uuid.uuid4())
                digest = erasure.map_digest(small)
                s.add(
                    ErasurePlan(
                        id=plan_id,
                        subject_pseudonym=job.subject_ref,
                        request_id=job.request_id,
                        platform=self.dm.platform,
                        map_digest=digest,
                        # Sealed like every plan's (erasure/sealing.py): a row key is the
                        # subject's data too while the plan is open.
                        identifiers=self.ctx.sealer.seal(plan_id, PlanSecrets(sids)),
                        subject_found=True,
                        status="planned",
                        created_at=now,
                    )
                )
                s.flush()
                s.execute(
                    insert(ErasureStep),
                    [
                        {
                            "plan_id": plan_id,
                            "seq": p.seq,
                            "kind": p.kind,
                            "store": p.store,
                            "target": p.target,
                            "idx": p.index,
                            "status": "pending",
                            "attempts": 0,
                        }
                        for p in plan_steps(small)
                    ],
                )
                out.append((plan_id, digest, "planned"))
        return out

    def _outcome(self, job: KindJob, plan_ids: list[str], items: int) -> KindOutcome:
        totals: dict[str, int] = defaultdict(int)
        for plan_id in plan_ids:
            summary = erasure.summarize(self.ctx, plan_id)
            if summary.status != "completed":
                return KindOutcome(
                    "failed", failure=f"delete_failed:{summary.failed_step or 'unknown'}"
                )
            for counts in summary.tables.values():
                for name in ("deleted", "anonymized"):
                    totals[name] += int(counts.get(name, 0))
        counts = {
            "items": items,
            "not_found": items - len(plan_ids),
            "deleted": totals["deleted"],
            "anonymized": totals["anonymized"],
        }
        return KindOutcome("completed", counts, event=ITEMS_DELETED)
