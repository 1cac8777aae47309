"""bench/shop5 at a tiny scale: the same script, so CI proves the benchmark still runs.

20 customers, 5 erased through the full request path (API submit, verify with an operator key,
no cooling-off, a worker process), in both variants of the data map. The script itself checks
that the erased customers left nothing and that nobody else's rows changed, and exits 1 if not.
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
SCRIPT = ROOT / "bench" / "shop5" / "run.py"


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
@pytest.mark.parametrize(("variant", "vaulted"), [("vault", True), ("delete", False)])
def test_shop5_erases_five_of_twenty_customers_through_the_api(
    admin_url: str, tmp_path: Path, variant: str, vaulted: bool
) -> None:
    out = tmp_path / "figures.json"
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "--customers", "20", "--erase", "5", "--workers", "1",
         "--clients", "4", "--variant", variant, "--admin-url", admin_url, "--json", str(out)],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, f"{r.stdout}\n{r.stderr}"
    figures = json.loads(out.read_text())
    assert figures["ok"] is True
    assert figures["erased"] == 5
    assert figures["subjects_per_second"] > 0
    assert figures["p50_ms"] <= figures["p99_ms"]
    assert set(figures["stages_ms"]) >= {"verified → completed (server)"}
    # Orders (3 per customer) and their items (2 per order) go to the vault, or nowhere.
    expected = {"order_item": 30, "orders": 15} if vaulted else {}
    assert figures["vault_records"] == expected
    assert "other 15 customers: unchanged" in r.stdout
