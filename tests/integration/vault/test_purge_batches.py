"""Purging the vault in bounded batches: ledgered per batch, resumable, safe to run in parallel."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, func, insert, select
from typer.testing import CliRunner

from exitright.cli import app
from exitright.clock import FixedClock
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.ledger import service as ledger
from exitright.ledger.models import LedgerEntry
from exitright.vault import purge as purge_module
from exitright.vault.crypto import LocalKeyWrapper
from exitright.vault.models import VaultKey, VaultRecord
from exitright.vault.purge import PurgeBatch, purge_expired
from exitright.vault.service import RetainedRow, VaultService

TODAY = date(2030, 1, 1)
EXPIRED = TODAY - timedelta(days=1)
LATER = TODAY + timedelta(days=365)
CLOCK = FixedClock(datetime(2030, 1, 1, 12, tzinfo=UTC))


@pytest.fixture
def engine(engine_url: str) -> Iterator[Engine]:
    """The engine database, migrated (SQLite and PostgreSQL)."""
    migrate.upgrade(engine_url)
    e = make_engine(engine_url)
    yield e
    e.dispose()


def fill(engine: Engine, keys: int, records: int, until: date, start: int = 0) -> None:
    """``keys`` subjects' keys expiring on ``until`` with ``records`` fake records each."""
    now = CLOCK.now()
    with engine.begin() as conn:
        ids = []
        for k in range(start, start + keys):
            ids.append(
                conn.execute(
                    insert(VaultKey).values(
                        subject_pseudonym=f"sp_{k:06d}",
                        retain_until=until,
                        wrapped_key=b"k" * 60,
                        master_key_id="m1",
                        created_at=now,
                    )
                ).inserted_primary_key[0]
            )
        rows = [
            {
                "key_id": kid,
                "plan_id": f"plan-{kid}",
                "subject_pseudonym": f"sp_{k:06d}",
                "store": "platform",
                "table_name": "orders",
                "row_key": str(r),
                "legal_basis": "cn-ecl-31",
                "retain_until": until,
                "nonce": b"n" * 12,
                "ciphertext": b"c" * 40,
                "created_at": now,
            }
            for k, kid in zip(range(start, start + keys), ids, strict=True)
            for r in range(records)
        ]
        conn.execute(insert(VaultRecord), rows)


def counts(engine: Engine) -> tuple[int, int]:
    """(keys, records) left in the vault."""
    with engine.connect() as conn:
        return (
            int(conn.execute(select(func.count()).select_from(VaultKey)).scalar_one()),
            int(conn.execute(select(func.count()).select_from(VaultRecord)).scalar_one()),
        )


def purge_entries(engine: Engine) -> list[dict[str, object]]:
    """The data of every ``vault.purged`` ledger entry, in order."""
    with engine.connect() as conn:
        return [
            dict(d)
            for d in conn.execute(
                select(LedgerEntry.data)
                .where(LedgerEntry.event == "vault.purged")
                .order_by(LedgerEntry.seq)
            ).scalars()
        ]


def test_a_purge_goes_in_batches_each_its_own_ledger_entry_with_counts_only(
    engine: Engine,
) -> None:
    fill(engine, keys=25, records=3, until=EXPIRED)
    fill(engine, keys=5, records=2, until=LATER, start=100)
    batches: list[PurgeBatch] = []
    result = purge_expired(engine, CLOCK, TODAY, batch=10, on_batch=batches.append)
    assert (result.records, result.keys, result.subjects) == (75, 25, 25)
    assert [(b.records, b.keys) for b in batches] == [(30, 10), (30, 10), (15, 5)]
    assert counts(engine) == (5, 10)  # the later keys and their records are untouched
    assert purge_entries(engine) == [
        {"records": 30, "keys": 10, "subjects": 10},
        {"records": 30, "keys": 10, "subjects": 10},
        {"records": 15, "keys": 5, "subjects": 5},
    ]
    assert ledger.verify_ledger(engine).ok
    assert purge_expired(engine, CLOCK, TODAY, batch=10).keys == 0  # nothing left to do


def test_a_purge_stopped_after_a_batch_goes_on_where_it_stopped(engine: Engine) -> None:
    fill(engine, keys=12, records=2, until=EXPIRED)

    def stop(_batch: PurgeBatch) -> None:
        raise KeyboardInterrupt  # the operator's Ctrl-C, after the first batch committed

    with pytest.raises(KeyboardInterrupt):
        purge_expired(engine, CLOCK, TODAY, batch=5, on_batch=stop)
    assert counts(engine) == (7, 14)
    result = purge_expired(engine, CLOCK, TODAY, batch=5)
    assert (result.records, result.keys) == (14, 7)
    assert counts(engine) == (0, 0)
    assert sum(int(str(e["keys"])) for e in purge_entries(engine)) == 12


def test_a_batch_that_dies_before_its_commit_destroys_nothing(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger write is the batch's last statement: if it fails, the deletes roll back."""
    fill(engine, keys=6, records=2, until=EXPIRED)
    real = ledger.append
    calls = {"n": 0}

    def dies_on_the_second(conn: Connection, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("killed")
        return real(conn, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(purge_module.ledger, "append", dies_on_the_second)
    with pytest.raises(RuntimeError):
        purge_expired(engine, CLOCK, TODAY, batch=3)
    assert counts(engine) == (3, 6)  # the first batch is gone, the second is back whole
    monkeypatch.setattr(purge_module.ledger, "append", real)
    assert purge_expired(engine, CLOCK, TODAY, batch=3).keys == 3
    assert counts(engine) == (0, 0)
    assert [e["keys"] for e in purge_entries(engine)] == [3, 3]


def test_two_purgers_at_once_destroy_every_key_once_between_them(engine: Engine) -> None:
    fill(engine, keys=60, records=2, until=EXPIRED)
    results: list[int] = []
    errors: list[BaseException] = []

    def purger() -> None:
        try:
            results.append(purge_expired(engine, CLOCK, TODAY, batch=4).keys)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=purger) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(results) == 60
    assert counts(engine) == (0, 0)
    assert sum(int(str(e["keys"])) for e in purge_entries(engine)) == 60
    assert ledger.verify_ledger(engine).ok


def test_the_service_dry_run_counts_and_a_purged_key_is_not_reused(engine: Engine) -> None:
    vault = VaultService(engine, LocalKeyWrapper(b"m" * 32), CLOCK)
    row = RetainedRow("1", EXPIRED, {"n": 1})
    vault.put(plan_id="p1", subject="sp_a", store="db", table="t", basis="cn-ecl-31", rows=[row])
    dry = vault.purge(today=TODAY, dry_run=True)
    assert (dry.records, dry.keys, dry.subjects) == (1, 1, 1)
    assert vault.purge(today=TODAY, batch=1).keys == 1
    # A new record for the same subject and day gets a new key, not the destroyed cached one.
    vault.put(plan_id="p2", subject="sp_a", store="db", table="t", basis="cn-ecl-31", rows=[row])
    assert counts(engine) == (1, 1)


def test_the_purge_command_reports_what_it_destroyed_and_refuses_a_bad_batch(
    engine: Engine, engine_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill(engine, keys=3, records=2, until=date.today() - timedelta(days=1))
    monkeypatch.setenv("EXITRIGHT_DATABASE_URL", engine_url)
    runner = CliRunner()
    bad = runner.invoke(app, ["vault", "purge", "--batch", "0"])
    assert bad.exit_code != 0 and "--batch must be a whole number" in bad.output
    dry = runner.invoke(app, ["vault", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would destroy 6 records and 3 keys of 3 subjects" in dry.output
    done = runner.invoke(app, ["vault", "purge", "--batch", "2"])
    assert done.exit_code == 0, done.output
    assert "destroyed 6 records and 3 keys of 3 subjects" in done.output
    assert [e["keys"] for e in purge_entries(engine)] == [2, 1]
