"""Soak with chaos: demo-platform cancellations through the API while workers are SIGKILLed.

Issue 7's soak on PostgreSQL: a fresh engine database and a fresh demo-platform database
(``exitright demo seed --users``), one ``exitright serve`` process and ``--workers``
``exitright worker`` processes. ``--requests`` users (active, no pre-check in the way), chosen
at random, are cancelled by phone through ``POST /v1/requests`` and ``POST …/verify`` with an
operator key (``requests:verify``), no cooling-off, by ``--clients`` threads. Meanwhile a chaos
thread SIGKILLs a random worker every ``--kill-every`` seconds (a random time in that range) and
starts it again ``--restart-after`` seconds later, at most ``--kills`` times.

When every request has completed (or ``--timeout`` ran out) it stops everything and checks:

* every request is ``completed``, with exactly one erasure plan, every step of it ``done``;
* the ledger holds exactly one ``request.complete`` per request, and no state transition of a
  request twice (``request.execute`` once, …), and ``exitright ledger verify`` passes;
* the residual check ran and found nothing for every subject;
* the subjects own no rows any more, and every other row of every demo table is unchanged
  (an MD5 over the rows that neither belong to nor mention a subject, before and after;
  ``oracle.py``).

It prints requests/minute (first submit → last completion, from the server's timestamps), the
kills, how many steps ran more than once (resumed after a kill) and the machine's load, and
exits 1 when any check failed.

    .venv/bin/python bench/soak/run.py                            # 2,000 requests, 4 workers
    .venv/bin/python bench/soak/run.py --workers 1 --kills 0      # scaling, without chaos
    .venv/bin/python bench/soak/run.py --users 300 --requests 60 --workers 3 --kills 3
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/harness.py
sys.path.insert(0, str(HERE))  # checks.py, oracle.py

from checks import engine_checks, engine_figures  # noqa: E402
from harness import (  # noqa: E402 (after the paths above)
    ADMIN_URL,
    Processes,
    create_operator_key,
    databases,
    environment,
    load_average,
    run_clients,
    sqlalchemy_url,
    wait_healthy,
)
from oracle import leftovers, others_checksums, touched_keys  # noqa: E402

# --- Subjects and submission -----------------------------------------------------------------


# Users no pre-check of the demo platform stops (src/exitright/demo/prechecks.py): the soak is
# about workers and kills; blocked cancellations are tested elsewhere.
_UNBLOCKED = (
    "SELECT u.id, u.phone FROM users u WHERE u.status = 'active'"
    " AND NOT EXISTS (SELECT 1 FROM wallets w WHERE w.user_id = u.id"
    "  AND (w.balance_cents > 0 OR w.frozen_cents > 0))"
    " AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id"
    "  AND o.status IN ('pending_payment', 'paid', 'delivering'))"
    " AND NOT EXISTS (SELECT 1 FROM cs_conversations c WHERE c.user_id = u.id"
    "  AND c.status = 'open' AND c.order_id IS NOT NULL)"
    " ORDER BY u.id"
)


def pick_subjects(demo_url: str, n: int, rng: random.Random) -> list[tuple[int, str]]:
    """``n`` random (user id, phone) of active users whom no pre-check blocks."""
    with psycopg.connect(demo_url) as conn:
        rows = conn.execute(_UNBLOCKED).fetchall()
    if len(rows) < n:
        raise SystemExit(f"only {len(rows)} users qualify for --requests {n}: raise --users")
    return sorted((int(i), str(p)) for i, p in rng.sample(rows, n))


@dataclass
class Submitted:
    """What the API answered for one subject."""

    phone: str
    request_id: str = ""
    error: str = ""


def submit_all(base_url: str, token: str, subjects: list[Submitted], clients: int) -> None:
    """Submit and verify every subject's cancellation, ``clients`` threads at a time."""

    def one(client: httpx.Client, s: Submitted) -> None:
        r = client.post(
            "/v1/requests",
            json={"kind": "cancel", "identifiers": {"phone": s.phone}},
            headers={"Idempotency-Key": f"soak-{s.phone}"},
        )
        if r.status_code not in (200, 201):
            s.error = f"submit {r.status_code} {r.text[:200]}"
            return
        s.request_id = r.json()["id"]
        r = client.post(f"/v1/requests/{s.request_id}/verify")
        if r.status_code != 200:
            s.error = f"verify {r.status_code} {r.text[:200]}"

    def failed(s: Submitted, why: str) -> None:
        s.error = why

    run_clients(base_url, token, subjects, clients, one, failed)


# --- Chaos -----------------------------------------------------------------------------------


@dataclass
class Chaos:
    """A thread that SIGKILLs a random worker at random moments and restarts it."""

    procs: Processes
    workers: list[str]
    every: tuple[float, float]
    restart_after: float
    limit: int
    rng: random.Random
    stop: threading.Event = field(default_factory=threading.Event)
    kills: list[tuple[float, str]] = field(default_factory=list)
    error: str = ""

    def run(self) -> None:
        """Kill, wait, restart, until stopped or ``limit`` kills."""
        started = time.monotonic()
        try:
            while len(self.kills) < self.limit:
                if self.stop.wait(self.rng.uniform(*self.every)):
                    return
                name = self.rng.choice(self.workers)
                self.procs.kill(name)
                self.kills.append((round(time.monotonic() - started, 1), name))
                print(f"  chaos: SIGKILL {name} at {self.kills[-1][0]:.1f} s", flush=True)
                self.stop.wait(self.restart_after)
                self.procs.restart(name)
        except Exception as exc:  # reported as a failed check, not a hung soak
            self.error = f"{type(exc).__name__}: {exc}"


# --- Waiting and checking --------------------------------------------------------------------


def states(engine_url: str) -> dict[str, int]:
    """Requests per state."""
    with psycopg.connect(engine_url) as conn:
        rows = conn.execute("SELECT state, count(*) FROM requests GROUP BY state").fetchall()
    return {str(s): int(n) for s, n in rows}


def wait_completed(engine_url: str, n: int, timeout: float, procs: Processes) -> float:
    """Until ``n`` requests are completed; the seconds waited (raises on timeout)."""
    t0 = time.monotonic()
    last_print = 0.0
    while True:
        by = states(engine_url)
        if by.get("completed", 0) >= n:
            return time.monotonic() - t0
        now = time.monotonic()
        if now - t0 > timeout:
            raise TimeoutError(f"after {timeout:.0f} s: {by}")
        if now - last_print > 10:
            print(f"  {now - t0:6.0f} s  {by}", flush=True)
            last_print = now
        time.sleep(0.5)


# --- Main ------------------------------------------------------------------------------------


def _range(text: str) -> tuple[float, float]:
    low, _, high = text.partition("-")
    return float(low), float(high or low)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the soak; 0 when every check passed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--users", type=int, default=5000, help="demo platform users to seed")
    ap.add_argument("--requests", type=int, default=2000, help="cancellations to submit")
    ap.add_argument("--workers", type=int, default=4, help="exitright worker processes")
    ap.add_argument("--clients", type=int, default=8, help="client threads submitting")
    ap.add_argument("--kills", type=int, default=1_000_000, help="SIGKILLs at most (0: none)")
    ap.add_argument("--kill-every", type=_range, default=(5.0, 20.0), help="seconds, LOW-HIGH")
    ap.add_argument("--restart-after", type=float, default=1.0, help="seconds before restarting")
    ap.add_argument("--poll", type=float, default=0.2, help="worker --poll, seconds (idle)")
    ap.add_argument("--timeout", type=float, default=3600, help="for all requests, seconds")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--admin-url", default=ADMIN_URL, help="a PostgreSQL database to connect to")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    problems: list[str] = []
    figures: dict[str, Any] = {}

    with (
        tempfile.TemporaryDirectory(prefix="soak-") as tmpdir,
        databases(args.admin_url, "soak_demo", "exitright_soak") as (demo_url, engine_url),
    ):
        tmp = Path(tmpdir)
        env = environment(
            tmp,
            engine_url,
            demo_enabled="true",
            demo_database_url=sqlalchemy_url(demo_url),
            submit_limit_per_key="1000000",  # one back end submits them all (default 600/window)
        )
        procs = Processes(env, tmp)
        t0 = time.monotonic()
        procs.run("db", "upgrade")
        procs.run("demo", "seed", "--users", str(args.users), "--seed", str(args.seed))
        picked = pick_subjects(demo_url, args.requests, rng)
        ids, phones = [i for i, _ in picked], [p for _, p in picked]
        touched = touched_keys(demo_url, ids, phones)
        before = others_checksums(demo_url, touched)
        print(
            f"seeded {args.users} users in {time.monotonic() - t0:.1f} s; {len(ids)} subjects"
            f" touch {sum(map(len, touched.values()))} rows; load {load_average()}",
            flush=True,
        )
        chaos: Chaos | None = None
        try:
            token = create_operator_key(procs, "soak operator")
            procs.start("web", "serve")
            workers = [f"worker-{i + 1}" for i in range(args.workers)]
            for name in workers:
                procs.start(name, "worker", "--poll", str(args.poll))
            base_url = f"http://127.0.0.1:{env['EXITRIGHT_PORT']}"
            wait_healthy(base_url, procs)
            time.sleep(1.0)  # the workers' start-up (migration check, map load)
            procs.check_alive()
            chaos = Chaos(procs, workers, args.kill_every, args.restart_after, args.kills, rng)
            chaos_thread = threading.Thread(target=chaos.run, daemon=True)
            subjects = [Submitted(p) for p in phones]
            print(f"submitting {len(subjects)} cancellations …", flush=True)
            started = time.monotonic()
            chaos_thread.start()
            submit_all(base_url, token, subjects, args.clients)
            print(f"  submitted and verified in {time.monotonic() - started:.1f} s", flush=True)
            failed = [s for s in subjects if s.error]
            problems += [f"request not accepted: {s.error}" for s in failed[:5]]
            if not failed:
                try:
                    wait_completed(engine_url, len(subjects), args.timeout, procs)
                except TimeoutError as exc:
                    problems.append(f"not all requests completed: {exc}")
            chaos.stop.set()
            chaos_thread.join(timeout=30)
            if chaos.error:
                problems.append(f"chaos thread: {chaos.error}")
            procs.check_alive()
        finally:
            if chaos is not None:
                chaos.stop.set()
            procs.stop()
        load = load_average()

        for name, rows in engine_checks(engine_url).items():
            if rows:
                problems.append(f"{name}: {len(rows)} (e.g. {rows[:3]})")
        try:
            out = procs.run("ledger", "verify")
            print(f"  ledger verify: {out.strip().splitlines()[-1] if out.strip() else 'ok'}")
        except RuntimeError as exc:
            problems.append(f"ledger verify failed: {str(exc)[:300]}")
        left = {t: n for t, n in leftovers(demo_url, ids, phones).items() if n}
        problems += [f"{n} {t} row(s) of subjects left" for t, n in left.items()]
        after = others_checksums(demo_url, touched)
        changed = [t for t in before if before[t] != after.get(t)]
        problems += [f"rows of other users changed in {t}" for t in changed]
        others = sum(n for n, _ in before.values())
        print(
            f"  other users' rows: {others} in {len(before)} tables, "
            + (f"CHANGED in {', '.join(changed)}" if changed else "unchanged")
        )

        figures = {
            "workers": args.workers,
            "requests": args.requests,
            "users": args.users,
            "kills": len(chaos.kills) if chaos else 0,
            "kill_times": chaos.kills if chaos else [],
            **engine_figures(engine_url),
            "load_average_after": load,
        }
        wall = figures["wall_seconds"]
        figures["requests_per_minute"] = round(args.requests / wall * 60, 1) if wall else 0.0
        print(
            f"\nsoak: {args.requests} cancellations, {args.workers} worker(s),"
            f" {figures['kills']} SIGKILL(s)\n"
            f"  first submit → last completion: {wall:.1f} s"
            f" = {figures['requests_per_minute']:.1f} requests/minute\n"
            f"  per request, submit → completed: p50 {figures['submit_to_completed_p50_s']} s,"
            f" p99 {figures['submit_to_completed_p99_s']} s\n"
            f"  steps run more than once (resumed after a kill): "
            f"{figures['steps_run_more_than_once']}; requests retried: "
            f"{figures['requests_retried']} {figures['failure_reasons'] or ''}\n"
            f"  load average (1/5/15 min) at the end: {load}"
        )
        if args.json:
            figures["ok"] = not problems
            figures["problems"] = problems
            args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    if not problems:
        print("  every check passed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
