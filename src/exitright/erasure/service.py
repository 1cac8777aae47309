"""The erasure use cases: plan a subject's erasure, preview it, run it, summarize it.

The request workflow calls :func:`plan_erasure` when a cancellation reaches *executing* and then
:func:`run_plan` (directly or through a worker); ``exitright erase`` calls :func:`erase_subject`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from exitright.connectors.base import SubjectIds
from exitright.connectors.sql import SqlConnector
from exitright.datamap.loader import problem_error
from exitright.datamap.model import DataMap, IdentifierKind
from exitright.datamap.validate import Problem
from exitright.erasure.context import ErasureContext, close_all, unreachable
from exitright.erasure.executor import run_plan
from exitright.erasure.models import ErasurePlan, ErasureStep
from exitright.erasure.planner import plan_steps
from exitright.erasure.steps import Observer, StepRunner
from exitright.errors import ErrorCode, ExitRightError
from exitright.pii.detect import normalize_phone
from exitright.pseudonym import pseudonym


@dataclass(frozen=True)
class Lookup:
    """How the operator or the user named the subject."""

    kind: IdentifierKind
    value: str


@dataclass
class Summary:
    """What an erasure did (or would do): counts per store and table, residual hits, status."""

    plan_id: str | None
    subject: str
    found: bool
    status: Literal["completed", "failed", "dry-run"]
    tables: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    hits: list[dict[str, str]] = field(default_factory=list)
    failed_step: str | None = None


def map_digest(dm: DataMap) -> str:
    """A digest of the map's decisions (not of URLs or roots, which differ between machines)."""
    data = dm.model_dump(mode="json", exclude_none=True)
    for store in data["stores"].values():
        store.pop("url", None)
        store.pop("root", None)
    # Who is told, and how, does not change what an erasure does to the stores.
    data.pop("recipients", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _verify(dm: DataMap, ctx: ErasureContext) -> None:
    digest = map_digest(dm)
    if digest in ctx.verified:
        return
    connectors = ctx.open(dm)
    try:
        problems: list[Problem] = []
        for name, c in connectors.items():
            if isinstance(c, SqlConnector):
                try:
                    problems += c.verify()
                except SQLAlchemyError as exc:
                    raise unreachable(name, exc) from exc
        if problems:
            raise problem_error(problems)
        ctx.verified.add(digest)
    finally:
        close_all(connectors)


def resolve(ctx: ErasureContext, dm: DataMap, lookup: Lookup) -> tuple[SubjectIds, bool]:
    """The subject's identifiers from the account table; ``found`` is False when no account matches.

    A subject not found (e.g. already erased) still gets a plan over the identifier given, so
    data keyed by that value alone (an SMS outbox, a merchant's notes) is still found.
    """
    if lookup.kind not in dm.subject.lookups():
        raise ExitRightError(
            ErrorCode.INVALID_REQUEST,
            message_id="erasure.lookup_not_allowed",
            params={"kind": lookup.kind},
        )
    value = lookup.value.strip()
    if lookup.kind == "phone":
        value = normalize_phone(value) or value
    connectors = ctx.open(dm)
    try:
        conn = connectors[dm.subject.store]
        assert isinstance(conn, SqlConnector)
        try:
            rows = conn.find_subject(lookup.kind, value)
        except SQLAlchemyError as exc:
            raise unreachable(dm.subject.store, exc) from exc
    finally:
        close_all(connectors)
    if len(rows) > 1:
        raise ExitRightError(
            ErrorCode.CONFLICT, message_id="erasure.subject_ambiguous", params={"kind": lookup.kind}
        )
    if not rows:
        given: dict[str, Any] = {
            lookup.kind: int(value) if lookup.kind == "user_id" and value.isdigit() else value
        }
        return SubjectIds(**given), False
    row = rows[0]
    return SubjectIds(
        user_id=row["user_id"],
        phone=(normalize_phone(row["phone"]) or row["phone"]) if row.get("phone") else None,
        email=row.get("email") or None,
        id_number=row.get("id_number") or None,
    ), True


def _pseudonym(ctx: ErasureContext, dm: DataMap, ids: SubjectIds, lookup: Lookup) -> str:
    if ids.user_id is not None:
        return pseudonym(ctx.pseudonym_key, dm.platform, str(ids.user_id))
    return pseudonym(ctx.pseudonym_key, dm.platform, f"{lookup.kind}:{ids.get(lookup.kind)}")


def plan_erasure(
    ctx: ErasureContext, dm: DataMap, lookup: Lookup, *, request_id: str | None = None
) -> str:
    """Check the map against the stores, find the subject, persist the plan; returns its id."""
    _verify(dm, ctx)
    ids, _found = resolve(ctx, dm, lookup)
    plan_id = str(uuid.uuid4())
    now = ctx.clock.now()
    with Session(ctx.engine) as s, s.begin():
        plan = ErasurePlan(
            id=plan_id,
            subject_pseudonym=_pseudonym(ctx, dm, ids, lookup),
            request_id=request_id,
            platform=dm.platform,
            map_digest=map_digest(dm),
            identifiers=ids.to_json(),
            subject_found=_found,
            status="planned",
            created_at=now,
        )
        s.add(plan)
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
                for p in plan_steps(dm)
            ],
        )
    return plan_id


def dry_run(ctx: ErasureContext, dm: DataMap, lookup: Lookup) -> Summary:
    """What an erasure would do, with row counts; changes nothing and persists nothing."""
    _verify(dm, ctx)
    ids, found = resolve(ctx, dm, lookup)
    connectors = ctx.open(dm)
    fake = ErasurePlan(
        id="dry-run", subject_pseudonym=_pseudonym(ctx, dm, ids, lookup), identifiers=ids.to_json()
    )
    runner = StepRunner(ctx, dm, fake, connectors, lambda _e: None)
    summary = Summary(None, fake.subject_pseudonym, found, "dry-run")
    try:
        for p in plan_steps(dm):
            if p.kind in ("residual", "sql.maintenance"):
                continue
            step = ErasureStep(seq=p.seq, kind=p.kind, store=p.store, target=p.target, idx=p.index)
            label = {
                "sql.delete": "deleted",
                "sql.anonymize": "anonymized",
                "sql.retain": "retained",
                "sql.detach": "detached",
                "redis.delete": "keys",
                "files.delete": "files",
            }[p.kind]
            counts = summary.tables.setdefault((p.store, p.target), defaultdict(int))
            counts[label] += runner.measure(step)
    finally:
        close_all(connectors)
    return summary


def summarize(ctx: ErasureContext, plan_id: str) -> Summary:
    """The counts and residual result recorded for a plan."""
    with Session(ctx.engine) as s:
        plan = s.get(ErasurePlan, plan_id)
        if plan is None:
            raise ExitRightError(
                ErrorCode.NOT_FOUND, message_id="erasure.plan_not_found", params={"plan": plan_id}
            )
        found = plan.subject_found
        status: Literal["completed", "failed"] = (
            "completed" if plan.status == "completed" else "failed"
        )
        summary = Summary(plan.id, plan.subject_pseudonym, found, status)
        for st in s.scalars(
            select(ErasureStep).where(ErasureStep.plan_id == plan_id).order_by(ErasureStep.seq)
        ):
            if st.kind == "residual":
                summary.hits = list((st.result or {}).get("hits", []))
            elif st.kind != "sql.maintenance":
                counts = summary.tables.setdefault((st.store, st.target), defaultdict(int))
                for k, v in (st.counts or {}).items():
                    counts[k] += int(v)
            if st.status == "failed" and summary.failed_step is None:
                summary.failed_step = f"{st.kind} {st.store}.{st.target}".rstrip(".")
        return summary


def erase_subject(
    ctx: ErasureContext,
    dm: DataMap,
    lookup: Lookup,
    *,
    request_id: str | None = None,
    observe: Observer | None = None,
) -> Summary:
    """Plan and run one subject's erasure to its end; the summary says whether it completed."""
    plan_id = plan_erasure(ctx, dm, lookup, request_id=request_id)
    if observe is None:
        run_plan(ctx, dm, plan_id)
    else:
        run_plan(ctx, dm, plan_id, observe=observe)
    return summarize(ctx, plan_id)


def resume(ctx: ErasureContext, dm: DataMap, plan_id: str, *, worker: str = "cli") -> Summary:
    """Finish a plan interrupted by a crash (or retry a failed one) under the same map."""
    with Session(ctx.engine) as s:
        plan = s.get(ErasurePlan, plan_id)
        if plan is None:
            raise ExitRightError(
                ErrorCode.NOT_FOUND, message_id="erasure.plan_not_found", params={"plan": plan_id}
            )
        if plan.map_digest != map_digest(dm):
            raise ExitRightError(
                ErrorCode.CONFLICT, message_id="erasure.map_changed", params={"plan": plan_id}
            )
        if plan.status == "completed":
            return summarize(ctx, plan_id)
    run_plan(ctx, dm, plan_id, worker=worker)
    return summarize(ctx, plan_id)
