"""The engine collector on SQLite and PostgreSQL: exact figures from hand-made rows, safe labels."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, insert

from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.db.requests import REQUESTS
from exitright.observability.metrics import OUTBOX, STEPS, VAULT, EngineCollector, safe_label

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(engine_url: str) -> Iterator[Engine]:
    """A migrated engine database, on SQLite and on PostgreSQL (the SQL differs per dialect)."""
    migrate.upgrade(engine_url)
    engine = make_engine(engine_url)
    yield engine
    engine.dispose()


def request_row(i: int, state: str, due: datetime, took: timedelta) -> dict[str, object]:
    """A requests row with only what the collector reads filled in meaningfully."""
    return {
        "id": f"req_{i}",
        "kind": "cancel",
        "state": state,
        "regime": "cn",
        "subject": f"sp_{i}",
        "due_at": due,
        "version": 1,
        "data": {},
        "created_at": T0,
        "updated_at": T0 + took,
    }


def scrape(engine: Engine) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample the collector yields, by (name, labels)."""
    registry = CollectorRegistry()
    registry.register(EngineCollector(engine, ttl=0))
    text = generate_latest(registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
    }


def test_figures_are_computed_from_the_rows(engine: Engine) -> None:
    """States, overdue, completion buckets, step failures, ack lag and vault size, exactly."""
    far = datetime.now(UTC) + timedelta(days=30)
    past = datetime.now(UTC) - timedelta(days=1)
    with engine.begin() as conn:
        conn.execute(
            insert(REQUESTS),
            [
                request_row(1, "completed", far, timedelta(seconds=30)),
                request_row(2, "completed", far, timedelta(hours=2)),
                request_row(3, "cooling_off", past, timedelta(0)),
                request_row(4, "completed", past, timedelta(days=2)),
            ],
        )
        conn.execute(
            insert(STEPS.metadata.tables["erasure_plans"]),
            [
                {
                    "id": "p1",
                    "subject_pseudonym": "sp_1",
                    "platform": "demo",
                    "map_digest": "x",
                    "status": "completed",
                    "created_at": T0,
                    "subject_found": True,
                }
            ],
        )
        conn.execute(
            insert(STEPS),
            [
                {
                    "plan_id": "p1",
                    "seq": 1,
                    "kind": "delete",
                    "store": "platform",
                    "target": "users",
                    "status": "done",
                    "attempts": 3,
                    "started_at": T0,
                    "finished_at": T0 + timedelta(milliseconds=40),
                },
                {
                    "plan_id": "p1",
                    "seq": 2,
                    "kind": "delete",
                    "store": "files",
                    "target": "avatars",
                    "status": "failed",
                    "attempts": 2,
                    "started_at": T0,
                    "finished_at": None,
                },
            ],
        )
        conn.execute(
            insert(OUTBOX),
            [
                {
                    "jti": "j1",
                    "recipient": "courier",
                    "event_type": "x",
                    "audience": "a",
                    "delivery": "push",
                    "sub_format": "opaque",
                    "state": "acknowledged",
                    "attempts": 1,
                    "created_at": T0,
                    "deadline_at": T0,
                    "resolved_at": T0 + timedelta(seconds=90),
                }
            ],
        )
        conn.execute(
            insert(VAULT.metadata.tables["vault_keys"]),
            [
                {
                    "id": 1,
                    "subject_pseudonym": "sp_1",
                    "retain_until": date(2029, 3, 2),
                    "wrapped_key": b"k",
                    "master_key_id": "m",
                    "created_at": T0,
                }
            ],
        )
        conn.execute(
            insert(VAULT),
            [
                {
                    "key_id": 1,
                    "plan_id": "p1",
                    "subject_pseudonym": "sp_1",
                    "store": "platform",
                    "table_name": "orders",
                    "row_key": str(i),
                    "legal_basis": "ecl-art31",
                    "retain_until": date(2029, 3, 2),
                    "nonce": b"n" * 12,
                    "ciphertext": b"c" * 100,
                    "created_at": T0,
                }
                for i in range(3)
            ],
        )
    found = scrape(engine)

    def v(name: str, **labels: str) -> float:
        return found[(name, frozenset(labels.items()))]

    assert v("exitright_requests", kind="cancel", state="completed") == 3
    assert v("exitright_requests_overdue", kind="cancel") == 1  # completed ones never are
    assert v("exitright_request_completion_seconds_bucket", kind="cancel", le="60.0") == 1
    assert v("exitright_request_completion_seconds_bucket", kind="cancel", le="21600.0") == 2
    assert v("exitright_request_completion_seconds_count", kind="cancel") == 3
    assert v("exitright_request_completion_seconds_sum", kind="cancel") == pytest.approx(
        30 + 7200 + 172800, abs=1
    )
    assert v("exitright_erasure_step_duration_seconds_bucket", store="platform", le="0.05") == 1
    assert v("exitright_erasure_step_failures_total", store="platform") == 2  # 3 tries, done
    assert v("exitright_erasure_step_failures_total", store="files") == 2  # 2 tries, failed
    assert v("exitright_recipient_ack_lag_seconds_bucket", recipient="courier", le="60.0") == 0
    assert v("exitright_recipient_ack_lag_seconds_bucket", recipient="courier", le="600.0") == 1
    assert v("exitright_vault_records", legal_basis="ecl-art31") == 3
    assert v("exitright_vault_bytes", legal_basis="ecl-art31") == 300
    assert v("exitright_engine_database_up") == 1


def test_an_unreachable_database_answers_up_zero(tmp_path: Path) -> None:
    """The scrape still answers; the figures are missing and database_up is 0."""
    engine = make_engine(f"sqlite:///{tmp_path / 'not-migrated.db'}")
    found = scrape(engine)
    assert found[("exitright_engine_database_up", frozenset())] == 0
    assert not any(name == "exitright_requests" for name, _ in found)


@pytest.mark.parametrize("value", ["cancel", "completed", "ecl-art31", "platform", "a.b:c"])
def test_plain_labels_pass(value: str) -> None:
    """Kinds, states, store and recipient names, legal bases."""
    assert safe_label(value) == value


@pytest.mark.parametrize(
    "value",
    ["13800138000", "li.wei@example.cn", "北京市朝阳区建国路88号", "", None, "x" * 65, "a b"],
)
def test_anything_else_becomes_other(value: str | None) -> None:
    """Personal data, odd characters or over-long values never become a label."""
    assert safe_label(value) == "other"
