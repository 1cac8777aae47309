"""Retain steps: rows kept under a legal basis move to the vault before the source changes.

The move pattern of DESIGN.md, in three shapes. A large step runs batch by batch: read a batch,
write it to the vault and commit, then delete (or blank) those rows at the source. The small
retain steps of a plan this process runs right away (``erase_subject``) are read when the plan is
written and kept in the vault in the plan's own commit (``service._plan``); those of a grouped
store transaction otherwise are read first and written in one commit (``prefetch``). Then each
step only changes its source rows. Every way, the vault record is committed before the source
rows go, and a rerun finds it there (writes are idempotent per plan, table and row key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from exitright.connectors.sql import SqlConnector, retention_start
from exitright.datamap.legal import LEGAL_BASES
from exitright.datamap.model import Method, Table
from exitright.erasure.anonymize import add_months
from exitright.erasure.models import Step
from exitright.vault.service import RetainedBatch, RetainedRow

if TYPE_CHECKING:
    from exitright.erasure.steps import StepRunner

Counts = dict[str, Any]


def _spec(runner: StepRunner, step: Step) -> tuple[SqlConnector, Table]:
    conn = runner.connectors[step.store]
    assert isinstance(conn, SqlConnector)
    spec = conn.store.tables[step.target]
    assert spec.retain is not None
    return conn, spec


Converted = tuple[RetainedBatch, list[Any]]


def _reader(runner: StepRunner, step: Step) -> tuple[str | None, Callable[[list[Any]], Converted]]:
    """The retention start to read with a retain step's rows, and what turns rows read into the
    vault's batch and the source keys they came from.

    Rows whose legal period has already run out are not kept (the law no longer asks) but their
    keys are still returned: they are deleted or blanked like the rest.
    """
    _conn, spec = _spec(runner, step)
    retain = spec.retain
    assert retain is not None
    basis = LEGAL_BASES[retain.basis]
    today = runner.ctx.clock.now().date()
    methods = set(spec.anonymize)
    blank = retain.then == "blank"
    # Blanked rows stay in place: their expiry counts from a column of their own, if any.
    start = (
        (retain.start if retain.start and "." not in retain.start else None)
        if blank
        else retain.start
    )

    def until(value: Any) -> date:
        begun = retention_start(value) if basis.counted_from_column else None
        return add_months(begun or today, basis.months)

    def convert(rows: list[Any]) -> Converted:
        kept: list[RetainedRow] = []
        for r in rows:
            values = {k: v for k, v in r._mapping.items() if k not in ("_start", "_subject")}
            if blank:
                values = {k: v for k, v in values.items() if k != spec.key and k in methods}
            row = RetainedRow(str(r[0]), until(r._mapping.get("_start")), values)
            if row.retain_until > today:
                kept.append(row)
        return RetainedBatch(step.store, step.target, retain.basis, kept), [r[0] for r in rows]

    return start, convert


def read(runner: StepRunner, step: Step, batch: int) -> Iterator[Converted]:
    """Batches of a retain step's rows: what goes to the vault, and their source keys."""
    conn = _spec(runner, step)[0]
    start, convert = _reader(runner, step)
    for rows in conn.select_rows(step.target, conn.condition(step.target), batch, start):
        yield convert(rows)


def read_each(runners: Sequence[StepRunner | None], step: Step) -> list[Converted | None]:
    """:func:`read` of a small step (one batch or less per subject) for several subjects'
    runners in one statement; ``None`` runners are skipped (and get ``None``)."""
    first = next(r for r in runners if r is not None)
    conn = _spec(first, step)[0]
    start, convert = _reader(first, step)
    subjects = [None if r is None else _spec(r, step)[0] for r in runners]
    rows = conn.select_rows_each(step.target, start, subjects)
    return [None if r is None else convert(rows.get(i, [])) for i, r in enumerate(runners)]


def change(
    runner: StepRunner, step: Step, keys: list[Any], on_batch: Callable[[int], None]
) -> None:
    """The source side of the move: delete the rows with ``keys``, or blank their columns."""
    conn, spec = _spec(runner, step)
    assert spec.retain is not None
    if spec.retain.then == "blank":
        methods: dict[str, Method] = {c: spec.method(c) for c in spec.anonymize}
        cond = conn.key_in(step.target, keys)
        conn.anonymize_rows(
            step.target, cond, methods, runner.hasher, max(len(keys), 1), None, on_batch
        )
    else:
        conn.delete_rows_by_key(step.target, keys)
        on_batch(len(keys))


def run(runner: StepRunner, step: Step, matched: int, on_batch: Callable[[int], None]) -> Counts:
    """A retain step on its own, batch by batch (vault commit, then the source change)."""
    put = 0
    for kept, keys in read(runner, step, runner.ctx.batch_size):
        put += runner.ctx.vault.put_many(
            plan_id=runner.plan_id, subject=runner.subject, batches=[kept]
        )[(step.store, step.target)]
        runner.observe(f"vault:{step.seq}")
        change(runner, step, keys, on_batch)
    return counts(runner, step, matched, put)


def prefetch(runner: StepRunner, group: list[Step]) -> dict[int, tuple[list[Any], int]]:
    """Read the retain steps of a small group and keep their rows in the vault in one commit.

    Returns, per step ``seq``, the source keys still to change and how many rows were put.
    Called inside the group's store transaction before any of its steps changed anything.
    """
    batches: list[tuple[Step, RetainedBatch, list[Any]]] = []
    for st in group:
        if st.kind == "sql.retain":
            # One more than counted, so one read shows there is nothing further.
            for kept, keys in read(runner, st, (st.matched or 0) + 1):
                batches.append((st, kept, keys))
    if not batches:
        return {}
    put = runner.ctx.vault.put_many(
        plan_id=runner.plan_id, subject=runner.subject, batches=[b for _s, b, _k in batches]
    )
    out: dict[int, tuple[list[Any], int]] = {}
    for st, _b, keys in batches:
        done = out.get(st.seq, ([], 0))
        out[st.seq] = (done[0] + keys, put[(st.store, st.target)])
    for st in group:
        if st.seq in out:
            runner.observe(f"vault:{st.seq}")
    return out


def counts(runner: StepRunner, step: Step, matched: int, put: int) -> Counts:
    """What a retain step reports: rows kept in the vault, and rows deleted or blanked."""
    _conn, spec = _spec(runner, step)
    assert spec.retain is not None
    # A fresh plan's vault held nothing of this table before: what was put is the count.
    retained = (
        put
        if runner.fresh
        else runner.ctx.vault.count(plan_id=runner.plan_id, store=step.store, table=step.target)
    )
    out: Counts = {"retained": retained}
    if spec.retain.then == "blank":
        out["anonymized"] = matched
    else:
        out["deleted"] = max(matched - retained, 0)
    return out
