"""Prometheus metrics of the engine, computed from its database when scraped.

:class:`EngineCollector` reads the engine database at scrape time (a few aggregate queries),
so every web process reports the same figures and nothing is double counted however many web
processes and workers run: requests by kind and state, overdue requests, time to completion,
erasure step durations and failures per store, recipient acknowledgement lag, vault records by
legal basis. HTTP counters live in the process (see :mod:`exitright.observability.http`); with
``PROMETHEUS_MULTIPROC_DIR`` set, every web process writes them there and a scrape of any one
process adds up all of them.

No label carries personal data: labels are request kinds and states, store and recipient
names from the deployment's configuration, legal bases — and each value is checked against the
PI detectors and a plain character set before it is exposed.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final, cast

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from sqlalchemy import Engine, Table, case, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from exitright.db.requests import REQUESTS
from exitright.erasure.models import ErasureStep
from exitright.pii.detect import find
from exitright.protocols.models import OutboxNotice
from exitright.vault.models import VaultRecord

__all__ = [
    "CONTENT_TYPE",
    "EngineCollector",
    "exposition",
    "make_registry",
    "safe_label",
    "seconds_between",
]

log = logging.getLogger("exitright.observability")

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
TERMINAL: Final = ("completed", "revoked", "rejected")
_LABEL: Final = re.compile(r"[A-Za-z0-9_.:\-]{1,64}")
# Completion spans minutes (no cooling-off) to the regime's deadline (15 working days, 45 days).
COMPLETION_BUCKETS: Final = (
    60.0,
    600.0,
    3600.0,
    6 * 3600.0,
    86400.0,
    3 * 86400.0,
    7 * 86400.0,
    15 * 86400.0,
    30 * 86400.0,
    45 * 86400.0,
)
STEP_BUCKETS: Final = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0)
ACK_BUCKETS: Final = (1.0, 10.0, 60.0, 600.0, 3600.0, 6 * 3600.0, 86400.0, 3 * 86400.0, 7 * 86400.0)

STEPS = cast(Table, ErasureStep.__table__)
OUTBOX = cast(Table, OutboxNotice.__table__)
VAULT = cast(Table, VaultRecord.__table__)


def safe_label(value: object) -> str:
    """``value`` as a label if it is short, plain and holds no personal data, else ``other``."""
    text = "" if value is None else str(value)
    if not _LABEL.fullmatch(text) or next(iter(find(text)), None) is not None:
        return "other"
    return text


def seconds_between(engine: Engine, start: Any, end: Any) -> ColumnElement[Any]:
    """``end - start`` in seconds, in the engine's SQL dialect (the console reuses it)."""
    if engine.dialect.name == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    if engine.dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return func.timestampdiff(literal_column("MICROSECOND"), start, end) / 1e6


def _histogram_query(
    engine: Engine,
    table: Table,
    label: Any,
    seconds: ColumnElement[Any],
    buckets: Sequence[float],
    *where: Any,
) -> Any:
    columns = [label.label("label"), func.count().label("n"), func.sum(seconds).label("total")]
    columns += [
        func.sum(case((seconds <= b, 1), else_=0)).label(f"le{i}") for i, b in enumerate(buckets)
    ]
    return select(*columns).select_from(table).where(*where).group_by(label)


def _histogram(
    name: str, doc: str, label: str, rows: Iterable[Any], buckets: Sequence[float]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=[label])
    merged: dict[str, list[float]] = {}
    for row in rows:
        key = safe_label(row.label)
        counts = [float(getattr(row, f"le{i}") or 0) for i in range(len(buckets))]
        acc = merged.setdefault(key, [0.0] * (len(buckets) + 2))
        for i, c in enumerate(counts):
            acc[i] += c
        acc[-2] += float(row.n or 0)
        acc[-1] += max(float(row.total or 0), 0.0)
    for key, acc in sorted(merged.items()):
        pairs = [(_le(b), acc[i]) for i, b in enumerate(buckets)] + [("+Inf", acc[-2])]
        family.add_metric([key], pairs, sum_value=acc[-1])
    return family


def _le(bound: float) -> str:
    return str(floatToGoString(bound))  # type: ignore[no-untyped-call]  # as the client writes: 60.0


class EngineCollector(Collector):
    """Reads the engine database on every scrape (results are reused for ``ttl`` seconds)."""

    def __init__(self, engine: Engine, *, ttl: float = 5.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def describe(self) -> list[Metric]:
        """Nothing up front: describing would query the database at registration."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The engine's metrics; ``exitright_engine_database_up`` 0 if the database failed."""
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > self.ttl:
                self._cached = (now, self._read())
            metrics = self._cached[1]
        yield from metrics

    def _read(self) -> list[Metric]:
        start = time.perf_counter()
        up = GaugeMetricFamily(
            "exitright_engine_database_up", "1 if the engine database answered the last scrape."
        )
        try:
            with self.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
                metrics = list(self._families(conn))
            up.add_metric([], 1.0)
        except Exception as exc:  # a scrape must answer even when the database does not
            log.warning("metrics: the engine database failed (%s)", type(exc).__name__)
            metrics = []
            up.add_metric([], 0.0)
        took = GaugeMetricFamily(
            "exitright_metrics_collect_seconds", "Time the last scrape spent in the database."
        )
        took.add_metric([], time.perf_counter() - start)
        return [*metrics, up, took]

    def _families(self, conn: Any) -> Iterator[Metric]:
        e = self.engine
        r = REQUESTS.c
        now = datetime.now(UTC)

        by_state = GaugeMetricFamily(
            "exitright_requests", "Requests by kind and state.", labels=["kind", "state"]
        )
        for kind, state, n in conn.execute(
            select(r.kind, r.state, func.count()).group_by(r.kind, r.state)
        ):
            by_state.add_metric([safe_label(kind), safe_label(state)], float(n))
        yield by_state

        overdue = GaugeMetricFamily(
            "exitright_requests_overdue", "Open requests past their due date.", labels=["kind"]
        )
        for kind, n in conn.execute(
            select(r.kind, func.count())
            .where(r.state.not_in(TERMINAL), r.due_at < now)
            .group_by(r.kind)
        ):
            overdue.add_metric([safe_label(kind)], float(n))
        yield overdue

        # A completed request is written for the last time when it completes.
        took = seconds_between(e, r.created_at, r.updated_at)
        rows = conn.execute(
            _histogram_query(e, REQUESTS, r.kind, took, COMPLETION_BUCKETS, r.state == "completed")
        )
        yield _histogram(
            "exitright_request_completion_seconds",
            "Time from submission to completion of completed requests.",
            "kind",
            rows,
            COMPLETION_BUCKETS,
        )

        s = STEPS.c
        step_took = seconds_between(e, s.started_at, s.finished_at)
        rows = conn.execute(
            _histogram_query(
                e,
                STEPS,
                s.store,
                step_took,
                STEP_BUCKETS,
                s.status == "done",
                s.started_at.is_not(None),
                s.finished_at.is_not(None),
            )
        )
        yield _histogram(
            "exitright_erasure_step_duration_seconds",
            "Duration of the last attempt of finished erasure steps, per store.",
            "store",
            rows,
            STEP_BUCKETS,
        )

        steps = GaugeMetricFamily(
            "exitright_erasure_steps",
            "Erasure steps by store and status.",
            labels=["store", "status"],
        )
        failures = CounterMetricFamily(
            "exitright_erasure_step_failures",
            "Failed attempts of erasure steps, per store (a retried step counts each failure).",
            labels=["store"],
        )
        # attempts counts starts; a running or done step's last start is not a failure.
        failed = s.attempts - case((s.status.in_(("done", "running")), 1), else_=0)
        per_store: dict[str, float] = {}
        for store, status, n, f in conn.execute(
            select(
                s.store, s.status, func.count(), func.sum(case((failed > 0, failed), else_=0))
            ).group_by(s.store, s.status)
        ):
            steps.add_metric([safe_label(store), safe_label(status)], float(n))
            key = safe_label(store)
            per_store[key] = per_store.get(key, 0.0) + float(f or 0)
        for key, value in sorted(per_store.items()):
            failures.add_metric([key], value)
        yield steps
        yield failures

        o = OUTBOX.c
        lag = seconds_between(e, o.created_at, o.resolved_at)
        rows = conn.execute(
            _histogram_query(
                e,
                OUTBOX,
                o.recipient,
                lag,
                ACK_BUCKETS,
                o.state == "acknowledged",
                o.resolved_at.is_not(None),
            )
        )
        yield _histogram(
            "exitright_recipient_ack_lag_seconds",
            "Time from queuing a notice to the recipient's acknowledgement.",
            "recipient",
            rows,
            ACK_BUCKETS,
        )
        notices = GaugeMetricFamily(
            "exitright_recipient_notices",
            "Notices to third parties by recipient and state.",
            labels=["recipient", "state"],
        )
        oldest = GaugeMetricFamily(
            "exitright_recipient_oldest_unacknowledged_seconds",
            "Age of the oldest notice a recipient has not acknowledged yet.",
            labels=["recipient"],
        )
        for recipient, state, n, first in conn.execute(
            select(o.recipient, o.state, func.count(), func.min(o.created_at)).group_by(
                o.recipient, o.state
            )
        ):
            notices.add_metric([safe_label(recipient), safe_label(state)], float(n))
            if state in ("pending", "failed") and first is not None:
                at = first if first.tzinfo else first.replace(tzinfo=UTC)
                oldest.add_metric([safe_label(recipient)], max((now - at).total_seconds(), 0.0))
        yield notices
        yield oldest

        v = VAULT.c
        records = GaugeMetricFamily(
            "exitright_vault_records",
            "Retained records in the vault by legal basis.",
            labels=["legal_basis"],
        )
        size = GaugeMetricFamily(
            "exitright_vault_bytes",
            "Encrypted bytes held in the vault by legal basis.",
            labels=["legal_basis"],
        )
        for basis, n, total in conn.execute(
            select(v.legal_basis, func.count(), func.sum(func.length(v.ciphertext))).group_by(
                v.legal_basis
            )
        ):
            records.add_metric([safe_label(basis)], float(n))
            size.add_metric([safe_label(basis)], float(total or 0))
        yield records
        yield size


def make_registry(engine: Engine, *, ttl: float = 5.0) -> tuple[CollectorRegistry, Any]:
    """A registry for one app: the engine collector, plus where HTTP metrics are registered.

    Returns ``(registry to expose, registry the HTTP metrics register in)``; with
    ``PROMETHEUS_MULTIPROC_DIR`` set these differ: HTTP metrics write to the shared directory
    and the exposed registry reads every process's files from it.
    """
    exposed = CollectorRegistry(auto_describe=False)
    exposed.register(EngineCollector(engine, ttl=ttl))
    if os.environ.get(MULTIPROC_ENV):
        MultiProcessCollector(exposed)  # type: ignore[no-untyped-call]  # the library is untyped here
        return exposed, CollectorRegistry(auto_describe=False)
    return exposed, exposed


def exposition(registry: CollectorRegistry) -> bytes:
    """The text exposition format of everything in ``registry``."""
    return generate_latest(registry)
