"""bench/soak in its short form: 60 cancellations, 3 workers, 3 SIGKILLs, on PostgreSQL.

The script seeds a demo platform, submits the cancellations through the API while a chaos thread
kills workers, and then checks everything issue 7 asks (each request completed exactly once,
one ``request.complete`` in the ledger per request, residual checks clean, nobody else's rows
changed, ``ledger verify``); it exits 1 and lists the failures when any check fails. This test
asserts the exit code and the figures it wrote, check by check.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests import servers

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "bench" / "soak" / "run.py"


@pytest.fixture(scope="module")
def admin_url() -> str:
    """The PostgreSQL server the script creates its two databases on (skip or fail without)."""
    try:
        psycopg.connect(servers.PG_ADMIN_URL, connect_timeout=5).close()
    except psycopg.Error as exc:
        servers.unavailable("PostgreSQL", exc)
    return servers.PG_ADMIN_URL


@pytest.mark.postgres
@pytest.mark.slow
def test_sixty_cancellations_survive_three_sigkilled_workers(
    admin_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "figures.json"
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "--users", "150", "--requests", "60", "--workers", "3",
         "--kills", "3", "--kill-every", "2-4", "--timeout", "150", "--admin-url", admin_url,
         "--json", str(out)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    figures = json.loads(out.read_text())
    assert figures["problems"] == [] and figures["ok"] is True
    assert figures["requests"] == 60 and figures["workers"] == 3
    assert figures["kills"] == 3, "the chaos thread killed fewer workers than asked"
    assert figures["requests_per_minute"] > 0
    assert "every check passed" in r.stdout
    assert "other users' rows:" in r.stdout and "unchanged" in r.stdout
