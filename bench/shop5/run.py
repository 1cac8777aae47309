"""shop5: erase customers of a 5-table shop on PostgreSQL through ExitRight's full request path.

The fixed workload of issue 7, so that other tools can be measured on it too:

* a shop database ``shop5_<random>`` with ``schema.sql`` (address, customer, orders, order_item,
  login): ``--customers`` customers (2,000), each with one address, 3 orders of 2 items and
  5 logins;
* an engine database ``exitright_shop5_<random>``; ``exitright serve`` (one process) and
  ``--workers`` ``exitright worker`` processes, started here with the data map
  (``datamap.yaml``: orders vaulted under cn-ecl-31; ``--variant delete``: ``datamap_delete.yaml``,
  everything deleted or blanked, no vault) and no cooling-off;
* ``--erase`` customers (200), chosen at random, erased by e-mail by ``--clients`` client threads
  (8), each taking one subject at a time through ``POST /v1/requests`` (kind cancel) →
  ``POST /v1/requests/{id}/verify`` (an operator key with ``requests:verify``) → ``GET`` until
  ``completed``.

Afterwards it checks that the erased customers left nothing in the shop (their customer, login,
orders and order_item rows are gone, their addresses blank) and that every other customer's rows
are unchanged (an MD5 of their rows before and after), prints subjects/second from the first
submit to the last completion, p50/p99 per subject and where the time went, drops both databases
and kills every process it started. Exits 1 when a check fails.

    .venv/bin/python bench/shop5/run.py             # 2,000 customers, erase 200, 2 workers
    .venv/bin/python bench/shop5/run.py --workers 1 --variant delete
    .venv/bin/python bench/shop5/run.py --customers 20 --erase 5   # the smoke test's scale
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # bench/harness.py: a script's sibling, not a package

from harness import (  # noqa: E402 (after the path above)
    ADMIN_URL,
    Processes,
    create_operator_key,
    databases,
    environment,
    pct,
    run_clients,
    sqlalchemy_url,
    wait_healthy,
)

MAPS = {"vault": HERE / "datamap.yaml", "delete": HERE / "datamap_delete.yaml"}
TABLES = ("address", "customer", "orders", "order_item", "login")
ORDERS_PER_CUSTOMER = 3
ITEMS_PER_ORDER = 2
LOGINS_PER_CUSTOMER = 5


# --- Databases -------------------------------------------------------------------------------


def seed(url: str, customers: int, rng: random.Random) -> None:
    """Create the schema and the customers, their addresses, orders, items and logins."""
    now = datetime.now(UTC)
    addresses, people, orders, items, logins = [], [], [], [], []
    for c in range(1, customers + 1):
        addresses.append((c, f"{rng.randint(1, 999)} Lane {c}", f"City {c % 97}", f"{c:06d}"))
        people.append((c, f"customer{c}@shop5.example", f"Customer {c}", f"139{c:08d}", c))
        for o in range(ORDERS_PER_CUSTOMER):
            oid = (c - 1) * ORDERS_PER_CUSTOMER + o + 1
            placed = now - timedelta(days=rng.randint(10, 700), seconds=rng.randint(0, 86399))
            orders.append((oid, c, c, placed, placed + timedelta(days=rng.randint(1, 7))))
            for i in range(ITEMS_PER_ORDER):
                iid = (oid - 1) * ITEMS_PER_ORDER + i + 1
                price = f"{rng.randint(100, 99999) / 100:.2f}"
                items.append(
                    (iid, oid, f"SKU-{rng.randint(1, 5000):05d}", rng.randint(1, 5), price)
                )
        for i in range(LOGINS_PER_CUSTOMER):
            lid = (c - 1) * LOGINS_PER_CUSTOMER + i + 1
            ip = f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            logins.append((lid, c, ip, now - timedelta(minutes=rng.randint(1, 500000))))
    rows: dict[str, Sequence[tuple[Any, ...]]] = {
        "address": addresses,
        "customer": people,
        "orders": orders,
        "order_item": items,
        "login": logins,
    }
    with psycopg.connect(url) as conn:
        conn.execute((HERE / "schema.sql").read_text(encoding="utf-8"))
        with conn.cursor() as cur:
            for table in TABLES:
                with cur.copy(f"COPY {table} FROM STDIN") as copy:
                    for row in rows[table]:
                        copy.write_row(row)
        conn.execute("ANALYZE")


# Per table, the rows of a set of customers (``%(ids)s``), ordered, as one MD5.
_ROWS_OF = {
    "address": "SELECT a.* FROM address a JOIN customer c ON c.address_id = a.id"
    " WHERE c.id = ANY(%(ids)s) ORDER BY a.id",
    "customer": "SELECT * FROM customer WHERE id = ANY(%(ids)s) ORDER BY id",
    "orders": "SELECT * FROM orders WHERE customer_id = ANY(%(ids)s) ORDER BY id",
    "order_item": "SELECT i.* FROM order_item i JOIN orders o ON o.id = i.order_id"
    " WHERE o.customer_id = ANY(%(ids)s) ORDER BY i.id",
    "login": "SELECT * FROM login WHERE customer_id = ANY(%(ids)s) ORDER BY id",
}


def checksums(url: str, ids: Sequence[int]) -> dict[str, tuple[int, str]]:
    """Per table: how many rows the customers ``ids`` have, and an MD5 of those rows."""
    out: dict[str, tuple[int, str]] = {}
    with psycopg.connect(url) as conn:
        for table, query in _ROWS_OF.items():
            row = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, '|'), '')) FROM ({query}) t",
                {"ids": list(ids)},
            ).fetchone()
            assert row is not None
            out[table] = (int(row[0]), str(row[1]))
    return out


def leftovers(url: str, emails: Sequence[str], ids: Sequence[int]) -> dict[str, int]:
    """What the erased customers left in the shop: rows per table (addresses: not blank)."""
    with psycopg.connect(url) as conn:

        def one(sql: str, params: dict[str, Any]) -> int:
            row = conn.execute(sql, params).fetchone()
            return int(row[0]) if row else -1

        p = {"ids": list(ids), "emails": [e.lower() for e in emails]}
        return {
            "customer (by e-mail)": one(
                "SELECT count(*) FROM customer WHERE lower(email) = ANY(%(emails)s)", p
            ),
            "customer (by id)": one("SELECT count(*) FROM customer WHERE id = ANY(%(ids)s)", p),
            "login": one("SELECT count(*) FROM login WHERE customer_id = ANY(%(ids)s)", p),
            "orders": one("SELECT count(*) FROM orders WHERE customer_id = ANY(%(ids)s)", p),
            "order_item": one(
                "SELECT count(*) FROM order_item WHERE order_id IN (SELECT generate_series("
                " (c - 1) * 3 + 1, c * 3) FROM unnest(%(ids)s::bigint[]) c)",
                p,
            ),
            # Each customer's address has the customer's id (seed); it must be blank now.
            "address (not blank)": one(
                "SELECT count(*) FROM address WHERE id = ANY(%(ids)s)"
                " AND (line1 IS NOT NULL OR city IS NOT NULL OR postcode IS NOT NULL)",
                p,
            ),
        }


# --- The erasures ----------------------------------------------------------------------------


@dataclass
class Subject:
    """One erasure as the client saw it (monotonic-clock seconds) and as the server recorded it."""

    email: str
    request_id: str = ""
    submitted: float = 0.0  # before POST /v1/requests
    verified: float = 0.0  # after POST …/verify answered
    seen_completed: float = 0.0  # the GET that first answered completed
    timeline: dict[str, datetime] = field(default_factory=dict)  # to-state → when (server)
    error: str = ""


def _parse(at: str) -> datetime:
    return datetime.fromisoformat(at.replace("Z", "+00:00"))


def erase_one(client: httpx.Client, s: Subject, poll: float, timeout: float) -> None:
    """Submit, verify and wait for one subject's cancellation."""
    s.submitted = time.monotonic()
    r = client.post(
        "/v1/requests",
        json={"kind": "cancel", "identifiers": {"email": s.email}},
        headers={"Idempotency-Key": f"shop5-{s.email}"},
    )
    if r.status_code != 201:
        s.error = f"submit {r.status_code} {r.text[:300]}"
        return
    s.request_id = r.json()["id"]
    r = client.post(f"/v1/requests/{s.request_id}/verify")
    if r.status_code != 200:
        s.error = f"verify {r.status_code} {r.text[:300]}"
        return
    s.verified = time.monotonic()
    deadline = s.verified + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/v1/requests/{s.request_id}")
        body = r.json() if r.status_code == 200 else {}
        if body.get("state") == "completed":
            s.seen_completed = time.monotonic()
            for entry in body["timeline"]:
                s.timeline.setdefault(entry["to"], _parse(entry["at"]))
            return
        if body.get("state") in ("failed", "rejected", "revoked") or r.status_code != 200:
            why = body.get("failure") or body.get("rejection") or body
            s.error = f"state {body.get('state')} ({r.status_code}): {json.dumps(why)[:400]}"
            return
        time.sleep(poll)
    s.error = f"not completed within {timeout:.0f}s"


def erase_all(
    base_url: str, token: str, subjects: list[Subject], clients: int, poll: float, timeout: float
) -> None:
    """``clients`` threads, each taking the next subject when its last one completed."""

    def failed(s: Subject, why: str) -> None:
        s.error = why

    run_clients(
        base_url, token, subjects, clients, lambda c, s: erase_one(c, s, poll, timeout), failed
    )


# --- Figures ---------------------------------------------------------------------------------


def step_breakdown(engine_url: str) -> dict[str, list[float]]:
    """Per plan, milliseconds in each phase of the erasure, from the step records.

    The engine stamps a store's table steps with the times of the one transaction they share, so
    they are one phase here: ``sql tables`` (every table's delete, retain, anonymize).
    """
    with psycopg.connect(engine_url) as conn:
        rows = conn.execute(
            "SELECT plan_id, CASE WHEN kind IN ('sql.maintenance', 'residual') THEN kind"
            " ELSE 'sql tables' END,"
            " extract(epoch FROM max(finished_at) - min(started_at)) * 1000"
            " FROM erasure_steps WHERE finished_at IS NOT NULL AND started_at IS NOT NULL"
            " GROUP BY 1, 2"
        ).fetchall()
    by: dict[str, list[float]] = {}
    for _plan, phase, ms in rows:
        by.setdefault(str(phase), []).append(float(ms))
    return by


def vault_records(engine_url: str) -> dict[str, int]:
    """Records in the vault per table."""
    with psycopg.connect(engine_url) as conn:
        rows = conn.execute(
            "SELECT table_name, count(*) FROM vault_records GROUP BY table_name ORDER BY 1"
        ).fetchall()
    return {str(t): int(n) for t, n in rows}


def report(subjects: list[Subject], engine_url: str, args: argparse.Namespace) -> dict[str, Any]:
    """Print the figures; return them (also written with ``--json``)."""
    first = min(s.submitted for s in subjects)
    last = max(s.seen_completed for s in subjects)
    wall = last - first
    end_to_end = [(s.seen_completed - s.submitted) * 1000 for s in subjects]
    # Server-side stages, from each request's timeline (the server's clock).
    stages: dict[str, list[float]] = {
        "submit → verified (API, client round trips)": [],
        "verified → executing (queue: cooling-off pass, claim)": [],
        "executing → completed (erasure, certificate)": [],
        "verified → completed (server)": [],
    }
    for s in subjects:
        t = s.timeline
        stages["submit → verified (API, client round trips)"].append(
            (t["verified"] - t["submitted"]).total_seconds() * 1000
        )
        stages["verified → executing (queue: cooling-off pass, claim)"].append(
            (t["executing"] - t["verified"]).total_seconds() * 1000
        )
        stages["executing → completed (erasure, certificate)"].append(
            (t["completed"] - t["executing"]).total_seconds() * 1000
        )
        stages["verified → completed (server)"].append(
            (t["completed"] - t["verified"]).total_seconds() * 1000
        )
    figures: dict[str, Any] = {
        "variant": args.variant,
        "workers": args.workers,
        "clients": args.clients,
        "customers": args.customers,
        "erased": len(subjects),
        "wall_seconds": round(wall, 2),
        "subjects_per_second": round(len(subjects) / wall, 3),
        "p50_ms": round(pct(end_to_end, 50), 1),
        "p99_ms": round(pct(end_to_end, 99), 1),
        "stages_ms": {
            name: {"p50": round(pct(v, 50), 1), "p99": round(pct(v, 99), 1)}
            for name, v in stages.items()
        },
        "erasure_phases_ms": {
            phase: {"p50": round(pct(v, 50), 1), "p99": round(pct(v, 99), 1), "n": len(v)}
            for phase, v in step_breakdown(engine_url).items()
        },
        "vault_records": vault_records(engine_url),
    }
    print(
        f"\nshop5 ({args.variant}): {len(subjects)} of {args.customers} customers erased,"
        f" {args.workers} worker process(es), {args.clients} client threads"
    )
    print(f"  wall time (first submit → last completed): {wall:.2f} s")
    print(f"  throughput: {figures['subjects_per_second']:.3f} subjects/s")
    print(
        f"  per subject, end to end: p50 {figures['p50_ms']:.0f} ms, p99 {figures['p99_ms']:.0f} ms"
    )
    print("  stages (p50 / p99 ms):")
    for name, v in figures["stages_ms"].items():
        print(f"    {name:<56} {v['p50']:>8.0f} {v['p99']:>8.0f}")
    print("  inside executing → completed, per plan (p50 / p99 ms, from the step records):")
    for phase, v in figures["erasure_phases_ms"].items():
        print(f"    {phase:<56} {v['p50']:>8.1f} {v['p99']:>8.1f}")
    print(f"  vault records: {figures['vault_records'] or 'none'}")
    return figures


# --- Main ------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the workload; 0 when every check passed."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--erase", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2, help="exitright worker processes")
    ap.add_argument("--clients", type=int, default=8, help="client threads")
    ap.add_argument("--variant", choices=sorted(MAPS), default="vault")
    ap.add_argument("--map", type=Path, help="another data map (instead of the variant's)")
    ap.add_argument("--poll", type=float, default=0.2, help="worker --poll, seconds (idle)")
    ap.add_argument("--client-poll", type=float, default=0.05, help="seconds between GETs")
    ap.add_argument("--timeout", type=float, default=600, help="per subject, seconds")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--admin-url", default=ADMIN_URL, help="a PostgreSQL database to connect to")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)
    if not 0 < args.erase <= args.customers:
        ap.error("--erase must be between 1 and --customers")

    rng = random.Random(args.seed)
    erased_ids = sorted(rng.sample(range(1, args.customers + 1), args.erase))
    kept_ids = sorted(set(range(1, args.customers + 1)) - set(erased_ids))
    emails = [f"customer{c}@shop5.example" for c in erased_ids]
    problems: list[str] = []

    with (
        tempfile.TemporaryDirectory(prefix="shop5-") as tmpdir,
        databases(args.admin_url, "shop5", "exitright_shop5") as (shop_url, engine_url),
    ):
        tmp = Path(tmpdir)
        t0 = time.monotonic()
        seed(shop_url, args.customers, rng)
        before = checksums(shop_url, kept_ids)
        print(
            f"seeded {args.customers} customers in {time.monotonic() - t0:.1f} s: "
            + ", ".join(
                f"{t} {n}"
                for t, (n, _) in checksums(shop_url, range(1, args.customers + 1)).items()
            )
        )
        env = environment(
            tmp,
            engine_url,
            datamap_path=str(args.map or MAPS[args.variant]),
            SHOP5_DATABASE_URL=sqlalchemy_url(shop_url),
        )
        procs = Processes(env, tmp)
        try:
            procs.run("db", "upgrade")
            token = create_operator_key(procs, "shop5 operator")
            procs.start("web", "serve")
            for i in range(args.workers):
                procs.start(f"worker-{i + 1}", "worker", "--poll", str(args.poll))
            base_url = f"http://127.0.0.1:{env['EXITRIGHT_PORT']}"
            wait_healthy(base_url, procs)
            time.sleep(1.0)  # the workers' start-up (migration check, map load)
            procs.check_alive()
            subjects = [Subject(e) for e in emails]
            print(f"erasing {len(subjects)} customers …", flush=True)
            erase_all(base_url, token, subjects, args.clients, args.client_poll, args.timeout)
            procs.check_alive()
        finally:
            procs.stop()
        failed = [s for s in subjects if s.error]
        for s in failed[:5]:
            problems.append(f"{s.email.split('@')[0]}: {s.error}")
        if len(failed) > 5:
            problems.append(f"… and {len(failed) - 5} more failed requests")
        figures: dict[str, Any] = {}
        if not failed:
            figures = report(subjects, engine_url, args)
        left = leftovers(shop_url, emails, erased_ids)
        print(f"  left by the erased customers: {left}")
        problems += [f"{n} {what} row(s) of erased customers left" for what, n in left.items() if n]
        after = checksums(shop_url, kept_ids)
        changed = [t for t in TABLES if before[t] != after[t]]
        print(
            f"  other {len(kept_ids)} customers: "
            + ("unchanged (" + ", ".join(f"{t} {before[t][0]}" for t in TABLES) + " rows)"
               if not changed else f"CHANGED in {', '.join(changed)}")
        )  # fmt: skip
        problems += [f"rows of other customers changed in {t}" for t in changed]
        if args.variant == "vault" and figures and not figures["vault_records"]:
            problems.append("the vault variant put nothing in the vault")
        if args.json and figures:
            figures["ok"] = not problems
            args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
