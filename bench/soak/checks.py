"""The soak's checks on the engine database: one plan, one completion, clean residual checks.

Each check is SQL that returns the offending rows (requests or plans and what is wrong with
them); an empty result is a pass. ``engine_figures`` reads the server-side timing.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench/harness.py

from harness import pct

# Each check: a name, SQL returning offending rows (request or plan ids with what is wrong).
CHECKS: dict[str, str] = {
    "request not completed": "SELECT id, state FROM requests WHERE state <> 'completed'",
    "not exactly one erasure plan per request": (
        "SELECT r.id, count(p.id) FROM requests r LEFT JOIN erasure_plans p"
        " ON p.request_id = r.id GROUP BY r.id HAVING count(p.id) <> 1"
    ),
    "plan not completed": "SELECT id, status FROM erasure_plans WHERE status <> 'completed'",
    "step not done": "SELECT plan_id, seq, kind, status FROM erasure_steps WHERE status <> 'done'",
    "not exactly one request.complete in the ledger": (
        "SELECT r.id, count(l.seq) FROM requests r LEFT JOIN ledger_entries l"
        " ON l.request_id = r.id AND l.event = 'request.complete'"
        " GROUP BY r.id HAVING count(l.seq) <> 1"
    ),
    "a state transition recorded twice": (
        "SELECT request_id, event, count(*) FROM ledger_entries"
        " WHERE event LIKE 'request.%%' AND request_id IS NOT NULL"
        " AND event NOT IN ('request.fail', 'request.retry')"
        " GROUP BY request_id, event HAVING count(*) > 1"
    ),
    "residual check missing or not clean": (
        "SELECT p.id, count(s.id), max(s.status) FROM erasure_plans p LEFT JOIN erasure_steps s"
        " ON s.plan_id = p.id AND s.kind = 'residual' GROUP BY p.id"
        " HAVING count(s.id) <> 1 OR max(s.status) <> 'done'"
        " OR max(CAST(s.counts ->> 'hits' AS integer)) <> 0"
    ),
    "no certificate": "SELECT id FROM requests WHERE certificate IS NULL",
}


def engine_checks(engine_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every check's offending rows (empty lists: all passed)."""
    with psycopg.connect(engine_url) as conn:
        return {name: [tuple(r) for r in conn.execute(sql)] for name, sql in CHECKS.items()}


def engine_figures(engine_url: str) -> dict[str, Any]:
    """Server-side timing and how much work was repeated after kills."""
    with psycopg.connect(engine_url) as conn:
        first, last = conn.execute(
            "SELECT min(created_at), max(updated_at) FROM requests"
        ).fetchone() or (None, None)
        resumed = conn.execute("SELECT count(*) FROM erasure_steps WHERE attempts > 1").fetchone()
        retried = conn.execute(
            "SELECT count(*) FROM ledger_entries WHERE event = 'request.retry'"
        ).fetchone()
        reasons = conn.execute(
            "SELECT data ->> 'reason', count(*) FROM ledger_entries"
            " WHERE event = 'request.fail' GROUP BY 1"
        ).fetchall()
        per_request = conn.execute(
            "SELECT extract(epoch FROM updated_at - created_at) FROM requests"
            " WHERE state = 'completed'"
        ).fetchall()
    wall = (last - first).total_seconds() if first and last else float("nan")
    seconds = [float(r[0]) for r in per_request]
    return {
        "wall_seconds": round(wall, 2),
        "steps_run_more_than_once": int(resumed[0]) if resumed else 0,
        "requests_retried": int(retried[0]) if retried else 0,
        "failure_reasons": {str(r): int(n) for r, n in reasons},
        "submit_to_completed_p50_s": round(pct(seconds, 50), 2),
        "submit_to_completed_p99_s": round(pct(seconds, 99), 2),
    }
