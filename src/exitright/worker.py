"""The request worker, thin: claim due requests → call ``services.advance`` → release the lease.

Any number of workers share the queue: claims are ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and
serialized by SQLite's write lock; an erasure plan has its own lease; and only one worker's
outcome is ever saved (the version check), so no request completes twice. A worker killed at
any point leaves a lease that expires and a plan that the next worker resumes.

Each round also pushes the Security Event Tokens that are due (a bounded number), so the
``account-purged`` a completion queued reaches its recipient without a separate
``exitright events deliver`` process (which may still run alongside: notices are leased too).
A recipient that is down never holds a request up: its notice is retried on later rounds.
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

from exitright import bootstrap
from exitright.cancellation import services
from exitright.cancellation.errors import DomainError
from exitright.db.requests import claim_due, release
from exitright.errors import ExitRightError

__all__ = [
    "DELIVERIES",
    "LEASE",
    "deliver_once",
    "install_in_process",
    "run",
    "run_once",
    "worker_name",
]

log = logging.getLogger("exitright.worker")

# Longer than one advance takes in practice; a worker that dies holds a request this long at most.
LEASE: Final = timedelta(minutes=10)
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


def run_once(
    rt: bootstrap.Runtime, worker: str, *, batch: int = 10, deliveries: int = DELIVERIES
) -> int:
    """Advance up to ``batch`` due requests, then push up to ``deliveries`` due SETs.

    Returns how many requests and SETs were claimed (0: nothing was due).
    """
    claimed = claim_due(rt.engine, rt.clock, worker, lease=LEASE, limit=batch)
    for request_id in claimed:
        try:
            services.advance(services.AdvanceRequest(request_id, worker), rt.uow(), rt.ports)
        except (DomainError, ExitRightError) as exc:
            # Another worker or an API call changed the request meanwhile, or it vanished.
            log.info("request %s not advanced: %s", request_id, exc)
        except Exception as exc:
            # A bug, or a store that broke mid-way: keep the lease, so the request is looked at
            # again when it expires rather than in a tight loop.
            _log_failure(f"request {request_id}: advancing failed; retried after the lease", exc)
            continue
        release(rt.engine, request_id, worker)
    # After the requests: what a completion just queued goes out in the same round.
    return len(claimed) + deliver_once(rt, worker, limit=deliveries)


def run(
    rt: bootstrap.Runtime,
    *,
    once: bool = False,
    concurrency: int = 1,
    poll_seconds: float = 2.0,
    stop: threading.Event | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> None:
    """Work until ``stop`` is set (or, with ``once``, until nothing is due)."""
    stop = stop or threading.Event()

    def loop(index: int) -> None:
        name = worker_name(str(index) if concurrency > 1 else "")
        while not stop.is_set():
            try:
                n = run_once(rt, name)
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

    if concurrency <= 1:
        loop(0)
        return
    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


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
