"""Running a persisted plan: claim it, measure it, run its steps in order, record, finish.

Before any change, every open step's count of matching rows is measured and persisted (children
are processed before parents and changes only remove links, so counts measured up front equal
counts measured just before each step). Steps that change a few rows of one SQL store share one
store transaction (bounded by the batch size); a large step runs in batches of its own. Retained
rows follow the move pattern of DESIGN.md: vault write committed, then the source change, then the
step marked done. A worker killed at any point leaves a plan that the next run finishes with the
same end state and the same counts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from exitright.connectors.base import SubjectIds
from exitright.connectors.sql import SqlConnector
from exitright.datamap.model import DataMap
from exitright.erasure.context import ErasureContext, close_all
from exitright.erasure.models import ErasurePlan, ErasureStep
from exitright.erasure.residual import residue_rows
from exitright.erasure.steps import EMPTY_COUNTS, Observer, StepRunner
from exitright.errors import ErrorCode, ExitRightError

StepOutcome = tuple[dict[str, Any], dict[str, Any] | None, bool]
STORE_ERRORS = (SQLAlchemyError, OSError, ConnectionError)


def _noop(_event: str) -> None:
    return None


def claim(ctx: ErasureContext, plan_id: str, worker: str) -> bool:
    """Take the plan's lease if it is free, expired or already ours (one atomic UPDATE)."""
    now = ctx.clock.now()
    with Session(ctx.engine) as s, s.begin():
        res = s.execute(
            update(ErasurePlan)
            .where(
                ErasurePlan.id == plan_id,
                ErasurePlan.status.in_(("planned", "running", "failed")),
                or_(
                    ErasurePlan.lease_until.is_(None),
                    ErasurePlan.lease_until < now,
                    ErasurePlan.lease_owner == worker,
                ),
            )
            .values(lease_owner=worker, lease_until=now + ctx.lease, status="running")
        )
        return bool(getattr(res, "rowcount", 0) == 1)


def next_plan(ctx: ErasureContext, worker: str) -> str | None:
    """Claim the oldest plan with work left whose lease is free (for ``exitright worker``)."""
    now = ctx.clock.now()
    with Session(ctx.engine) as s:
        candidates = s.scalars(
            select(ErasurePlan.id)
            .where(
                ErasurePlan.status.in_(("planned", "running")),
                or_(ErasurePlan.lease_until.is_(None), ErasurePlan.lease_until < now),
            )
            .order_by(ErasurePlan.created_at)
            .limit(20)
        ).all()
    for plan_id in candidates:
        if claim(ctx, plan_id, worker):
            return plan_id
    return None


def run_plan(
    ctx: ErasureContext,
    dm: DataMap,
    plan_id: str,
    *,
    worker: str = "cli",
    observe: Observer = _noop,
) -> str:
    """Run (or resume) a plan to its end; returns the plan's final status (completed / failed)."""
    if not claim(ctx, plan_id, worker):
        raise ExitRightError(
            ErrorCode.CONFLICT, details={"plan": plan_id}, message_id="erasure.plan_busy"
        )
    with Session(ctx.engine) as s:
        plan = s.get(ErasurePlan, plan_id)
        assert plan is not None
        steps = [st for st in plan.steps if st.status != "done"]
        s.expunge_all()
    connectors = ctx.open(dm)
    runner = StepRunner(ctx, dm, plan, connectors, observe)
    status = "completed"
    try:
        work = _measure_all(ctx, runner, steps, observe)
        i = 0
        while i < len(work):
            group = _group(ctx, runner, work, i)
            ok = _run_group(ctx, runner, group, observe)
            if not ok:
                status = "failed"
                break
            i += len(group)
    except STORE_ERRORS:
        status = "failed"
    finally:
        close_all(connectors)
    _finish(ctx, plan_id, status)
    observe(f"plan:{status}")
    return status


def _measure_all(
    ctx: ErasureContext, runner: StepRunner, steps: list[ErasureStep], observe: Observer
) -> list[ErasureStep]:
    """Persist every open step's count in one commit; steps with nothing to change are done."""
    measured = runner.measure_all(steps)
    now = ctx.clock.now()
    # Two executemany statements: counts of the steps to run, and the steps with nothing to do.
    counted = [
        {"id": st.id, "matched": measured[st.id]}
        for st in steps
        if st.id in measured and st.matched is None and measured[st.id] > 0
    ]
    empty = [
        {
            "id": st.id,
            "matched": 0,
            "status": "done",
            "counts": {EMPTY_COUNTS[st.kind]: 0},
            "started_at": now,
            "finished_at": now,
        }
        for st in steps
        if st.id in measured and measured[st.id] == 0
    ]
    with Session(ctx.engine) as s, s.begin():
        for rows in (counted, empty):
            if rows:
                s.execute(update(ErasureStep), rows)
        s.execute(
            update(ErasurePlan)
            .where(ErasurePlan.id == runner.plan_id)
            .values(lease_until=now + ctx.lease)
        )
    for st in steps:
        if st.id in measured and st.matched is None:
            st.matched = measured[st.id]
    observe("measured:all")
    return [st for st in steps if not (st.kind in EMPTY_COUNTS and st.matched == 0)]


def _group(
    ctx: ErasureContext, runner: StepRunner, work: list[ErasureStep], start: int
) -> list[ErasureStep]:
    """Consecutive small SQL steps of one store, together no more rows than one batch."""
    first = work[start]
    if not first.kind.startswith("sql.") or first.kind == "sql.maintenance":
        return [first]
    group: list[ErasureStep] = []
    rows = 0
    for st in work[start:]:
        same = st.store == first.store and st.kind in EMPTY_COUNTS and st.kind.startswith("sql.")
        if not same or rows + (st.matched or 0) > ctx.batch_size:
            break
        group.append(st)
        rows += st.matched or 0
    return group or [first]


def _run_group(
    ctx: ErasureContext, runner: StepRunner, group: list[ErasureStep], observe: Observer
) -> bool:
    """Run steps (one, or several small ones in one store transaction) and record the outcome.

    Nothing is written before the change: the counts were persisted by the measure, and a crash
    here only repeats idempotent work. Attempts, times and the lease are written with the outcome.
    """
    started = ctx.clock.now()
    if (group[0].matched or 0) > ctx.batch_size:
        # A heavy step runs for a while: extend the lease first so no other worker takes over.
        with Session(ctx.engine) as s, s.begin():
            s.execute(
                update(ErasurePlan)
                .where(ErasurePlan.id == runner.plan_id)
                .values(lease_until=started + ctx.lease)
            )
    outcomes: dict[int, StepOutcome] = {}
    error: str | None = None
    try:
        if len(group) > 1:
            conn = runner.connectors[group[0].store]
            assert isinstance(conn, SqlConnector)
            with conn.transaction():
                for st in group:
                    observe(f"step:{st.seq}")
                    outcomes[st.id] = runner.run(st, st.matched or 0)
        else:
            observe(f"step:{group[0].seq}")
            outcomes[group[0].id] = runner.run(group[0], group[0].matched or 0)
    except STORE_ERRORS as exc:
        # Driver messages can quote the statement's values: keep only the error's type.
        error = type(exc).__name__
    now = ctx.clock.now()
    rows: list[dict[str, Any]] = []
    for st in group:
        counts, result, ok = outcomes.get(st.id, ({}, {"error": error}, False))
        rows.append(
            {
                "id": st.id,
                "status": "done" if ok else "failed",
                "counts": counts,
                "result": result,
                "error": None if ok else (error or "residual"),
                "finished_at": now,
            }
        )
    with Session(ctx.engine) as s, s.begin():
        s.execute(
            update(ErasureStep)
            .where(ErasureStep.id.in_([st.id for st in group]))
            .values(
                attempts=ErasureStep.attempts + 1,
                started_at=func.coalesce(ErasureStep.started_at, started),
            )
        )
        s.execute(update(ErasureStep), rows)
        s.execute(
            update(ErasurePlan)
            .where(ErasurePlan.id == runner.plan_id)
            .values(lease_until=now + ctx.lease)
        )
    for st in group:
        observe(f"done:{st.seq}")
    return error is None and all(outcomes[st.id][2] for st in group)


def _finish(ctx: ErasureContext, plan_id: str, status: str) -> None:
    """Mark the plan; on completion the subject's identifiers leave the engine database, replaced
    by keyed hashes with an expiry for the residual sweep."""
    with Session(ctx.engine) as s, s.begin():
        plan = s.get(ErasurePlan, plan_id)
        assert plan is not None
        plan.status = status
        plan.lease_owner, plan.lease_until = None, None
        plan.finished_at = ctx.clock.now()
        if status == "completed":
            if plan.identifiers is not None:
                s.add_all(residue_rows(ctx, plan_id, SubjectIds.from_json(plan.identifiers)))
            plan.identifiers = None
            plan.error = None
        else:
            failed = next((st for st in plan.steps if st.status == "failed"), None)
            plan.error = f"{failed.kind}:{failed.store}.{failed.target}" if failed else "failed"
