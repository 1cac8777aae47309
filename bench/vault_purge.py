"""Purge at volume: a million vault records expiring on one day, destroyed in bounded batches.

Fills a fresh engine database with ``--records`` records (``--per-key`` per subject key, all
expiring on the same day, plus a tenth as many keys that expire later) using set-based SQL
(``generate_series`` on PostgreSQL, a recursive CTE on SQLite: not the encryption path, which
would take an hour), then runs ``VaultService.purge`` (``--batch`` keys per transaction, each
ledgered) from ``--purgers`` threads at once. Meanwhile a writer stores a new subject's three
records through the real encrypting ``VaultService.put`` every 50 ms and times each write:
that is what a worker erasing someone during the purge would wait.

Prints the fill time, the purge's records/s and keys/s, the batches, the concurrent writes'
latency (p50 / p99 / max; and the same writes before the purge, for comparison), and checks
that exactly the expired records went and the ledger verifies; exits 1 if not.

    .venv/bin/python bench/vault_purge.py --backend postgres
    .venv/bin/python bench/vault_purge.py --backend postgres --purgers 2
    .venv/bin/python bench/vault_purge.py --backend sqlite
    .venv/bin/python bench/vault_purge.py --backend sqlite --records 20000   # a quick look
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select, text

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bench/harness.py

from harness import ADMIN_URL, databases, load_average, pct, sqlalchemy_url  # noqa: E402

from exitright.clock import SystemClock  # noqa: E402
from exitright.db import migrate  # noqa: E402
from exitright.db.engine import make_engine  # noqa: E402
from exitright.ledger.service import verify_ledger  # noqa: E402
from exitright.vault.crypto import LocalKeyWrapper  # noqa: E402
from exitright.vault.models import VaultKey, VaultRecord  # noqa: E402
from exitright.vault.purge import PurgeBatch  # noqa: E402
from exitright.vault.service import RetainedRow, VaultService  # noqa: E402

EXPIRY = date(2026, 11, 27)  # the one day every record expires on
LATER = date(2029, 11, 27)

_FILL = {
    "postgresql": (
        "INSERT INTO vault_keys (subject_pseudonym, retain_until, wrapped_key, master_key_id,"
        " created_at) SELECT 'sp_bench_' || g, CAST(:until AS date),"
        " decode(repeat('ab', 60), 'hex'), 'bench', now()"
        " FROM generate_series(:first, :last) g",
        "INSERT INTO vault_records (key_id, plan_id, subject_pseudonym, store, table_name,"
        " row_key, legal_basis, retain_until, nonce, ciphertext, created_at)"
        " SELECT k.id, 'plan-' || k.id, k.subject_pseudonym, 'platform', 'orders', r::text,"
        " 'cn-ecl-31', k.retain_until, decode(repeat('cd', 12), 'hex'),"
        " decode(repeat('ef', 200), 'hex'), now()"
        " FROM vault_keys k CROSS JOIN generate_series(1, :per) r"
        " WHERE k.master_key_id = 'bench' AND k.retain_until = CAST(:until AS date)",
    ),
    "sqlite": (
        "WITH RECURSIVE g(n) AS (SELECT :first UNION ALL SELECT n + 1 FROM g WHERE n < :last)"
        " INSERT INTO vault_keys (subject_pseudonym, retain_until, wrapped_key, master_key_id,"
        " created_at) SELECT 'sp_bench_' || n, :until, zeroblob(60), 'bench',"
        " datetime('now') FROM g",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < :per)"
        " INSERT INTO vault_records (key_id, plan_id, subject_pseudonym, store, table_name,"
        " row_key, legal_basis, retain_until, nonce, ciphertext, created_at)"
        " SELECT k.id, 'plan-' || k.id, k.subject_pseudonym, 'platform', 'orders', r.n,"
        " 'cn-ecl-31', k.retain_until, zeroblob(12), randomblob(200), datetime('now')"
        " FROM vault_keys k CROSS JOIN r"
        " WHERE k.master_key_id = 'bench' AND k.retain_until = :until",
    ),
}


@contextlib.contextmanager
def engine_database(backend: str, admin_url: str) -> Iterator[str]:
    """A fresh, migrated engine database URL (SQLAlchemy form)."""
    if backend == "postgres":
        with databases(admin_url, "exitright_purge") as (url,):
            migrate.upgrade(sqlalchemy_url(url))
            yield sqlalchemy_url(url)
    else:
        with tempfile.TemporaryDirectory(prefix="vault-purge-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'engine.db'}"
            migrate.upgrade(url)
            yield url


def fill(engine: Engine, keys: int, per: int, until: date, first: int) -> None:
    """``keys`` keys expiring on ``until`` with ``per`` records each, in two statements."""
    keys_sql, records_sql = _FILL[engine.dialect.name]
    params = {"first": first, "last": first + keys - 1, "until": until.isoformat(), "per": per}
    with engine.begin() as conn:
        conn.execute(text(keys_sql), params)
        conn.execute(text(records_sql), params)


def count(engine: Engine) -> tuple[int, int]:
    """(keys, records) in the vault."""
    with engine.connect() as conn:
        return (
            int(conn.execute(select(func.count()).select_from(VaultKey)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(VaultRecord)).scalar_one()),
        )


class Writer:
    """Stores a new subject's three records every ``every`` seconds; times each write."""

    def __init__(self, vault: VaultService, every: float = 0.05) -> None:
        self.vault, self.every = vault, every
        self.stop = threading.Event()
        self.ms: list[float] = []
        self.n = 0

    def write_one(self) -> float:
        self.n += 1
        rows = [RetainedRow(str(i), LATER, {"amount": i, "sku": f"S{i}"}) for i in range(3)]
        t = time.perf_counter()
        self.vault.put(
            plan_id=f"writer-{self.n}",
            subject=f"sp_writer_{self.n}",
            store="platform",
            table="orders",
            basis="cn-ecl-31",
            rows=rows,
        )
        return (time.perf_counter() - t) * 1000

    def run(self) -> None:
        while not self.stop.wait(self.every):
            self.ms.append(self.write_one())


def main() -> int:
    """Fill, purge, report; 0 when exactly the expired records went and the ledger verifies."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    ap.add_argument("--records", type=int, default=1_000_000, help="records expiring on one day")
    ap.add_argument("--per-key", type=int, default=10, help="records per subject key")
    ap.add_argument("--batch", type=int, default=2000, help="keys per purge transaction")
    ap.add_argument("--purgers", type=int, default=1, help="purging threads at once")
    ap.add_argument("--admin-url", default=ADMIN_URL, help="a PostgreSQL database to connect to")
    args = ap.parse_args()
    keys = args.records // args.per_key
    later_keys = max(keys // 10, 1)
    problems: list[str] = []

    with engine_database(args.backend, args.admin_url) as url:
        engine = make_engine(url)
        t0 = time.perf_counter()
        fill(engine, keys, args.per_key, EXPIRY, 1)
        fill(engine, later_keys, args.per_key, LATER, keys + 1)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        filled = time.perf_counter() - t0
        total_keys, total_records = count(engine)
        print(
            f"{args.backend}: {total_records:,} records under {total_keys:,} keys"
            f" ({keys:,} keys expire on {EXPIRY}), filled in {filled:.1f} s;"
            f" load {load_average()}",
            flush=True,
        )
        vault = VaultService(engine, LocalKeyWrapper(b"b" * 32), SystemClock())
        writer = Writer(vault)
        baseline = [writer.write_one() for _ in range(40)]

        batches: list[tuple[float, PurgeBatch]] = []
        durations: list[float] = []  # seconds per batch, from the purger's previous batch
        last: dict[int, float] = {}
        lock = threading.Lock()
        started = time.perf_counter()

        def on_batch(b: PurgeBatch) -> None:
            now = time.perf_counter()
            with lock:
                durations.append(now - last.get(threading.get_ident(), started))
                last[threading.get_ident()] = now
                batches.append((now - started, b))
                if len(batches) % 10 == 0:
                    gone = sum(x.records for _, x in batches)
                    print(f"  {batches[-1][0]:6.1f} s  {gone:>10,} records", flush=True)

        results = []

        def purger() -> None:
            own = VaultService(engine, LocalKeyWrapper(b"b" * 32), SystemClock())
            results.append(
                own.purge(today=EXPIRY + timedelta(days=1), batch=args.batch, on_batch=on_batch)
            )

        writing = threading.Thread(target=writer.run, daemon=True)
        writing.start()
        threads = [threading.Thread(target=purger) for _ in range(args.purgers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        writer.stop.set()
        writing.join()
        load = load_average()

        purged_records = sum(r.records for r in results)
        purged_keys = sum(r.keys for r in results)
        left_keys, left_records = count(engine)
        expected_left = (later_keys + writer.n, (later_keys * args.per_key) + 3 * writer.n)
        if purged_records != keys * args.per_key or purged_keys != keys:
            problems.append(f"purged {purged_records} records / {purged_keys} keys")
        if (left_keys, left_records) != expected_left:
            problems.append(f"left {left_keys} keys / {left_records} records, not {expected_left}")
        if not verify_ledger(engine).ok:
            problems.append("the ledger does not verify")
        print(
            f"\npurged {purged_records:,} records and {purged_keys:,} keys in {elapsed:.1f} s"
            f" with {args.purgers} purger(s), {args.batch:,} keys per batch:"
            f" {purged_records / elapsed:,.0f} records/s, {purged_keys / elapsed:,.0f} keys/s\n"
            f"  batches: {len(batches)}, each p50 {pct(durations, 50):.2f} s,"
            f" max {max(durations, default=0):.2f} s\n"
            f"  vault writes during the purge ({len(writer.ms)}): p50 {pct(writer.ms, 50):.1f} ms,"
            f" p99 {pct(writer.ms, 99):.1f} ms, max {max(writer.ms, default=0):.1f} ms\n"
            f"  the same writes before the purge ({len(baseline)}): p50 {pct(baseline, 50):.1f} ms,"
            f" p99 {pct(baseline, 99):.1f} ms\n"
            f"  load average (1/5/15 min) at the end: {load}"
        )
        engine.dispose()
    for p in problems:
        print(f"FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
