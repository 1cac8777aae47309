"""Scheduled store maintenance: VACUUM / OPTIMIZE the tables erasures touched since the last run.

On PostgreSQL and MariaDB an erasure's maintenance step only records the tables it changed
(``{"scheduled": [...]}``); a pass over a large table per request would not scale. This use case,
run periodically (``exitright datamap vacuum MAP`` or a worker task), vacuums each recorded table
once and marks the steps, so old row versions go within one maintenance period. SQLite stores are
checkpointed inline and need nothing here.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from exitright.connectors.sql import SqlConnector
from exitright.connectors.sql_maintenance import vacuum
from exitright.datamap.model import DataMap
from exitright.erasure.context import ErasureContext, close_all
from exitright.erasure.models import ErasureStep


def pending(ctx: ErasureContext, dm: DataMap) -> tuple[dict[str, set[str]], list[int]]:
    """Tables per store waiting for maintenance, and the steps that scheduled them."""
    tables: dict[str, set[str]] = defaultdict(set)
    steps: list[int] = []
    with Session(ctx.engine) as s:
        rows = s.execute(
            select(ErasureStep.id, ErasureStep.store, ErasureStep.result).where(
                ErasureStep.kind == "sql.maintenance", ErasureStep.status == "done"
            )
        ).all()
    for step_id, store, result in rows:
        scheduled = (result or {}).get("scheduled")
        if scheduled and not (result or {}).get("vacuumed_at") and store in dm.stores:
            tables[store].update(scheduled)
            steps.append(step_id)
    return tables, steps


def run_maintenance(ctx: ErasureContext, dm: DataMap, *, dry_run: bool = False) -> dict[str, Any]:
    """Vacuum every scheduled table once; returns {store: [tables]}."""
    tables, steps = pending(ctx, dm)
    report = {store: sorted(names) for store, names in tables.items()}
    if dry_run or not steps:
        return report
    connectors = ctx.open(dm)
    try:
        for store, names in tables.items():
            conn = connectors[store]
            if isinstance(conn, SqlConnector):
                vacuum(conn, sorted(names))
    finally:
        close_all(connectors)
    done_at = ctx.clock.now().isoformat()
    with Session(ctx.engine) as s, s.begin():
        for step_id in steps:
            step = s.get(ErasureStep, step_id)
            if step is not None:
                step.result = {**(step.result or {}), "vacuumed_at": done_at}
    return report


__all__ = ["pending", "run_maintenance"]
