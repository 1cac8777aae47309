"""Benchmark: seed the demo platform with 100,000 users into a temporary SQLite file.

    .venv/bin/python bench/seed_demo.py                  # 100,000 users, rows only
    .venv/bin/python bench/seed_demo.py --uploads        # also write the uploaded files
    .venv/bin/python bench/seed_demo.py --users 20000 --seed 3
    .venv/bin/python bench/seed_demo.py --users 20000 --url postgresql+psycopg://postgres@127.0.0.1/bench

Prints the wall time, rows per second, the database size and the rows per table. The target
(issue 2) is under a minute for 100,000 users with their orders on SQLite. ``--url`` seeds an
existing, empty database instead (PostgreSQL, MariaDB) and drops the demo tables afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from exitright.db.engine import make_engine
from exitright.demo.seed import drop_platform, seed_platform

TARGET_SECONDS = 60.0


def main() -> int:
    """Run one seed and print its figures; exit 1 when it missed the target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--uploads", action="store_true", help="also write the uploaded files")
    parser.add_argument(
        "--url", help="an empty database to seed instead of a temporary SQLite file"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="exitright-bench-") as tmp:
        root = Path(tmp)
        engine = make_engine(args.url or f"sqlite:///{root / 'demo-platform.db'}")
        uploads = root / "uploads" if args.uploads else None

        def progress(done: int) -> None:
            if done % 20_000 == 0 or done == args.users:
                print(f"  {done:>9,} users  {time.perf_counter() - started:6.1f} s", flush=True)

        started = time.perf_counter()
        summary = seed_platform(
            engine, users=args.users, seed=args.seed, uploads_dir=uploads, progress=progress
        )
        elapsed = time.perf_counter() - started
        if args.url:
            drop_platform(engine)
        engine.dispose()
        size = sum(p.stat().st_size for p in root.glob("demo-platform.db*"))

    print()
    python = sys.version.split()[0]
    print(f"machine     {platform.machine()}, {os.cpu_count()} CPUs, Python {python}, "
          f"SQLite {sqlite3.sqlite_version}")  # fmt: skip
    print(f"users       {args.users:,} (seed {args.seed})")
    print(f"rows        {summary.total_rows:,} in {len(summary.rows)} tables")
    print(f"files       {summary.files:,}" if args.uploads else "files       (not written)")
    print(f"wall time   {elapsed:.1f} s")
    rate, users_rate = summary.total_rows / elapsed, args.users / elapsed
    print(f"throughput  {rate:,.0f} rows/s, {users_rate:,.0f} users/s")
    print(f"database    {engine.dialect.name}" + (f", {size / 2**20:,.0f} MiB" if size else ""))
    print()
    for name, rows in sorted(summary.rows.items(), key=lambda item: -item[1]):
        print(f"  {name:<26}{rows:>12,}")
    if args.users == 100_000 and not args.url and elapsed > TARGET_SECONDS:
        print(f"\nmissed the target: {elapsed:.1f} s > {TARGET_SECONDS:.0f} s")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
