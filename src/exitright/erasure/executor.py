"""Running a persisted plan: claim it, run its steps in order, record them, finish.

Every open step's count was measured and persisted with the plan, before anything was touched
(children are processed before parents and changes only remove links, so counts measured up
front equal counts measured just before each step). Steps that change a few rows of one SQL
store share one store transaction (bounded by the batch size); a large step runs in batches of
its own. Retained rows follow the move pattern of DESIGN.md: vault write committed, then the
source change, then the step marked done.

Step records are journalled and written together: before a large step (with the lease), and in
the plan's final commit with the residual result, the plan's status and the keyed hashes that
replace the identifiers. A crash before a record is written only repeats idempotent work (the
counts are already persisted), so a worker killed at any point leaves a plan that the next run
finishes with the same end state and the same counts.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from exitright.connectors.sql import SqlConnector
from exitright.datamap.model import DataMap
from exitright.erasure import retain as retaining
from exitright.erasure.context import Connectors, ErasureContext, close_all
from exitright.erasure.models import ErasurePlan, ErasureStep, ResidueHash, Step
from exitright.erasure.residual import residue_rows
from exitright.erasure.steps import EMPTY_COUNTS, Observer, StepRunner
from exitright.errors import ErrorCode, ExitRightError

StepOutcome = tuple[dict[str, Any], dict[str, Any] | None, bool]
STORE_ERRORS = (SQLAlchemyError, OSError, ConnectionError)
PLANS = cast(Table, ErasurePlan.__table__)
STEPS = cast(Table, ErasureStep.__table__)
HASHES = cast(Table, ResidueHash.__table__)

# One executemany statement records every journalled step.
RECORD = (
    update(STEPS)
    .where(STEPS.c.plan_id == bindparam("b_plan"), STEPS.c.seq == bindparam("b_seq"))
    .values(
        status=bindparam("b_status"),
        counts=bindparam("b_counts", type_=STEPS.c.counts.type),
        result=bindparam("b_result", type_=STEPS.c.result.type),
        error=bindparam("b_error"),
        finished_at=bindparam("b_finished", type_=STEPS.c.finished_at.type),
        started_at=func.coalesce(
            STEPS.c.started_at, bindparam("b_started", type_=STEPS.c.started_at.type)
        ),
        attempts=STEPS.c.attempts + 1,
    )
)


NEW_HASHES = insert(HASHES)


@functools.cache
def _finishing(columns: tuple[str, ...]) -> Any:
    """The plan's final UPDATE setting ``columns`` (two shapes: completed, failed)."""
    return (
        update(PLANS)
        .where(PLANS.c.id == bindparam("b_plan"))
        .values({c: bindparam(f"f_{c}", type_=PLANS.c[c].type) for c in columns})
    )


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
        steps = [Step.of(row) for row in plan.steps]
        s.expunge_all()
    observe("claimed")
    return execute(ctx, dm, plan, steps, observe=observe)


@dataclass
class Journal:
    """Step outcomes not yet written, and when the lease was last extended."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    seqs: list[int] = field(default_factory=list)
    lease_at: datetime | None = None


def execute(
    ctx: ErasureContext,
    dm: DataMap,
    plan: ErasurePlan,
    steps: list[Step],
    *,
    observe: Observer = _noop,
    fresh: bool = False,
    kept: dict[int, tuple[list[Any], int]] | None = None,
    connectors: Connectors | None = None,
) -> str:
    """Run a claimed plan's open steps; ``steps`` (all of them) end with their final records.

    ``kept``: retain steps whose rows were written to the vault with the plan (seq → source
    keys, rows put), so only their source side is left. ``connectors``: the ones the plan was
    made with, still open (their conditions are built already); closed here.
    """
    secrets = ctx.sealer.open(plan.id, plan.identifiers)
    connectors = connectors or ctx.open(dm)
    runner = StepRunner(ctx, dm, plan, secrets, connectors, observe, steps=steps, fresh=fresh)
    runner.prefetched = dict(kept or {})
    journal = Journal(lease_at=ctx.clock.now())
    status = "completed"
    try:
        todo = [st for st in steps if st.status != "done"]
        if any(st.matched is None and st.kind in EMPTY_COUNTS for st in todo):
            _measure_legacy(ctx, runner, plan, todo)
            observe("measured:all")
        work = [st for st in todo if not (st.kind in EMPTY_COUNTS and st.matched == 0)]
        i = 0
        while i < len(work):
            group = _group(ctx, work, i)
            if not run_group(ctx, runner, group, journal, observe):
                status = "failed"
                break
            i += len(group)
    except (*STORE_ERRORS, ExitRightError):  # a store unreachable while measuring an old plan
        status = "failed"
    finally:
        close_all(connectors)
    _finish(ctx, plan, steps, status, journal, runner)
    observe(f"plan:{status}")
    return status


def _measure_legacy(
    ctx: ErasureContext, runner: StepRunner, plan: ErasurePlan, steps: list[Step]
) -> None:
    """A plan persisted without its counts (by an older version, or by item deletion's own
    planner): measure, pin, seal its identifiers, persist, commit — before anything changes."""
    runner.pin()
    measured = runner.measure_all(steps)
    now = ctx.clock.now()
    for st in steps:
        if st.matched is None and st.seq in measured:
            st.matched = measured[st.seq]
            if st.matched == 0:
                st.status, st.counts = "done", {EMPTY_COUNTS[st.kind]: 0}
                st.started_at = st.finished_at = now
    plan.identifiers = ctx.sealer.seal(plan.id, runner.secrets)
    with ctx.engine.begin() as conn:
        for st in steps:
            if st.seq in measured:
                values: dict[str, Any] = {"matched": st.matched}
                if st.status == "done":
                    values |= {"status": "done", "counts": st.counts, "started_at": now}
                    values["finished_at"] = now
                where = (STEPS.c.plan_id == plan.id, STEPS.c.seq == st.seq)
                conn.execute(update(STEPS).where(*where).values(values))
        conn.execute(
            update(PLANS)
            .where(PLANS.c.id == plan.id)
            .values(identifiers=plan.identifiers, lease_until=now + ctx.lease)
        )


def _group(ctx: ErasureContext, work: list[Step], start: int) -> list[Step]:
    """Consecutive small SQL steps of one store, together no more rows than one batch."""
    first = work[start]
    if not first.kind.startswith("sql.") or first.kind == "sql.maintenance":
        return [first]
    group: list[Step] = []
    rows = 0
    for st in work[start:]:
        same = st.store == first.store and st.kind in EMPTY_COUNTS and st.kind.startswith("sql.")
        if not same or rows + (st.matched or 0) > ctx.batch_size:
            break
        group.append(st)
        rows += st.matched or 0
    return group or [first]


def flush(ctx: ErasureContext, plan_id: str, journal: Journal, observe: Observer) -> None:
    """Write the journalled step records and extend the lease, in one commit."""
    now = ctx.clock.now()
    with ctx.engine.begin() as conn:
        if journal.rows:
            conn.execute(RECORD, journal.rows)
        conn.execute(update(PLANS).where(PLANS.c.id == plan_id).values(lease_until=now + ctx.lease))
    journal.lease_at = now
    for seq in journal.seqs:
        observe(f"done:{seq}")
    journal.rows, journal.seqs = [], []


def run_group(
    ctx: ErasureContext,
    runner: StepRunner,
    group: list[Step],
    journal: Journal,
    observe: Observer,
) -> bool:
    """Run steps (one, or several small ones in one store transaction) and journal the outcome.

    Nothing is written before the change: the counts were persisted with the plan, and a crash
    here only repeats idempotent work. A large step, or a lease half run out, first writes the
    journal and extends the lease.
    """
    started = ctx.clock.now()
    heavy = (group[0].matched or 0) > ctx.batch_size
    if heavy or (journal.lease_at is not None and started - journal.lease_at > ctx.lease / 2):
        flush(ctx, runner.plan_id, journal, observe)
    outcomes: dict[int, StepOutcome] = {}
    error: str | None = None
    try:
        if len(group) > 1:
            conn = runner.connectors[group[0].store]
            assert isinstance(conn, SqlConnector)
            with conn.transaction():
                todo = [st for st in group if st.seq not in runner.prefetched]
                runner.prefetched.update(retaining.prefetch(runner, todo))
                for st in group:
                    observe(f"step:{st.seq}")
                    outcomes[st.seq] = runner.run(st, st.matched or 0)
        else:
            observe(f"step:{group[0].seq}")
            outcomes[group[0].seq] = runner.run(group[0], group[0].matched or 0)
    except STORE_ERRORS as exc:
        # Driver messages can quote the statement's values: keep only the error's type.
        error = type(exc).__name__
    now = ctx.clock.now()
    for st in group:
        counts, result, ok = outcomes.get(st.seq, ({}, {"error": error}, False))
        record(journal, runner.plan_id, st, (counts, result, ok), error, started, now)
    if heavy:
        flush(ctx, runner.plan_id, journal, observe)
    return error is None and all(outcomes[st.seq][2] for st in group)


def record(
    journal: Journal,
    plan_id: str,
    st: Step,
    outcome: StepOutcome,
    error: str | None,
    started: datetime,
    now: datetime,
) -> None:
    """Set a step's outcome in memory and journal its record (``error``: a store error's type)."""
    counts, result, ok = outcome
    st.status, st.counts, st.result = ("done" if ok else "failed"), counts, result
    st.error = None if ok else (error or "residual")
    st.started_at = st.started_at or started
    st.finished_at = now
    st.attempts = (st.attempts or 0) + 1
    journal.rows.append(
        {
            "b_plan": plan_id,
            "b_seq": st.seq,
            "b_status": st.status,
            "b_counts": counts,
            "b_result": result,
            "b_error": st.error,
            "b_finished": now,
            "b_started": started,
        }
    )
    journal.seqs.append(st.seq)


@dataclass
class Ending:
    """A plan at its end: what :func:`finish_all` writes for it."""

    plan: ErasurePlan
    steps: list[Step]
    status: str
    journal: Journal
    runner: StepRunner


def _finish(
    ctx: ErasureContext,
    plan: ErasurePlan,
    steps: list[Step],
    status: str,
    journal: Journal,
    runner: StepRunner,
) -> None:
    finish_all(ctx, [Ending(plan, steps, status, journal, runner)])


def finish_all(ctx: ErasureContext, endings: list[Ending]) -> None:
    """One commit: the journalled steps, the plans' status and, on completion, the keyed hashes
    that replace the subject's identifiers (for the residual sweep)."""
    now = ctx.clock.now()
    records: list[dict[str, Any]] = []
    hashes: list[dict[str, Any]] = []
    finishing: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for e in endings:
        values: dict[str, Any] = {
            "status": e.status,
            "lease_owner": None,
            "lease_until": None,
            "finished_at": now,
        }
        if e.status == "completed":
            if e.plan.identifiers is not None:
                hashes += [
                    {c: getattr(r, c) for c in ("digest", "kind", "plan_id", "expires_at")}
                    for r in residue_rows(ctx, e.plan.id, e.runner.ids)
                ]
            values |= {"identifiers": None, "error": None}
        else:
            failed = next((st for st in e.steps if st.status == "failed"), None)
            values["error"] = (
                f"{failed.kind}:{failed.store}.{failed.target}" if failed else "failed"
            )
        records += e.journal.rows
        params = {f"f_{c}": v for c, v in values.items()} | {"b_plan": e.plan.id}
        finishing.setdefault(tuple(sorted(values)), []).append(params)
        e.plan.status, e.plan.finished_at, e.plan.error = e.status, now, values["error"]
    with ctx.engine.begin() as conn:
        if records:
            conn.execute(RECORD, records)
        if hashes:
            conn.execute(NEW_HASHES, hashes)
        for columns, rows in finishing.items():
            conn.execute(_finishing(columns), rows)
    for e in endings:
        for seq in e.journal.seqs:
            e.runner.observe(f"done:{seq}")
        e.journal.rows, e.journal.seqs = [], []
        if e.status == "completed":
            e.plan.identifiers = None
