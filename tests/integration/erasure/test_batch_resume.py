"""A chunked erasure SIGKILLed anywhere leaves plans that resume to the same end state."""

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
from exitright.erasure.batch import erase_subjects
from exitright.erasure.models import ErasurePlan, ErasureStep
from exitright.erasure.service import Lookup, resume
from exitright.vault.models import VaultRecord
from tests.integration.erasure.helpers import NOW, context, demo_map, seed, snapshot, user_ids

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("template")
    seed(f"sqlite:///{base / 'platform.db'}", base / "uploads", users=9)
    return base


def run_case(tmp: Path, template: Path, kill: tuple[str, int] | None) -> tuple[object, ...]:
    """Copy the platform, erase 7 of its users in chunks of 3 (killed, then every unfinished
    plan resumed); return the platform's rows, each subject's step counts and vault rows."""
    tmp.mkdir()
    shutil.copy(template / "platform.db", tmp / "platform.db")
    shutil.copytree(template / "uploads", tmp / "uploads")
    url = f"sqlite:///{tmp / 'platform.db'}"
    engine_url = f"sqlite:///{tmp / 'engine.db'}"
    dm = demo_map(url, tmp / "uploads")
    engine = store_engine(url)
    users = [str(u) for u in user_ids(engine)[:7]]
    if kill is None:
        with context(tmp, url=engine_url, sql_engines={"platform": engine}) as ctx:
            erase_subjects(ctx, dm, [Lookup("user_id", u) for u in users], chunk=3)
    else:
        args = [str(tmp), engine_url, url, str(tmp / "uploads"), kill[0], str(kill[1]), *users]
        proc = subprocess.run(
            [sys.executable, "-m", "tests.integration.erasure.crash_batch", *args],
            cwd=ROOT,
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == -9, proc.stderr.decode()[-2000:]
        later = FixedClock(NOW + timedelta(minutes=10))  # the dead process's leases expired
        with context(tmp, url=engine_url, clock=later, sql_engines={"platform": engine}) as ctx:
            with ctx.engine.connect() as conn:
                open_plans = conn.scalars(
                    select(ErasurePlan.id).where(ErasurePlan.status != "completed")
                ).all()
            for plan_id in open_plans:
                summary = resume(ctx, dm, plan_id, worker="rescuer")
                assert summary.status == "completed", (summary.failed_step, summary.hits)
            # subjects the killed process never planned are erased now
            with ctx.engine.connect() as conn:
                planned = len(conn.scalars(select(ErasurePlan.id)).all())
            rest = [Lookup("user_id", u) for u in users[planned:]]
            erase_subjects(ctx, dm, rest, chunk=3)
    with context(tmp, url=engine_url) as ctx, ctx.engine.connect() as conn:
        counts = sorted(
            conn.execute(
                select(ErasurePlan.subject_pseudonym, ErasureStep.seq, ErasureStep.counts).join(
                    ErasureStep, ErasureStep.plan_id == ErasurePlan.id
                )
            ).all(),
            key=lambda r: (r[0], r[1]),
        )
        vault = sorted(
            conn.execute(
                select(VaultRecord.subject_pseudonym, VaultRecord.table_name, VaultRecord.row_key)
            ).all()
        )
        statuses = set(conn.scalars(select(ErasurePlan.status)).all())
    state = snapshot(engine)
    engine.dispose()
    return state, counts, vault, statuses


@pytest.mark.slow
@pytest.mark.parametrize(
    "kill",
    [("planned", 1), ("step:", 2), ("step:", 9), ("batch:", 4), ("planned", 2), ("done:", 1)],
    ids=lambda k: f"{k[0]}{k[1]}",
)
def test_a_killed_chunked_erasure_is_resumed_to_the_same_end_state(
    template: Path, tmp_path: Path, kill: tuple[str, int]
) -> None:
    expected = run_case(tmp_path / "clean", template, None)
    got = run_case(tmp_path / "killed", template, kill)
    assert expected[3] == {"completed"} and got[3] == {"completed"}
    assert got[0] == expected[0]
    assert got[1] == expected[1]
    assert got[2] == expected[2]
