"""API latency: 100 concurrent clients on loopback against ``exitright serve --workers 2``.

The deployment docs/deploy.md recommends: PostgreSQL, N web processes (here 2, ``--web``) behind
one port, request workers apart (here none: the API is measured alone, nothing competes for the
two cores but the web processes and PostgreSQL). The demo platform is seeded on PostgreSQL
(``--users``) so that a submission resolves a real account.

Two phases, each with ``--clients`` asyncio clients (httpx, one connection pool each) sharing one
operator API key:

* **submit**: ``POST /v1/requests`` (cancel, a seeded user's phone, an ``Idempotency-Key``):
  ``--submits`` in all;
* **status**: ``GET /v1/requests/{id}`` of random submitted requests: ``--reads`` in all.

Prints p50 / p99 / max latency and requests/s per phase, and the non-2xx answers (there must be
none: exits 1 otherwise).

    .venv/bin/python bench/api_latency.py                       # 100 clients, 2 web processes
    .venv/bin/python bench/api_latency.py --web 1 --clients 10
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import httpx
import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bench/harness.py

from harness import (  # noqa: E402 (after the path above)
    ADMIN_URL,
    Processes,
    create_operator_key,
    databases,
    environment,
    load_average,
    pct,
    sqlalchemy_url,
    wait_healthy,
)


class Phase:
    """Latencies (ms) and status codes of one phase."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ms: list[float] = []
        self.codes: Counter[int] = Counter()
        self.wall = 0.0

    def line(self) -> str:
        """One line of figures."""
        rate = len(self.ms) / self.wall if self.wall else 0.0
        return (
            f"  {self.name:<7} {len(self.ms):>6} requests in {self.wall:6.1f} s = {rate:7.1f}/s;"
            f" p50 {pct(self.ms, 50):7.1f} ms, p99 {pct(self.ms, 99):7.1f} ms,"
            f" max {max(self.ms, default=0):7.1f} ms; answers {dict(sorted(self.codes.items()))}"
        )


async def run_phase(
    phase: Phase,
    base_url: str,
    token: str,
    clients: int,
    jobs: list[Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]],
) -> list[httpx.Response]:
    """Run ``jobs`` with ``clients`` concurrent clients; time each."""
    queue = list(reversed(jobs))
    answers: list[httpx.Response] = []
    headers = {"Authorization": f"Bearer {token}"}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120) as c:
            while queue:
                job = queue.pop()
                t = time.perf_counter()
                r = await job(c)
                phase.ms.append((time.perf_counter() - t) * 1000)
                phase.codes[r.status_code] += 1
                answers.append(r)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    phase.wall = time.perf_counter() - started
    return answers


def submit_job(phone: str) -> Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]:
    """A submission of ``phone``'s cancellation."""

    async def job(c: httpx.AsyncClient) -> httpx.Response:
        return await c.post(
            "/v1/requests",
            json={"kind": "cancel", "identifiers": {"phone": phone}},
            headers={"Idempotency-Key": f"latency-{phone}"},
        )

    return job


def status_job(request_id: str) -> Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]:
    """A status read of one request."""

    async def job(c: httpx.AsyncClient) -> httpx.Response:
        return await c.get(f"/v1/requests/{request_id}")

    return job


def main(argv: Sequence[str] | None = None) -> int:
    """Run both phases; 0 when every answer was a success."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--web", type=int, default=2, help="web processes (serve --workers)")
    ap.add_argument("--users", type=int, default=3000, help="demo users to seed")
    ap.add_argument("--submits", type=int, default=2000)
    ap.add_argument("--reads", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--admin-url", default=ADMIN_URL, help="a PostgreSQL database to connect to")
    args = ap.parse_args(argv)
    if args.submits > args.users:
        ap.error("--submits must not exceed --users (one request per user)")
    rng = random.Random(args.seed)
    problems: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="api-latency-") as tmpdir,
        databases(args.admin_url, "latency_demo", "exitright_latency") as (demo_url, engine_url),
    ):
        tmp = Path(tmpdir)
        env = environment(
            tmp,
            engine_url,
            demo_enabled="true",
            demo_database_url=sqlalchemy_url(demo_url),
            submit_limit_per_key="1000000",  # one back end, many submissions
        )
        procs = Processes(env, tmp)
        procs.run("db", "upgrade")
        procs.run("demo", "seed", "--users", str(args.users), "--seed", str(args.seed))
        with psycopg.connect(demo_url) as conn:
            phones = [str(r[0]) for r in conn.execute("SELECT phone FROM users ORDER BY id")]
        rng.shuffle(phones)
        try:
            token = create_operator_key(procs, "latency operator")
            procs.start("web", "serve", "--workers", str(args.web))
            base_url = f"http://127.0.0.1:{env['EXITRIGHT_PORT']}"
            wait_healthy(base_url, procs)
            for _ in range(20):  # warm both processes' pools and caches
                httpx.get(f"{base_url}/healthz", timeout=10)
            print(
                f"{args.web} web process(es), {args.clients} clients; load {load_average()}",
                flush=True,
            )
            submit = Phase("submit")
            jobs = [submit_job(p) for p in phones[: args.submits]]
            answers = asyncio.run(run_phase(submit, base_url, token, args.clients, jobs))
            ids = [r.json()["id"] for r in answers if r.status_code in (200, 201)]
            print(submit.line(), flush=True)
            status = Phase("status")
            jobs = [status_job(rng.choice(ids)) for _ in range(args.reads)] if ids else []
            asyncio.run(run_phase(status, base_url, token, args.clients, jobs))
            print(status.line(), flush=True)
            procs.check_alive()
        finally:
            procs.stop()
        print(f"  load average (1/5/15 min) at the end: {load_average()}")
        for phase in (submit, status):
            bad = {c: n for c, n in phase.codes.items() if not 200 <= c < 300}
            if bad:
                problems.append(f"{phase.name}: non-2xx answers {bad}")
            if not phase.ms:
                problems.append(f"{phase.name}: nothing measured")
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
