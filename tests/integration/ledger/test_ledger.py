"""The ledger in a real engine database: concurrent writers, tamper detection, no personal data."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from exitright.clock import FixedClock
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.ledger import service
from exitright.ledger.chain import Checkpoint

CLOCK = FixedClock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))

WRITER = textwrap.dedent(
    """
    import sys
    from exitright.clock import SystemClock
    from exitright.db.engine import make_engine
    from exitright.ledger import service
    url, worker, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    engine = make_engine(url)
    for i in range(n):
        with engine.begin() as conn:
            service.append(conn, SystemClock(), "test.parallel", request_id=f"req_{worker}",
                           data={"worker": int(worker), "i": i})
    engine.dispose()
    """
)


def run_writers(url: str, writers: int, each: int) -> None:
    """Start ``writers`` processes that each append ``each`` entries at the same time."""
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, url, str(w), str(each)])
        for w in range(writers)
    ]
    for p in procs:
        assert p.wait(timeout=240) == 0


@pytest.mark.slow
def test_parallel_writers_keep_one_total_order_without_gaps_or_forks(engine_url: str) -> None:
    """Four processes appending at once leave 1..N, each linked to the one before."""
    migrate.upgrade(engine_url)
    run_writers(engine_url, writers=4, each=40)
    engine = make_engine(engine_url)
    try:
        verdict = service.verify_ledger(engine)
        assert verdict.ok, verdict.reason
        assert verdict.entries == 160
        with engine.connect() as conn:
            seqs = [e.seq for e in service.entries(conn, batch=7)]
            per_worker = conn.execute(
                text("SELECT request_id, COUNT(*) FROM ledger_entries GROUP BY request_id")
            ).all()
        assert seqs == list(range(1, 161))
        assert sorted(n for _, n in per_worker) == [40, 40, 40, 40]
    finally:
        engine.dispose()


def test_tampering_in_the_database_is_named_by_verify(engine_url: str) -> None:
    """An UPDATE behind the service's back is found at the altered entry."""
    migrate.upgrade(engine_url)
    engine = make_engine(engine_url)
    try:
        with engine.begin() as conn:
            for i in range(5):
                service.append(conn, CLOCK, "request.transition", request_id="r1", data={"i": i})
            head = service.head(conn)
        assert head is not None and head.seq == 5
        with engine.begin() as conn:
            conn.execute(text("UPDATE ledger_entries SET event = 'forged' WHERE seq = 3"))
        verdict = service.verify_ledger(engine)
        assert not verdict.ok
        assert verdict.broken_seq == 3
    finally:
        engine.dispose()


def test_truncation_is_detected_against_a_checkpoint(engine_url: str) -> None:
    """Deleting the newest entries verifies alone but fails against the published head."""
    migrate.upgrade(engine_url)
    engine = make_engine(engine_url)
    try:
        with engine.begin() as conn:
            for i in range(6):
                service.append(conn, CLOCK, "request.transition", data={"i": i})
            published = service.head(conn)
        assert published is not None
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM ledger_entries WHERE seq > 4"))
        assert service.verify_ledger(engine).ok
        verdict = service.verify_ledger(engine, Checkpoint.parse(str(published)))
        assert not verdict.ok
        assert verdict.broken_seq == 6
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "data",
    [
        {"note": "call 13812345678"},
        {"email": "someone@example.com"},
        {"nested": {"id": "11010519491231002X"}},
        {"ratio": 0.5},
    ],
)
def test_personal_data_and_unstable_values_are_refused(data: dict[str, object]) -> None:
    """Phones, e-mails, ID numbers (and floats) never reach the ledger; nothing is written."""
    engine = make_engine("sqlite://")
    import exitright.db.tables  # noqa: F401
    from exitright.db.base import Base

    Base.metadata.create_all(engine)
    with pytest.raises((ValueError, TypeError)), engine.begin() as conn:
        service.append(conn, CLOCK, "x", data=data)
    with engine.connect() as conn:
        assert service.count(conn) == 0
