"""Short leases, renewed while their worker lives: a killed worker's work is taken over soon.

A worker leases a request (``requests.lease_until``) and then its erasure plan
(``erasure_plans.lease_until``). The lease is how long another worker must assume the first one
may still be working. Long leases make a SIGKILLed worker strand its request for that long; short
leases alone would let a second worker take over a step that merely runs long. So the leases are
short and a :class:`Heartbeat` thread renews them every few seconds for as long as the worker
process is alive and busy: a killed worker's request is free again within one lease.

Renewal only ever extends a lease that this process's workers hold, never shortens one and never
touches another worker's. Idle workers write nothing (SQLite's write lock stays free).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Final, cast

from sqlalchemy import Engine, Table, update

from exitright.clock import Clock
from exitright.db.requests import REQUESTS
from exitright.erasure.models import ErasurePlan

__all__ = ["EVERY", "PLAN_LEASE", "REQUEST_LEASE", "Heartbeat"]

log = logging.getLogger("exitright.worker")

# How often a busy worker renews its leases; well under the shortest lease it holds.
EVERY: Final = timedelta(seconds=5)
# A request's lease outlives its plan's by more than one beat: when another worker takes over a
# dead worker's request, the plan is free too (not "busy", which would postpone it a minute).
REQUEST_LEASE: Final = timedelta(seconds=30)
PLAN_LEASE: Final = timedelta(seconds=20)

_PLANS = cast(Table, ErasurePlan.__table__)


class Heartbeat:
    """Renews the request and plan leases of the worker names marked busy, every ``every``."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        request_lease: timedelta,
        plan_lease: timedelta,
        every: timedelta = EVERY,
    ) -> None:
        self._engine, self._clock = engine, clock
        self._request_lease, self._plan_lease = request_lease, plan_lease
        self._every = every.total_seconds()
        self._busy: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def busy(self, name: str) -> Iterator[None]:
        """While inside, the leases held by worker ``name`` are renewed."""
        with self._lock:
            self._busy[name] += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy[name] -= 1
                if self._busy[name] <= 0:
                    del self._busy[name]

    def renew(self) -> int:
        """Extend the busy workers' request and plan leases once; how many leases were extended."""
        with self._lock:
            names = sorted(self._busy)
        if not names:
            return 0
        now = self._clock.now()
        requests_until, plans_until = now + self._request_lease, now + self._plan_lease
        with self._engine.begin() as conn:
            requests = conn.execute(
                update(REQUESTS)
                .where(
                    REQUESTS.c.lease_owner.in_(names),
                    REQUESTS.c.lease_until.is_not(None),
                    REQUESTS.c.lease_until < requests_until,
                )
                .values(lease_until=requests_until)
            ).rowcount
            plans = conn.execute(
                update(_PLANS)
                .where(
                    _PLANS.c.lease_owner.in_(names),
                    _PLANS.c.status == "running",
                    _PLANS.c.lease_until.is_not(None),
                    _PLANS.c.lease_until < plans_until,
                )
                .values(lease_until=plans_until)
            ).rowcount
        return int(requests or 0) + int(plans or 0)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self.renew()
            except Exception as exc:  # the database is away: the work itself will notice too
                log.warning("lease heartbeat failed (%s); retrying", type(exc).__name__)

    def start(self) -> None:
        """Start the renewing thread (a daemon: it dies with the process, and so do the leases)."""
        self._thread = threading.Thread(target=self._run, name="exitright-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing; leases still held then expire on their own."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
