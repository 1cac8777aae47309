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

from exitright.connectors.sql import SqlConnector
from exitright.datamap.model import DataMap
from exitright.erasure import retain as retaining
from exitright.erasure.chunk import Chunk, member, run_chunk
from exitright.erasure.context import Connectors, ErasureContext, close_all, unreachable
from exitright.erasure.executor import STORE_ERRORS
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
from exitright.erasure.steps import Observer, StepRunner
from exitright.errors import ErrorCode, ExitRightError

CHUNK = 32
# Subjects per statement reading retained rows: each statement is a UNION ALL of this many
# subjects' reads (shorter slices are padded, so one statement per table is built and kept);
# 8 to 32 read equally fast per subject, and 8 builds in a quarter of the time.
READ_WIDTH = 8

Outcome = Summary | ExitRightError


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
        member(ctx, dm, p.plan, p.steps, m.secrets, connectors, p.kept, observe)
        for p, (m, connectors) in zip(planned, measured, strict=True)
    ]
    if not members:  # every lookup refused
        return [s for s in slots if isinstance(s, ExitRightError)]
    observe("planned")
    union = ctx.open(dm)
    try:
        seqs = sorted({s for m in members for s in m.steps})
        run_chunk(Chunk(ctx, dm, members, union, seqs, observe))
    finally:
        close_all(union)
        for x in members:
            close_all(x.connectors)
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


def _noop(_event: str) -> None:
    return None


__all__ = ["CHUNK", "Outcome", "erase_subjects"]
