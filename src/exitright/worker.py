"""The request worker, thin: claim due requests → call ``services.advance`` → release the lease.

Any number of workers share the queue: claims are ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and
serialized by SQLite's write lock; an erasure plan has its own lease; and only one worker's
outcome is ever saved (the version check), so no request completes twice. A worker killed at
any point leaves a lease that expires and a plan that the next worker resumes.

Each round also pushes the Security Event Tokens that are due (a bounded number), so the
``account-purged`` a completion queued reaches its recipient without a separate
``exitright events deliver`` process (which may still run alongside: notices are leased too).
A recipient that is down never holds a request up: its notice is retried on later rounds.

Each round also queues the requests nobody verified in time (:func:`queue_unverified`):
``advance`` closes them (rejected, ``identity_not_verified``) and drops their identifiers.
Blocked requests need nothing here: ``advance`` schedules their next pre-check run itself.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Final

from sqlalchemy import Engine, select, update

from exitright import bootstrap
from exitright.cancellation import services
from exitright.cancellation.errors import DomainError
from exitright.cancellation.model import State
from exitright.clock import Clock
from exitright.db.requests import REQUESTS, claim_due, release
from exitright.erasure.models import ErasurePlan
from exitright.errors import ExitRightError
from exitright.heartbeat import PLAN_LEASE, REQUEST_LEASE, Heartbeat

__all__ = [
    "DELIVERIES",
    "LEASE",
    "PARKED",
    "deliver_once",
    "install_in_process",
    "park",
    "purge_exports",
    "queue_unverified",
    "run",
    "run_once",
    "worker_name",
]

log = logging.getLogger("exitright.worker")

# A worker that dies holds a request this long at most; a live one renews it (Heartbeat).
LEASE: Final = REQUEST_LEASE
# How long a request whose advance failed unexpectedly (a bug, a store down) is left alone.
PARKED: Final = timedelta(minutes=10)
# SETs pushed per round at most: a slow recipient (10 s timeout each) delays requests this much.
DELIVERIES: Final = 20


def worker_name(suffix: str = "") -> str:
    """A name unique to this process (and thread): host, pid and an optional suffix."""
    name = f"{socket.gethostname()}:{os.getpid()}"
    return (f"{name}:{suffix}" if suffix else name)[:100]


def _log_failure(what: str, exc: BaseException) -> None:
    # The traceback's frames, and the exception's type, but not its message: a driver's message
    # can quote the statement's parameters, and those may be a subject's identifiers.
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("%s (%s)\n%s", what, type(exc).__name__, frames)


def deliver_once(rt: bootstrap.Runtime, worker: str, *, limit: int = DELIVERIES) -> int:
    """Push up to ``limit`` due SETs and escalate overdue ones; returns how many were pushed.

    Never raises: a delivery problem is logged and left for the next round.
    """
    if rt.delivery is None or limit <= 0:
        return 0
    try:
        report = rt.delivery.round(worker, limit=limit)
    except Exception as exc:
        _log_failure(f"worker {worker}: delivering security events failed", exc)
        return 0
    if report.claimed or report.escalated:
        log.info(
            "security events: %d pushed (%d acknowledged, %d rejected, %d to retry, %d given "
            "up), %d escalated",
            report.claimed,
            report.acknowledged,
            report.rejected,
            report.retried,
            report.failed,
            report.escalated,
        )
    return report.claimed


def queue_unverified(engine: Engine, clock: Clock, within: timedelta, *, limit: int = 100) -> int:
    """Make requests still unverified ``within`` after submission due now; returns how many.

    A submitted request waits for its code with no schedule; once it is too old the worker must
    look at it. Looks before writing, so an idle SQLite database is not locked every round.
    """
    cutoff = clock.now() - within
    stale = (
        select(REQUESTS.c.id)
        .where(
            REQUESTS.c.state == State.SUBMITTED.value,
            REQUESTS.c.next_run_at.is_(None),
            REQUESTS.c.created_at <= cutoff,
        )
        .limit(limit)
    )
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        ids = list(conn.execute(stale).scalars())
    if not ids:
        return 0
    with engine.begin() as conn:
        result = conn.execute(
            update(REQUESTS)
            .where(
                REQUESTS.c.id.in_(ids),
                REQUESTS.c.state == State.SUBMITTED.value,
                REQUESTS.c.next_run_at.is_(None),
            )
            .values(next_run_at=clock.now())
        )
    return int(result.rowcount or 0)


def run_once(
    rt: bootstrap.Runtime, worker: str, *, batch: int = 10, deliveries: int = DELIVERIES
) -> int:
    """Advance up to ``batch`` due requests, then push up to ``deliveries`` due SETs.

    Returns how many requests and SETs were claimed (0: nothing was due).
    """
    queue_unverified(rt.engine, rt.clock, rt.ports.verify_within)
    claimed = claim_due(rt.engine, rt.clock, worker, lease=LEASE, limit=batch)
    for request_id in claimed:
        try:
            services.advance(services.AdvanceRequest(request_id, worker), rt.uow(), rt.ports)
        except (DomainError, ExitRightError) as exc:
            # Another worker or an API call changed the request meanwhile, or it vanished.
            log.info("request %s not advanced: %s", request_id, exc)
        except Exception as exc:
            # A bug, or a store that broke mid-way: set the request aside for a while, so it is
            # looked at again later rather than in a tight loop.
            _log_failure(f"request {request_id}: advancing failed; retried in 10 minutes", exc)
            park(rt, request_id, worker)
            continue
        release(rt.engine, request_id, worker)
    # After the requests: what a completion just queued goes out in the same round.
    purge_exports(rt, worker)
    return len(claimed) + deliver_once(rt, worker, limit=deliveries)


def park(rt: bootstrap.Runtime, request_id: str, worker: str) -> None:
    """Lease a request that failed unexpectedly to nobody for :data:`PARKED`.

    Under another owner name than ``worker``'s, so that the heartbeat, which renews the leases
    of a busy worker, does not keep it out of reach for as long as this worker lives (the soak
    found that). Never raises: if the database is away, the short lease expires on its own.
    """
    try:
        with rt.engine.begin() as conn:
            conn.execute(
                update(REQUESTS)
                .where(REQUESTS.c.id == request_id, REQUESTS.c.lease_owner == worker)
                .values(lease_owner=f"parked:{worker}"[:100], lease_until=rt.clock.now() + PARKED)
            )
            # Its plan too, or the heartbeat would keep it from the worker that takes it next.
            conn.execute(
                update(ErasurePlan)
                .where(ErasurePlan.request_id == request_id, ErasurePlan.lease_owner == worker)
                .values(lease_owner=None, lease_until=None)
            )
    except Exception as exc:
        _log_failure(f"request {request_id}: setting it aside failed", exc)


def purge_exports(rt: bootstrap.Runtime, worker: str) -> int:
    """Delete the access exports whose download period is over; returns how many went.

    Never raises: a file system problem is logged and left for the next pass.
    """
    if rt.ports.exports is None:
        return 0
    try:
        purged = rt.ports.exports.purge_expired()
    except OSError as exc:
        _log_failure(f"worker {worker}: deleting expired exports failed", exc)
        return 0
    if purged:
        log.info("access exports: %d expired and deleted", purged)
    return purged


def run(
    rt: bootstrap.Runtime,
    *,
    once: bool = False,
    concurrency: int = 1,
    poll_seconds: float = 2.0,
    stop: threading.Event | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> None:
    """Work until ``stop`` is set (or, with ``once``, until nothing is due).

    Each round takes one request (``batch=1``), so a killed worker strands at most one, and an
    idle worker is never left waiting while another holds a queue of claimed requests; a
    :class:`~exitright.heartbeat.Heartbeat` keeps the short leases of the request in hand alive.
    """
    stop = stop or threading.Event()
    beat = Heartbeat(rt.engine, rt.clock, request_lease=LEASE, plan_lease=PLAN_LEASE)

    def loop(index: int) -> None:
        name = worker_name(str(index) if concurrency > 1 else "")
        while not stop.is_set():
            try:
                with beat.busy(name):
                    n = run_once(rt, name, batch=1)
            except Exception as exc:  # the database went away: wait, then try again
                _log_failure(f"worker {name}: claiming failed", exc)
                n = 0
                if once:
                    raise
            if on_batch is not None and n:
                on_batch(n)
            if n == 0:
                if once:
                    return
                stop.wait(poll_seconds)

    beat.start()
    try:
        if concurrency <= 1:
            loop(0)
            return
        threads = [
            threading.Thread(target=loop, args=(i,), daemon=True) for i in range(concurrency)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        beat.stop()


def install_in_process(app: Any) -> None:
    """Run one worker thread alongside the web app while it serves (``worker_in_process``)."""
    if not getattr(app.state.settings, "worker_in_process", False):
        return
    from contextlib import asynccontextmanager

    inner = app.router.lifespan_context
    stop = threading.Event()

    def target() -> None:
        try:
            rt = bootstrap.runtime_for(app.state)
            run(rt, poll_seconds=1.0, stop=stop)
        except Exception as exc:  # a broken configuration must not take the web app down
            _log_failure("the in-process worker stopped", exc)

    @asynccontextmanager
    async def lifespan(a: Any) -> Any:
        async with inner(a) as state:
            thread = threading.Thread(target=target, name="exitright-worker", daemon=True)
            thread.start()
            try:
                yield state
            finally:
                stop.set()
                thread.join(timeout=30)

    app.router.lifespan_context = lifespan
