"""The 10,000-order subject: one account with ``--orders`` orders and their children, erased.

Seeds the demo platform (SQLite file, or a fresh PostgreSQL database) with enough users for the
orders (in a child process, so this process's memory is the erasure's), then gives one active
user ``--orders`` of them by moving existing orders to that user (``UPDATE orders SET user_id``):
each comes with the children the generator wrote for it (items, payment, refund, delivery,
invoice, review and photos, wallet entries, customer-service conversation and messages). Then
it erases the user through the engine exactly as a worker does (``erase_subject``: plan, measure,
steps in batches of ``ErasureContext.batch_size`` rows, retained rows encrypted into the vault,
residual check) and prints the wall time, rows per table, the batches used (``batch:`` events)
and the peak memory: the process's peak RSS before and after (``ru_maxrss``) and, with
``--tracemalloc``, the peak of Python allocations during the erasure (slower).

    .venv/bin/python bench/heavy_subject.py --backend sqlite
    .venv/bin/python bench/heavy_subject.py --backend postgres
    .venv/bin/python bench/heavy_subject.py --backend sqlite --tracemalloc
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bench/harness.py

from harness import ADMIN_URL, databases, load_average, sqlalchemy_url  # noqa: E402

from exitright.clock import SystemClock  # noqa: E402
from exitright.connectors.sql_engine import store_engine  # noqa: E402
from exitright.datamap.loader import load_map  # noqa: E402
from exitright.db import migrate  # noqa: E402
from exitright.db.engine import make_engine  # noqa: E402
from exitright.erasure.context import ErasureContext  # noqa: E402
from exitright.erasure.service import Lookup, erase_subject  # noqa: E402
from exitright.vault.crypto import LocalKeyWrapper  # noqa: E402
from exitright.vault.service import VaultService  # noqa: E402

DEMO_MAP = HERE.parent / "src" / "exitright" / "demo" / "datamap.yaml"
ORDERS_PER_USER = 3.0  # about what the generator writes (3.07 at 100,000 users)
SEED = (
    "import sys; from exitright.db.engine import make_engine;"
    " from exitright.demo.seed import seed_platform;"
    " seed_platform(make_engine(sys.argv[1]), users=int(sys.argv[2]), seed=11)"
)


@contextlib.contextmanager
def platform_and_engine(backend: str, admin_url: str) -> Iterator[tuple[str, str, Path]]:
    """(demo platform URL, engine URL, a temporary folder), all gone afterwards."""
    with tempfile.TemporaryDirectory(prefix="heavy-subject-") as tmp:
        if backend == "sqlite":
            yield f"sqlite:///{tmp}/platform.db", f"sqlite:///{tmp}/engine.db", Path(tmp)
            return
        with databases(admin_url, "heavy_demo", "exitright_heavy") as (demo, engine):
            yield sqlalchemy_url(demo), sqlalchemy_url(engine), Path(tmp)


def give_orders(platform: Engine, orders: int) -> tuple[int, int]:
    """Move ``orders`` orders to one active user; (user id, orders the user now has)."""
    with platform.begin() as conn:
        uid = int(
            conn.execute(
                text("SELECT id FROM users WHERE status = 'active' ORDER BY id LIMIT 1")
            ).scalar_one()
        )
        conn.execute(
            text(
                "UPDATE orders SET user_id = :u WHERE id IN"
                " (SELECT id FROM orders ORDER BY id LIMIT :n)"
            ),
            {"u": uid, "n": orders},
        )
        have = int(
            conn.execute(text("SELECT count(*) FROM orders WHERE user_id = :u"), {"u": uid}).one()[
                0
            ]
        )
        if platform.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    return uid, have


def rss_mib() -> float:
    """This process's peak resident set size so far, in MiB (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    """Seed, erase the heavy subject, report; 0 when the erasure completed and left nothing."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--orders", type=int, default=10_000)
    ap.add_argument("--tracemalloc", action="store_true", help="trace Python allocations too")
    ap.add_argument("--admin-url", default=ADMIN_URL, help="a PostgreSQL database to connect to")
    args = ap.parse_args()
    users = int(args.orders / ORDERS_PER_USER * 1.1) + 100

    with platform_and_engine(args.backend, args.admin_url) as (platform_url, engine_url, tmp):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", SEED, platform_url, str(users)], check=True)
        platform = store_engine(platform_url)
        uid, have = give_orders(platform, args.orders)
        with platform.connect() as conn:
            before = {
                t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                for t in ("orders", "order_items", "payments", "deliveries", "invoices")
            }
        print(
            f"{args.backend}: seeded {users:,} users, user {uid} has {have:,} orders"
            f" ({time.perf_counter() - t0:.1f} s); load {load_average()}",
            flush=True,
        )

        env = {"EXITRIGHT_DEMO_DATABASE_URL": platform_url, "EXITRIGHT_DEMO_UPLOADS": str(tmp)}
        dm = load_map(DEMO_MAP, env)
        dm = dm.model_copy(
            update={"stores": {k: v for k, v in dm.stores.items() if k != "sessions"}}
        )
        migrate.upgrade(engine_url)
        engine = make_engine(engine_url)
        clock = SystemClock()
        ctx = ErasureContext(
            engine,
            VaultService(engine, LocalKeyWrapper(b"heavy".ljust(32, b".")), clock),
            b"heavy-pseudonym".ljust(32, b"."),
            clock,
            sql_engines={"platform": platform},
        )
        events: Counter[str] = Counter()

        def observe(event: str) -> None:
            events[event.split(":", 1)[0]] += 1

        rss_before = rss_mib()
        if args.tracemalloc:
            tracemalloc.start()
        started = time.perf_counter()
        summary = erase_subject(ctx, dm, Lookup("user_id", str(uid)), observe=observe)
        elapsed = time.perf_counter() - started
        traced = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
        tracemalloc.stop()
        rss_after = rss_mib()
        with platform.connect() as conn:
            left = int(
                conn.execute(
                    text("SELECT count(*) FROM orders WHERE user_id = :u"), {"u": uid}
                ).scalar_one()
            )
        with engine.connect() as conn:
            vaulted = int(conn.execute(text("SELECT count(*) FROM vault_records")).scalar_one())
            steps = conn.execute(
                text("SELECT count(*), coalesce(sum(matched), 0) FROM erasure_steps")
            ).one()
        rows = sum(sum(c.values()) for c in summary.tables.values())
        print(
            f"\nerased user {uid} ({have:,} orders): {summary.status} in {elapsed:.1f} s\n"
            f"  {steps[0]} steps, {int(steps[1]):,} rows matched, {rows:,} row changes"
            f" ({rows / elapsed:,.0f}/s); {vaulted:,} rows encrypted into the vault\n"
            f"  batches of up to {ctx.batch_size} rows: {events['batch']};"
            f" residual hits: {len(summary.hits)}\n"
            f"  peak RSS: {rss_before:.0f} MiB before, {rss_after:.0f} MiB after"
            + (f"; Python allocations peak {traced:.1f} MiB" if traced is not None else "")
            + f"\n  load average (1/5/15 min) at the end: {load_average()}"
        )
        for (store, table), counts in sorted(summary.tables.items()):
            if any(counts.values()):
                print(f"    {store}.{table:<24} {dict(counts)}")
        print(f"  platform rows before: {before}")
        engine.dispose()
        platform.dispose()
    problems = []
    if summary.status != "completed":
        problems.append(f"erasure {summary.status} at {summary.failed_step}")
    if left:
        problems.append(f"{left} orders of the subject left")
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
