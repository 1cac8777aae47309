"""Running a chunk of plans together (see :mod:`exitright.erasure.batch`).

A step that changes rows by condition runs once for the members with work on it, over the union
of their identifiers and pinned keys; every other step runs member by member as on its own. Each
member's outcome is journalled against its own plan and written by :func:`run_chunk`'s final
commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exitright.connectors.base import SubjectIds
from exitright.connectors.sql import SqlConnector
from exitright.connectors.sql_residual import any_residual
from exitright.datamap.model import DataMap
from exitright.erasure.context import Connectors, ErasureContext
from exitright.erasure.executor import (
    STORE_ERRORS,
    Ending,
    Journal,
    StepOutcome,
    finish_all,
    flush,
    record,
    run_group,
)
from exitright.erasure.models import ErasurePlan, Step
from exitright.erasure.retain import counts as retained_counts
from exitright.erasure.sealing import PlanSecrets
from exitright.erasure.steps import EMPTY_COUNTS, Observer, StepRunner

# Steps that change rows by condition alone: the same statement serves any set of subjects.
BY_CONDITION = ("sql.delete", "sql.anonymize", "sql.detach")


@dataclass
class Member:
    """One subject of the chunk: its plan, steps, runner (on its own connectors) and journal."""

    plan: ErasurePlan
    steps: dict[int, Step]
    runner: StepRunner
    connectors: Connectors
    journal: Journal
    kept: dict[int, tuple[list[Any], int]]
    failed: bool = False


@dataclass
class Chunk:
    """The plans run together, the connectors that run for their union, the steps' order."""

    ctx: ErasureContext
    dm: DataMap
    members: list[Member]
    union: Connectors
    seqs: list[int] = field(default_factory=list)
    observe: Observer = field(default=lambda _e: None)


def member(
    ctx: ErasureContext,
    dm: DataMap,
    plan: ErasurePlan,
    steps: list[Step],
    secrets: PlanSecrets,
    connectors: Connectors,
    kept: dict[int, tuple[list[Any], int]],
    observe: Observer,
) -> Member:
    runner = StepRunner(ctx, dm, plan, secrets, connectors, observe, steps=steps, fresh=True)
    runner.prefetched = dict(kept)
    journal = Journal(lease_at=ctx.clock.now())
    return Member(plan, {st.seq: st for st in steps}, runner, connectors, journal, dict(kept))


def _open(m: Member, seq: int) -> Step | None:
    """The member's step ``seq`` if it still has work (nothing to change: done at planning)."""
    st = m.steps.get(seq)
    if m.failed or st is None or st.status == "done":
        return None
    if st.kind in EMPTY_COUNTS and st.matched == 0:
        return None
    return st


def run_chunk(chunk: Chunk) -> None:
    """Run every step of the chunk's plans in order, then write all their records at once."""
    ctx = chunk.ctx
    i = 0
    while i < len(chunk.seqs):
        _keep_leases(chunk)
        group = _union_group(chunk, i)
        if group:
            _run_union(chunk, group)
            i += len(group)
            continue
        seq = chunk.seqs[i]
        kind = next((st.kind for m in chunk.members if (st := m.steps.get(seq))), "")
        if kind == "sql.maintenance":
            _run_maintenance(chunk, seq)
        elif kind == "residual" and chunk.dm.residual.mode != "full":
            _run_residual(chunk, seq)
        elif _store_of(chunk, seq) is not None:  # too many rows for one transaction together
            _run_split(chunk, seq)
        else:
            for m in chunk.members:
                st = _open(m, seq)
                if st is not None and not run_group(ctx, m.runner, [st], m.journal, chunk.observe):
                    m.failed = True
        i += 1
    finish_all(
        ctx,
        [
            Ending(
                m.plan,
                list(m.steps.values()),
                "failed" if m.failed else "completed",
                m.journal,
                m.runner,
            )
            for m in chunk.members
        ],
    )


def _keep_leases(chunk: Chunk) -> None:
    """Extend the leases (writing the journals) when half of one has run out."""
    now = chunk.ctx.clock.now()
    for m in chunk.members:
        if m.journal.lease_at is not None and now - m.journal.lease_at > chunk.ctx.lease / 2:
            flush(chunk.ctx, m.plan.id, m.journal, chunk.observe)


def _store_of(chunk: Chunk, seq: int) -> str | None:
    """The SQL store of step ``seq`` when it can run for several members at once: it changes
    rows by condition, or is a retain step whose rows every member has in the vault already."""
    store = None
    for m in chunk.members:
        st = _open(m, seq)
        if st is None:
            continue
        if st.kind == "sql.retain" and seq not in m.kept:
            return None  # its rows are not in the vault yet: subject by subject
        if st.kind not in (*BY_CONDITION, "sql.retain"):
            return None
        store = st.store
    return store


def _combinable(chunk: Chunk, seq: int) -> tuple[str, int] | None:
    """(store, rows) when step ``seq`` can run once for every member with work left on it,
    within one batch of rows."""
    store = _store_of(chunk, seq)
    rows = sum((st.matched or 0) for m in chunk.members if (st := _open(m, seq)))
    if store is None or rows > chunk.ctx.batch_size:
        return None
    return store, rows


def _run_split(chunk: Chunk, seq: int) -> None:
    """Step ``seq`` with more rows than a batch for the chunk together: members in groups of at
    most a batch of rows, each group at once; a member with more than a batch on its own."""
    limit = chunk.ctx.batch_size
    part: list[Member] = []
    rows = 0
    for m in chunk.members:
        st = _open(m, seq)
        if st is None:
            continue
        n = st.matched or 0
        if n > limit:
            if not run_group(chunk.ctx, m.runner, [st], m.journal, chunk.observe):
                m.failed = True
            continue
        if part and rows + n > limit:
            _run_union(chunk, [seq], part)
            part, rows = [], 0
        part.append(m)
        rows += n
    if part:
        _run_union(chunk, [seq], part)


def _union_group(chunk: Chunk, start: int) -> list[int]:
    """Consecutive combinable steps of one SQL store, together at most one batch of rows."""
    group: list[int] = []
    store, rows = None, 0
    for seq in chunk.seqs[start:]:
        found = _combinable(chunk, seq)
        if found is None or (store is not None and found[0] != store):
            break
        if rows + found[1] > chunk.ctx.batch_size:
            break
        store, rows = found[0], rows + found[1]
        group.append(seq)
    return group


def _union_runner(
    chunk: Chunk, steps: list[Step], members: list[Member] | None = None
) -> StepRunner:
    """A runner whose SQL connectors run for the live ``members``' subjects (default: the
    chunk's) at once."""
    plan = ErasurePlan(id="chunk", subject_pseudonym="chunk")
    # fresh: the vault is not counted for this runner (each member counts its own rows)
    runner = StepRunner(
        chunk.ctx,
        chunk.dm,
        plan,
        PlanSecrets(SubjectIds()),
        chunk.union,
        chunk.observe,
        steps=steps,
        fresh=True,
    )
    _use_union(chunk, chunk.members if members is None else members)
    return runner


def _use_union(chunk: Chunk, members: list[Member]) -> None:
    """Point the chunk's SQL connectors at the union of the live ``members``' subjects."""
    live = [m for m in members if not m.failed]
    for name, conn in chunk.union.items():
        if isinstance(conn, SqlConnector):
            conn.use_all([c for m in live if isinstance(c := m.connectors[name], SqlConnector)])


def _union_step(
    chunk: Chunk, seq: int, members: list[Member] | None = None, *, every: bool = False
) -> Step:
    """Step ``seq`` for ``members`` (default: the chunk's): its rows counted over those with
    work left on it (``every``: over all, for the maintenance step's list of changed tables)."""
    among = chunk.members if members is None else members
    first = next(st for m in among if (st := m.steps.get(seq)))
    counted = [st for m in among if (st := m.steps.get(seq) if every else _open(m, seq))]
    return Step(
        seq=seq,
        kind=first.kind,
        store=first.store,
        target=first.target,
        idx=first.idx,
        matched=sum(st.matched or 0 for st in counted),
    )


def _run_union(chunk: Chunk, group: list[int], members: list[Member] | None = None) -> None:
    """Run ``group``'s steps once for ``members`` (default: the chunk's) in one store
    transaction; record each member's outcome."""
    ctx = chunk.ctx
    among = chunk.members if members is None else members
    steps = [_union_step(chunk, seq, among) for seq in group]
    runner = _union_runner(chunk, steps, among)
    for st in steps:
        if st.kind == "sql.retain":
            keys: list[Any] = []
            for m in among:
                if _open(m, st.seq) is not None:
                    keys += m.kept[st.seq][0]
            runner.prefetched[st.seq] = (keys, 0)
    started = ctx.clock.now()
    error: str | None = None
    conn = chunk.union[steps[0].store]
    assert isinstance(conn, SqlConnector)
    try:
        with conn.transaction():
            for st in steps:
                chunk.observe(f"step:{st.seq}")
                runner.run(st, st.matched or 0)
    except STORE_ERRORS as exc:
        error = type(exc).__name__  # driver messages can quote values
    now = ctx.clock.now()
    done = [(m, own) for seq in group for m in among if (own := _open(m, seq))]
    for m, own in done:
        outcome: StepOutcome = ({}, {"error": error}, False)
        if error is None:
            outcome = (_counts(m, own), None, True)
        record(m.journal, m.plan.id, own, outcome, error, started, now)
        m.failed = m.failed or error is not None


def _counts(m: Member, st: Step) -> dict[str, int]:
    """What member ``m``'s step did when run for the chunk (its own rows, counted for it)."""
    if st.kind == "sql.retain":
        return retained_counts(m.runner, st, st.matched or 0, m.kept[st.seq][1])
    return {EMPTY_COUNTS[st.kind]: st.matched or 0}


def _run_maintenance(chunk: Chunk, seq: int) -> None:
    """One maintenance (checkpoint) of the store for every member, after all their changes."""
    opened = [(m, st) for m in chunk.members if (st := _open(m, seq))]
    if not opened:
        return
    runner = _union_runner(chunk, [_union_step(chunk, s, every=True) for s in chunk.seqs])
    started = chunk.ctx.clock.now()
    error: str | None = None
    try:
        outcome = runner.run(_union_step(chunk, seq), 0)
    except STORE_ERRORS as exc:
        error = type(exc).__name__
        outcome = ({}, {"error": error}, False)
    now = chunk.ctx.clock.now()
    for m, st in opened:
        record(m.journal, m.plan.id, st, outcome, error, started, now)
        m.failed = m.failed or error is not None


def _run_residual(chunk: Chunk, seq: int) -> None:
    """The SQL stores searched once for the whole chunk; when that finds anything, each subject
    is searched on its own, so every hit is attributed to its subject."""
    opened = [(m, st) for m in chunk.members if (st := _open(m, seq))]
    if not opened:
        return
    started = chunk.ctx.clock.now()
    clean = True
    try:
        _use_union(chunk, [m for m, _st in opened])
        subjects = [m.runner.ids for m, _st in opened]
        for conn in chunk.union.values():
            if isinstance(conn, SqlConnector) and any_residual(conn, subjects):
                clean = False
    except STORE_ERRORS:
        clean = False  # each subject's own search then says which store failed
    for m, st in opened:
        error: str | None = None
        outcome: StepOutcome
        try:
            outcome = m.runner.residual(sql=not clean)
        except STORE_ERRORS as exc:
            error = type(exc).__name__
            outcome = ({}, {"error": error}, False)
        record(m.journal, m.plan.id, st, outcome, error, started, chunk.ctx.clock.now())
        m.failed = m.failed or not outcome[2]


__all__ = ["Chunk", "Member", "member", "run_chunk"]
