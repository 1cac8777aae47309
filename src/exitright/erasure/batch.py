"""Erasing many subjects together: a plan each, shared commits, statements and checks.

An operator erasing a list of accounts (dormant accounts past their retention period, a backlog
of cancellations) would pay, per subject, for what :func:`~exitright.erasure.service.erase_subject`
must do alone: a synced commit of the plan before anything is touched, a store transaction, the
SQLite checkpoint, the residual check, a synced commit of the records. Here a chunk of subjects
shares them:

* every subject is found, counted and pinned exactly as on its own, and all the chunk's plans
  (with the small retain steps' rows in the vault) are written in one commit before anything is
  touched;
* a step that changes rows by condition (delete, anonymize, detach, and the source side of a
  retain step whose rows are in the vault already) runs once for the chunk, with the union of
  the subjects' identifiers and pinned keys: the conditions are unions of ``IN`` lists, so the
  union matches exactly the subjects' rows together. Consecutive such steps of one store share a
  transaction of at most one batch of rows; a step with more rows than that, and every other
  kind of step, runs subject by subject as on its own;
* each SQL store's maintenance step (the checkpoint) runs once for the chunk;
* the residual check of the SQL stores runs once over the union; only a chunk where it finds
  something is checked subject by subject, so every hit is attributed to its subject;
* the step records, the plans' outcomes and the keyed hashes are written in one commit.

Every plan keeps its own steps and counts (measured for its subject before anything changed), so
a crash anywhere leaves plans that ``exitright erase --resume`` or the worker finish one by one,
with the same end state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from exitright.connectors.base import SubjectIds
from exitright.connectors.sql import SqlConnector
from exitright.connectors.sql_residual import any_residual
from exitright.datamap.model import DataMap
from exitright.erasure import retain as retaining
from exitright.erasure.context import Connectors, ErasureContext, close_all, unreachable
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
from exitright.erasure.service import (
    Lookup,
    Measured,
    SharedReads,
    Summary,
    measure_subject,
    persist_plans,
    reading_through,
    shared_reads,
    summary_of,
    verify_map,
)
from exitright.erasure.steps import EMPTY_COUNTS, Observer, StepRunner
from exitright.errors import ErrorCode, ExitRightError

# Subjects per chunk: enough to share the commits and statements, few enough that one chunk's
# rows of a table usually fit one batch (the demo platform has about 30 rows per account).
CHUNK = 32
# Subjects per statement reading retained rows: each statement is a UNION ALL of this many
# subjects' reads (shorter slices are padded, so one statement per table is built and kept);
# 8 to 32 read equally fast per subject, and 8 builds in a quarter of the time.
READ_WIDTH = 8
# Steps that change rows by condition alone: the same statement serves any set of subjects.
BY_CONDITION = ("sql.delete", "sql.anonymize", "sql.detach")

Outcome = Summary | ExitRightError


@dataclass
class _Member:
    """One subject of the chunk: its plan, steps, runner (on its own connectors) and journal."""

    plan: ErasurePlan
    steps: dict[int, Step]
    runner: StepRunner
    connectors: Connectors
    journal: Journal
    kept: dict[int, tuple[list[Any], int]]
    failed: bool = False


@dataclass
class _Chunk:
    ctx: ErasureContext
    dm: DataMap
    members: list[_Member]
    union: Connectors
    seqs: list[int] = field(default_factory=list)
    observe: Observer = field(default=lambda _e: None)


def erase_subjects(
    ctx: ErasureContext,
    dm: DataMap,
    lookups: Sequence[Lookup],
    *,
    worker: str = "cli",
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
    observe: Observer | None = None,
) -> list[Outcome]:
    """Erase every subject of ``lookups``; one outcome per lookup, in order.

    A lookup the map does not allow or that names several accounts gets its error (the others
    go on); a store that cannot be reached stops the run with its error (plans written so far
    are finished or resumable). ``progress`` is called with the number of lookups done;
    ``observe`` with the chunk's events (``planned``, ``step:SEQ``, ``batch:SEQ``, …).
    """
    verify_map(dm, ctx)
    out: list[Outcome] = []
    for start in range(0, len(lookups), max(chunk, 1)):
        part = lookups[start : start + max(chunk, 1)]
        out += _erase_chunk(ctx, dm, part, worker, observe or _noop)
        if progress:
            progress(len(out))
    return out


def _erase_chunk(
    ctx: ErasureContext,
    dm: DataMap,
    lookups: Sequence[Lookup],
    worker: str,
    observe: Observer,
) -> list[Outcome]:
    measured: list[tuple[Measured, Connectors]] = []
    slots: list[int | ExitRightError] = []
    seen: dict[str, int] = {}
    try:
        with shared_reads(ctx, dm) as dbs:
            for lookup in lookups:
                _measure_one(ctx, dm, lookup, worker, dbs, measured, slots, seen)
            _read_early(ctx, [m for m, _c in measured], dbs)
        planned = persist_plans(ctx, [m for m, _c in measured]) if measured else []
    except BaseException:
        for _m, connectors in measured:
            close_all(connectors)
        raise
    members = [
        _member(ctx, dm, p.plan, p.steps, m.secrets, connectors, p.kept, observe)
        for p, (m, connectors) in zip(planned, measured, strict=True)
    ]
    if not members:  # every lookup refused
        return [s for s in slots if isinstance(s, ExitRightError)]
    observe("planned")
    union = ctx.open(dm)
    try:
        seqs = sorted({s for m in members for s in m.steps})
        _run(_Chunk(ctx, dm, members, union, seqs, observe))
    finally:
        close_all(union)
        for member in members:
            close_all(member.connectors)
    summaries = [summary_of(x.plan, list(x.steps.values())) for x in members]
    return [summaries[s] if isinstance(s, int) else s for s in slots]


def _measure_one(
    ctx: ErasureContext,
    dm: DataMap,
    lookup: Lookup,
    worker: str,
    dbs: SharedReads,
    measured: list[tuple[Measured, Connectors]],
    slots: list[int | ExitRightError],
    seen: dict[str, int],
) -> None:
    """Measure one lookup's subject on connectors of its own (pins and values are per subject
    while measuring) reading through the chunk's shared read transactions."""
    connectors = ctx.open(dm)
    try:
        with reading_through(connectors, dbs):
            m = measure_subject(
                ctx, dm, lookup, connectors, request_id=None, worker=worker, early=False
            )
    except ExitRightError as exc:
        close_all(connectors)
        if exc.code == ErrorCode.STORE_UNREACHABLE:
            raise
        slots.append(exc)
        return
    except BaseException:
        close_all(connectors)
        raise
    first = seen.get(m.plan.subject_pseudonym)
    if first is not None:  # the same account named twice: erased once
        close_all(connectors)
        slots.append(first)
        return
    seen[m.plan.subject_pseudonym] = len(measured)
    slots.append(len(measured))
    measured.append((m, connectors))


def _read_early(
    ctx: ErasureContext,
    measured: list[Measured],
    dbs: SharedReads,
) -> None:
    """The small retain steps' rows of every subject, for the vault: one statement per table
    for the whole chunk (each row tagged with its subject), still before anything changes."""
    if not measured:
        return
    by_seq = [{st.seq: st for st in m.steps} for m in measured]
    retained = sorted({st.seq for st in measured[0].steps if st.kind == "sql.retain"})
    for seq in retained:
        small = [
            m.runner if 0 < (steps[seq].matched or 0) <= ctx.batch_size else None
            for m, steps in zip(measured, by_seq, strict=True)
        ]
        if not any(small):
            continue
        store = by_seq[0][seq].store
        try:
            with ExitStack() as stack:
                for runner in small:
                    if runner is not None:
                        conn = runner.connectors[store]
                        assert isinstance(conn, SqlConnector)
                        stack.enter_context(conn.reads_on(*dbs[store]))
                got: list[retaining.Converted | None] = []
                for start in range(0, len(small), READ_WIDTH):
                    part = small[start : start + READ_WIDTH]
                    if not any(part):
                        got += [None] * len(part)
                        continue
                    padding: list[StepRunner | None] = [None] * (READ_WIDTH - len(part))
                    got += retaining.read_each(part + padding, by_seq[0][seq])[: len(part)]
        except STORE_ERRORS as exc:
            raise unreachable(store, exc) from exc
        for m, steps, read in zip(measured, by_seq, got, strict=True):
            if read is not None:
                m.early.append((steps[seq], read[0], read[1]))


def _member(
    ctx: ErasureContext,
    dm: DataMap,
    plan: ErasurePlan,
    steps: list[Step],
    secrets: PlanSecrets,
    connectors: Connectors,
    kept: dict[int, tuple[list[Any], int]],
    observe: Observer,
) -> _Member:
    runner = StepRunner(ctx, dm, plan, secrets, connectors, observe, steps=steps, fresh=True)
    runner.prefetched = dict(kept)
    journal = Journal(lease_at=ctx.clock.now())
    return _Member(plan, {st.seq: st for st in steps}, runner, connectors, journal, dict(kept))


def _open(member: _Member, seq: int) -> Step | None:
    """The member's step ``seq`` if it still has work (nothing to change: done at planning)."""
    st = member.steps.get(seq)
    if member.failed or st is None or st.status == "done":
        return None
    if st.kind in EMPTY_COUNTS and st.matched == 0:
        return None
    return st


def _run(chunk: _Chunk) -> None:
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


def _noop(_event: str) -> None:
    return None


def _keep_leases(chunk: _Chunk) -> None:
    """Extend the leases (writing the journals) when half of one has run out."""
    now = chunk.ctx.clock.now()
    for m in chunk.members:
        if m.journal.lease_at is not None and now - m.journal.lease_at > chunk.ctx.lease / 2:
            flush(chunk.ctx, m.plan.id, m.journal, _noop)


def _store_of(chunk: _Chunk, seq: int) -> str | None:
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


def _combinable(chunk: _Chunk, seq: int) -> tuple[str, int] | None:
    """(store, rows) when step ``seq`` can run once for every member with work left on it,
    within one batch of rows."""
    store = _store_of(chunk, seq)
    rows = sum((st.matched or 0) for m in chunk.members if (st := _open(m, seq)))
    if store is None or rows > chunk.ctx.batch_size:
        return None
    return store, rows


def _run_split(chunk: _Chunk, seq: int) -> None:
    """Step ``seq`` with more rows than a batch for the chunk together: members in groups of at
    most a batch of rows, each group at once; a member with more than a batch on its own."""
    limit = chunk.ctx.batch_size
    part: list[_Member] = []
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


def _union_group(chunk: _Chunk, start: int) -> list[int]:
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
    chunk: _Chunk, steps: list[Step], members: list[_Member] | None = None
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
    live = [m for m in (chunk.members if members is None else members) if not m.failed]
    for name, conn in chunk.union.items():
        if isinstance(conn, SqlConnector):
            conn.use_all([c for m in live if isinstance(c := m.connectors[name], SqlConnector)])
    return runner


def _union_step(
    chunk: _Chunk, seq: int, members: list[_Member] | None = None, *, every: bool = False
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


def _run_union(chunk: _Chunk, group: list[int], members: list[_Member] | None = None) -> None:
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


def _counts(m: _Member, st: Step) -> dict[str, int]:
    """What member ``m``'s step did when run for the chunk (its own rows, counted for it)."""
    if st.kind == "sql.retain":
        return retained_counts(m.runner, st, st.matched or 0, m.kept[st.seq][1])
    return {EMPTY_COUNTS[st.kind]: st.matched or 0}


def _run_maintenance(chunk: _Chunk, seq: int) -> None:
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


def _run_residual(chunk: _Chunk, seq: int) -> None:
    """The SQL stores searched once for the whole chunk; when that finds anything, each subject
    is searched on its own, so every hit is attributed to its subject."""
    opened = [(m, st) for m in chunk.members if (st := _open(m, seq))]
    if not opened:
        return
    started = chunk.ctx.clock.now()
    clean = True
    try:
        _union_runner(chunk, [])
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


__all__ = ["CHUNK", "Outcome", "erase_subjects"]
