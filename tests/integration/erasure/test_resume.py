"""A worker SIGKILLed anywhere in a plan leaves work a restart finishes with the same result."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from exitright.clock import FixedClock
from exitright.connectors.sql_engine import store_engine
from exitright.erasure.models import ErasureStep
from exitright.erasure.service import Lookup, plan_erasure, resume, summarize
from exitright.vault.models import VaultRecord
from tests.integration.erasure.helpers import NOW, context, demo_map, seed, snapshot

ROOT = Path(__file__).resolve().parents[3]


def busiest_user(url: str) -> int:
    engine = store_engine(url)
    try:
        with engine.connect() as conn:
            from sqlalchemy import text

            return int(
                conn.execute(
                    text(
                        "SELECT user_id FROM orders GROUP BY user_id"
                        " ORDER BY COUNT(*) DESC, user_id LIMIT 1"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def run_case(
    tmp: Path, engine_url: str, template: Path, kill: tuple[str, int] | None
) -> tuple[object, object, object]:
    """Copy the seeded platform, plan, (crash a worker,) resume; return end state, counts, vault.

    The clean and the killed run may share the engine database: everything read is the plan's.
    """
    tmp.mkdir()
    db = tmp / "platform.db"
    shutil.copy(template / "platform.db", db)
    shutil.copytree(template / "uploads", tmp / "uploads")
    url = f"sqlite:///{db}"
    dm = demo_map(url, tmp / "uploads")
    uid = busiest_user(url)
    with context(tmp, url=engine_url, batch_size=3) as ctx:
        plan_id = plan_erasure(ctx, dm, Lookup("user_id", str(uid)))
    if kill is not None:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.integration.erasure.crash_worker",
                str(tmp),
                engine_url,
                url,
                str(tmp / "uploads"),
                plan_id,
                kill[0],
                str(kill[1]),
            ],
            cwd=ROOT,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    clock = FixedClock(NOW + timedelta(minutes=10))  # the dead worker's lease has expired
    with context(tmp, url=engine_url, clock=clock, batch_size=3) as ctx:
        summary = resume(ctx, dm, plan_id, worker="rescuer")
        assert summary.status == "completed", (summary.failed_step, summary.hits)
        with ctx.engine.connect() as conn:
            vault = sorted(
                conn.execute(
                    select(VaultRecord.table_name, VaultRecord.row_key).where(
                        VaultRecord.plan_id == plan_id
                    )
                ).all()
            )
            counts = conn.execute(
                select(ErasureStep.seq, ErasureStep.counts)
                .where(ErasureStep.plan_id == plan_id)
                .order_by(ErasureStep.seq)
            ).all()
        _ = summarize(ctx, plan_id)
    engine = store_engine(url)
    try:
        state = snapshot(engine)
    finally:
        engine.dispose()
    return state, counts, vault


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("template")
    seed(f"sqlite:///{base / 'platform.db'}", base / "uploads", users=15)
    return base


@pytest.mark.slow
@pytest.mark.parametrize(
    "kill",
    [("claimed", 1), ("step:", 3), ("vault:", 2), ("batch:", 5), ("vault:", 7), ("done:", 6)],
    ids=lambda k: f"{k[0]}{k[1]}",
)
def test_a_killed_worker_is_resumed_to_the_same_end_state(
    engine_url: str, template: Path, tmp_path: Path, kill: tuple[str, int]
) -> None:
    """On the engine database of each backend (SQLite, PostgreSQL)."""
    expected = run_case(tmp_path / "clean", engine_url, template, None)
    got = run_case(tmp_path / "killed", engine_url, template, kill)
    assert got[0] == expected[0]
    assert got[1] == expected[1]
    assert got[2] == expected[2]


def test_a_plan_is_claimed_by_one_worker_until_its_lease_expires(
    template: Path, tmp_path: Path
) -> None:
    """The claim is one conditional UPDATE: a second worker is refused while the lease runs."""
    from exitright.erasure.executor import claim, next_plan

    url = f"sqlite:///{tmp_path / 'platform.db'}"
    shutil.copy(template / "platform.db", tmp_path / "platform.db")
    dm = demo_map(url, tmp_path / "uploads")
    clock = FixedClock(NOW)
    with context(tmp_path, clock=clock) as ctx:
        plan_id = plan_erasure(ctx, dm, Lookup("user_id", "1"))
        assert next_plan(ctx, "w1") == plan_id
        assert not claim(ctx, plan_id, "w2")
        assert next_plan(ctx, "w2") is None
        clock.advance(ctx.lease + timedelta(seconds=1))
        assert claim(ctx, plan_id, "w2")
