"""The residual sweep: one pass over the stores checks every recently erased subject at once.

The per-request residual check (``steps.py``) is exact but costs a scan per request. The sweep
streams each mapped table's text columns once, runs the detectors (mobile numbers, e-mails, ID
numbers), key-hashes every candidate and looks it up among the keyed hashes recorded when
erasures completed (``erasure_residue_hashes``): no plaintext identifier is kept to do it, and a
hit names the place and the plan, never the value. Expired hashes are deleted by the sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from exitright.connectors.base import SubjectIds
from exitright.connectors.redis import RedisConnector
from exitright.connectors.sql import SqlConnector, is_text
from exitright.datamap.model import DataMap
from exitright.erasure.context import ErasureContext, close_all
from exitright.erasure.models import ResidueHash
from exitright.pii.detect import find, normalize_phone
from exitright.pseudonym import keyed_hash

SWEEP_WINDOW = timedelta(days=90)
STREAM_ROWS = 2000


@dataclass(frozen=True)
class SweepHit:
    """An identifier of an erased subject found by the sweep: where, and which plan erased it."""

    store: str
    table: str
    column: str
    row_key: str
    plan_id: str


def _digest(ctx: ErasureContext, kind: str, value: str) -> str:
    return keyed_hash(ctx.pseudonym_key, "residue", f"{kind}:{value}")


def canonical(kind: str, value: str) -> str | None:
    """The one spelling an identifier is hashed under."""
    if kind == "phone":
        return normalize_phone(value)
    if kind == "email":
        return value.strip().lower()
    if kind == "id_number":
        return value.strip().upper()
    return None


def residue_rows(ctx: ErasureContext, plan_id: str, ids: SubjectIds) -> list[ResidueHash]:
    """The keyed hashes to keep for a completed plan's subject."""
    expires = ctx.clock.now() + SWEEP_WINDOW
    out: list[ResidueHash] = []
    for kind in ("phone", "email", "id_number"):
        value = ids.get(kind)
        norm = canonical(kind, str(value)) if value else None
        if norm:
            out.append(
                ResidueHash(
                    digest=_digest(ctx, kind, norm), kind=kind, plan_id=plan_id, expires_at=expires
                )
            )
    return out


def _candidates(ctx: ErasureContext, text: str) -> list[str]:
    digests: list[str] = []
    for f in find(text):
        if f.kind in ("phone", "email", "id_number"):
            norm = canonical(f.kind, text[f.start : f.end])
            if norm:
                digests.append(_digest(ctx, f.kind, norm))
    return digests


def sweep(ctx: ErasureContext, dm: DataMap) -> list[SweepHit]:
    """Search every SQL table and Redis value of ``dm`` for recently erased subjects."""
    now = ctx.clock.now()
    with Session(ctx.engine) as s, s.begin():
        s.execute(delete(ResidueHash).where(ResidueHash.expires_at < now))
        known = {d: p for d, p in s.execute(select(ResidueHash.digest, ResidueHash.plan_id))}
    if not known:
        return []
    hits: list[SweepHit] = []
    connectors = ctx.open(dm)
    try:
        for conn in connectors.values():
            if isinstance(conn, SqlConnector):
                hits += _sweep_sql(ctx, conn, known)
            elif isinstance(conn, RedisConnector):
                hits += _sweep_redis(ctx, conn, known)
    finally:
        close_all(connectors)
    return sorted(set(hits), key=lambda h: (h.store, h.table, h.column, h.row_key))


def _sweep_redis(
    ctx: ErasureContext, conn: RedisConnector, known: dict[str, str]
) -> list[SweepHit]:
    hits: list[SweepHit] = []
    for key in conn.client.scan_iter(count=500):
        name = key.decode(errors="replace")
        for part, blob in conn.values_of(key):
            for d in _candidates(ctx, f"{name} {blob.decode(errors='replace')}"):
                if d in known:
                    hits.append(SweepHit(conn.name, name, part, "", known[d]))
    return hits


def _sweep_sql(ctx: ErasureContext, conn: SqlConnector, known: dict[str, str]) -> list[SweepHit]:
    hits: list[SweepHit] = []
    for tname, spec in sorted(conn.store.tables.items()):
        t = conn.table(tname)
        keys = [t.c[spec.key]] if spec.key else list(t.primary_key.columns)
        texts = [c for c in t.c if is_text(c)]
        if not texts or not keys:
            continue
        with conn.engine.connect() as db:
            result = db.execution_options(yield_per=STREAM_ROWS).execute(select(*keys, *texts))
            for row in result:
                key = ",".join(str(v) for v in row[: len(keys)])
                for column, value in zip(texts, row[len(keys) :], strict=True):
                    if not isinstance(value, str) or not value:
                        continue
                    for d in _candidates(ctx, value):
                        if d in known:
                            hits.append(SweepHit(conn.name, tname, column.name, key, known[d]))
    return hits


def to_json(hit: SweepHit) -> dict[str, Any]:
    """A sweep hit for reports and logs (locations and the pseudonymous plan id only)."""
    return hit.__dict__.copy()
