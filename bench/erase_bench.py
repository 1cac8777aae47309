"""Benchmark: erase N subjects from a seeded demo platform, against a hand-written SQL script.

    .venv/bin/python bench/erase_bench.py --users 100000 --subjects 1000 --backend sqlite
    .venv/bin/python bench/erase_bench.py --users 100000 --subjects 1000 --backend postgres

Both runs start from identical copies of the seeded platform and erase the same subjects. The
engine run is the real service (plan persisted, steps recorded, retained rows encrypted into the
vault, residual check); the baseline is one transaction per subject with the same deletes and
updates written by hand: the physical limit of the database. See bench/README.md.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
from sqlalchemy import BindParameter, Engine, bindparam, event, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from exitright.clock import SystemClock  # noqa: E402  # after the path set-up above
from exitright.connectors.sql_engine import store_engine  # noqa: E402
from exitright.datamap.loader import load_map  # noqa: E402
from exitright.db import migrate  # noqa: E402
from exitright.db.engine import make_engine  # noqa: E402
from exitright.demo.seed import seed_platform  # noqa: E402
from exitright.erasure.batch import erase_subjects  # noqa: E402
from exitright.erasure.context import ErasureContext  # noqa: E402
from exitright.erasure.service import Lookup, Summary, erase_subject  # noqa: E402
from exitright.pii.detect import phone_variants  # noqa: E402
from exitright.vault.crypto import LocalKeyWrapper  # noqa: E402
from exitright.vault.service import VaultService  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
DEMO_MAP = ROOT / "src" / "exitright" / "demo" / "datamap.yaml"

ORDERS = "SELECT id FROM orders WHERE user_id = :u"
CONVERSATIONS = "SELECT id FROM cs_conversations WHERE user_id = :u"
REVIEWS = "SELECT id FROM reviews WHERE user_id = :u"
# Children first, and one statement per link (no "a = :u OR b IN (…)": PostgreSQL would scan).
HAND_WRITTEN = [
    "UPDATE invitations SET invitee_id = NULL, invitee_phone = 'h0000000000000000'"
    " WHERE invitee_id = :u",
    "UPDATE invitations SET invitee_id = NULL, invitee_phone = 'h0000000000000000'"
    " WHERE invitee_phone IN :phones",
    "DELETE FROM invitations WHERE inviter_id = :u",
    f"DELETE FROM cs_messages WHERE conversation_id IN ({CONVERSATIONS})",
    "DELETE FROM cs_messages WHERE conversation_id IN (SELECT id FROM cs_conversations"
    f" WHERE order_id IN ({ORDERS}))",
    "DELETE FROM cs_conversations WHERE user_id = :u",
    f"DELETE FROM cs_conversations WHERE order_id IN ({ORDERS})",
    f"DELETE FROM review_photos WHERE review_id IN ({REVIEWS})",
    "DELETE FROM review_photos WHERE review_id IN (SELECT id FROM reviews"
    f" WHERE order_id IN ({ORDERS}))",
    "DELETE FROM reviews WHERE user_id = :u",
    f"DELETE FROM reviews WHERE order_id IN ({ORDERS})",
    "DELETE FROM refunds WHERE payment_id IN (SELECT id FROM payments"
    f" WHERE order_id IN ({ORDERS}))",
    f"DELETE FROM payments WHERE order_id IN ({ORDERS})",
    f"DELETE FROM order_items WHERE order_id IN ({ORDERS})",
    f"DELETE FROM deliveries WHERE order_id IN ({ORDERS})",
    "DELETE FROM invoices WHERE user_id = :u",
    f"DELETE FROM invoices WHERE order_id IN ({ORDERS})",
    "DELETE FROM user_coupons WHERE user_id = :u",
    f"DELETE FROM user_coupons WHERE used_order_id IN ({ORDERS})",
    "DELETE FROM wallet_ledger WHERE user_id = :u",
    f"DELETE FROM wallet_ledger WHERE order_id IN ({ORDERS})",
    "DELETE FROM orders WHERE user_id = :u",
    "DELETE FROM wallets WHERE user_id = :u",
    "DELETE FROM login_history WHERE user_id = :u",
    "DELETE FROM login_history WHERE device_id IN (SELECT id FROM devices WHERE user_id = :u)",
    "DELETE FROM devices WHERE user_id = :u",
    "DELETE FROM addresses WHERE user_id = :u",
    "DELETE FROM identity_verifications WHERE user_id = :u",
    "DELETE FROM favourites WHERE user_id = :u",
    "DELETE FROM search_history WHERE user_id = :u",
    "DELETE FROM merchant_customer_notes WHERE customer_phone IN :phones",
    "DELETE FROM sms_outbox WHERE phone IN :phones",
    "DELETE FROM users WHERE id = :u",
]


@contextmanager
def pg_database(name: str, template: str | None = None) -> Iterator[str]:
    """A fresh PostgreSQL database (optionally copied from ``template``), dropped afterwards."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        try:
            yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


STATEMENTS: Counter[str] = Counter()


def counted(engine: Engine, name: str) -> Engine:
    """Count the statements and commits ``engine`` sends (per-subject figures in the report)."""

    def statement(*_args: object) -> None:
        STATEMENTS[f"{name} statements"] += 1

    def commit(_conn: object) -> None:
        STATEMENTS[f"{name} commits"] += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    return engine


def timed(subjects: list[int], erase: Callable[[list[int]], None], chunk: int = 1) -> list[float]:
    """Seconds per call (per subject, or per chunk of subjects)."""
    out: list[float] = []
    for start in range(0, len(subjects), chunk):
        t0 = time.perf_counter()
        erase(subjects[start : start + chunk])
        out.append(time.perf_counter() - t0)
    return out


def hand_written(engine: Engine) -> Callable[[int], None]:
    """The baseline: one transaction per subject with the statements above."""
    phones: BindParameter[list[str]] = bindparam("phones", expanding=True)
    stmts = [text(s).bindparams(phones) if ":phones" in s else text(s) for s in HAND_WRITTEN]

    def erase(uids: list[int]) -> None:
        for uid in uids:
            with engine.begin() as conn:
                phone = conn.execute(
                    text("SELECT phone FROM users WHERE id = :u"), {"u": uid}
                ).scalar()
                params = {"u": uid, "phones": phone_variants(phone or "")}
                for stmt in stmts:
                    conn.execute(stmt, params)

    return erase


def engine_run(
    platform_url: str, engine_url: str, uploads: Path, residual: str, name: str = "ExitRight"
) -> Callable[[list[int]], None]:
    """The ExitRight service: one subject at a time as the request workflow calls it, or a
    chunk at a time as ``exitright erase --from FILE`` does."""
    env = {"EXITRIGHT_DEMO_DATABASE_URL": platform_url, "EXITRIGHT_DEMO_UPLOADS": str(uploads)}
    dm = load_map(DEMO_MAP, env)
    stores = {k: v for k, v in dm.stores.items() if k != "sessions"}  # no Redis in this benchmark
    dm = dm.model_copy(
        update={"stores": stores, "residual": dm.residual.model_copy(update={"mode": residual})}
    )
    migrate.upgrade(engine_url)
    engine = counted(make_engine(engine_url), f"{name}: engine DB")
    clock = SystemClock()
    ctx = ErasureContext(
        engine,
        VaultService(engine, LocalKeyWrapper(b"bench-master-key".ljust(32, b".")), clock),
        b"bench-pseudonym-key".ljust(32, b"."),
        clock,
        sql_engines={"platform": counted(store_engine(platform_url), f"{name}: platform")},
    )

    def erase(uids: list[int]) -> None:
        lookups = [Lookup("user_id", str(uid)) for uid in uids]
        if len(uids) == 1:
            outcomes: list[Summary | Exception] = [erase_subject(ctx, dm, lookups[0])]
        else:
            outcomes = list(erase_subjects(ctx, dm, lookups, chunk=len(uids)))
        for uid, summary in zip(uids, outcomes, strict=True):
            if not isinstance(summary, Summary) or summary.status != "completed":
                raise SystemExit(f"erasure of {uid} failed: {summary}")

    return erase


def report(name: str, seconds: list[float], subjects: int) -> dict[str, float]:
    """Subjects per second and percentiles (of each call: a subject, or a chunk)."""
    q = statistics.quantiles(seconds, n=100)
    row = {
        "per_s": subjects / sum(seconds),
        "p50": q[49] * 1000,
        "p99": q[98] * 1000,
        "total": sum(seconds),
    }
    cells = [f"{row[k]:.1f}" for k in ("per_s", "p50", "p99", "total")]
    print(f"| {name} | " + " | ".join(cells) + " |")
    return row


def main() -> None:
    """Seed once, run each side, print a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--subjects", type=int, default=1000)
    ap.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--residual", choices=["full", "indexed"], default="indexed")
    ap.add_argument(
        "--chunk", type=int, default=32, help="subjects per chunk of the chunked run (0: none)"
    )
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="erase-bench-"))
    runs = ["engine", "script"] + (["chunked"] if args.chunk > 1 else [])
    try:
        t0 = time.perf_counter()
        if args.backend == "sqlite":
            template = work / "template.db"
            seed_engine = make_engine(f"sqlite:///{template}")
            seed_platform(seed_engine, users=args.users, seed=1)
            seed_engine.dispose()
            for name in runs:
                shutil.copy(template, work / f"{name}-run.db")
            platforms = {name: f"sqlite:///{work / f'{name}-run.db'}" for name in runs}
            engines = {name: f"sqlite:///{work / f'exitright-{name}.db'}" for name in runs}
            run(args, work, platforms, engines, t0)
        else:
            with pg_database("erase_bench_template") as template_url, ExitStack() as stack:
                seed_engine = store_engine(template_url)
                seed_platform(seed_engine, users=args.users, seed=1)
                with seed_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                    c.execute(text("ANALYZE"))  # a live platform has statistics; a fresh seed not
                seed_engine.dispose()
                platforms = {
                    name: stack.enter_context(
                        pg_database(f"erase_bench_{name}", "erase_bench_template")
                    )
                    for name in runs
                }
                engines = {
                    name: stack.enter_context(pg_database(f"erase_bench_engine_{name}"))
                    for name in runs
                }
                run(args, work, platforms, engines, t0)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(
    args: argparse.Namespace,
    work: Path,
    platforms: dict[str, str],
    engines: dict[str, str],
    t0: float,
) -> None:
    """Every run over the same subjects."""
    print(f"seeded {args.users} users on {args.backend} in {time.perf_counter() - t0:.0f} s")
    subjects = random.Random(7).sample(range(1, args.users + 1), args.subjects)
    uploads = work / "uploads"
    one = engine_run(platforms["engine"], engines["engine"], uploads, args.residual)
    engine_side = timed(subjects, one)
    chunked_side: list[float] = []
    if "chunked" in platforms:
        many = engine_run(
            platforms["chunked"], engines["chunked"], uploads, args.residual, "ExitRight chunked"
        )
        chunked_side = timed(subjects, many, args.chunk)
    script_engine = counted(store_engine(platforms["script"]), "hand-written: platform")
    script_side = timed(subjects, hand_written(script_engine))
    script_engine.dispose()
    print(f"\n{args.subjects} subjects of {args.users} users, {args.backend}", end="")
    print(f", residual={args.residual}\n")
    print("| run | subjects/s | p50 ms | p99 ms | total s |")
    print("|---|---|---|---|---|")
    a = report("ExitRight, one subject at a time", engine_side, args.subjects)
    c = None
    if chunked_side:
        c = report(f"ExitRight, chunks of {args.chunk} (per chunk)", chunked_side, args.subjects)
    b = report("hand-written SQL", script_side, args.subjects)
    print(f"\nratio, one at a time / hand-written (total time): {a['total'] / b['total']:.2f}x")
    if c is not None:
        print(f"ratio, chunked / hand-written (total time): {c['total'] / b['total']:.2f}x")
    print(
        "\nper subject: " + ", ".join(f"{k} {v / args.subjects:.1f}" for k, v in STATEMENTS.items())
    )


if __name__ == "__main__":
    main()
