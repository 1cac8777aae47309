"""The vault encrypts per subject and expiry, logs every read, and shreds at expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from exitright.clock import FixedClock
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.errors import ExitRightError
from exitright.vault.crypto import DecryptionError, LocalKeyWrapper, new_data_key
from exitright.vault.models import VaultAccess, VaultKey, VaultRecord
from exitright.vault.service import RetainedRow, VaultService


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'engine.db'}"
    migrate.upgrade(url)
    e = make_engine(url)
    yield e
    e.dispose()


def service(engine: Engine) -> VaultService:
    return VaultService(
        engine, LocalKeyWrapper(b"m" * 32), FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    )


def put(vault: VaultService, plan: str = "p1", until: date = date(2027, 1, 1)) -> int:
    rows = [RetainedRow(str(i), until, {"phone": "13812345678", "n": i}) for i in range(3)]
    return vault.put(
        plan_id=plan, subject="sp_a", store="db", table="orders", basis="cn-ecl-31", rows=rows
    )


def test_writing_the_same_rows_twice_stores_them_once(engine: Engine) -> None:
    vault = service(engine)
    assert put(vault) == 3
    assert put(vault) == 0
    assert vault.count(plan_id="p1", store="db", table="orders") == 3


def test_ciphertext_holds_no_plaintext_and_is_bound_to_its_place(engine: Engine) -> None:
    vault = service(engine)
    put(vault)
    with engine.connect() as conn:
        blobs = [r.ciphertext for r in conn.execute(select(VaultRecord.ciphertext))]
    assert all(b"13812345678" not in b for b in blobs)
    wrapper = LocalKeyWrapper(b"m" * 32)
    wrapped = wrapper.wrap(new_data_key(), b"ctx-a")
    with pytest.raises(DecryptionError):
        wrapper.unwrap(wrapped, b"ctx-b")


def test_reading_needs_a_reason_and_is_recorded(engine: Engine) -> None:
    vault = service(engine)
    put(vault)
    with pytest.raises(ExitRightError):
        vault.read(subject="sp_a", operator="ops", reason="")
    records = vault.read(subject="sp_a", operator="ops", reason="court order 2026-17 (tax audit)")
    assert [r["values"]["n"] for r in records] == [0, 1, 2]
    with engine.connect() as conn:
        log = conn.execute(select(VaultAccess.operator, VaultAccess.records)).all()
    assert log == [("ops", 3)]


def test_purge_destroys_expired_keys_and_records_only(engine: Engine) -> None:
    vault = service(engine)
    put(vault, "p1", date(2026, 6, 1))
    put(vault, "p2", date(2030, 6, 1))
    dry = vault.purge(today=date(2027, 1, 1), dry_run=True)
    assert (dry.records, dry.keys, dry.subjects) == (3, 1, 1)
    assert vault.count(plan_id="p1", store="db", table="orders") == 3
    vault.purge(today=date(2027, 1, 1))
    assert vault.count(plan_id="p1", store="db", table="orders") == 0
    assert vault.count(plan_id="p2", store="db", table="orders") == 3
    with engine.connect() as conn:
        assert conn.execute(select(VaultKey.retain_until)).scalars().all() == [date(2030, 6, 1)]


def test_stats_count_by_basis_and_month(engine: Engine) -> None:
    vault = service(engine)
    put(vault, "p1", date(2027, 3, 9))
    assert vault.stats() == [("cn-ecl-31", "2027-03", 3, 1)]


def test_the_unwrapped_data_keys_kept_between_puts_are_bounded(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker erases subject after subject: the data keys it keeps in memory stay bounded,
    and a key dropped from memory is found again in the vault, not made anew."""
    monkeypatch.setattr("exitright.vault.service.MAX_CACHED_KEYS", 3)
    vault = service(engine)
    rows = [RetainedRow("1", date(2027, 1, 1), {"n": 1})]
    for i in range(10):
        vault.put(
            plan_id=f"p{i}", subject=f"sp_{i}", store="db", table="t", basis="cn-ecl-31", rows=rows
        )
        assert len(vault._keys) <= 3
    vault.put(plan_id="again", subject="sp_0", store="db", table="t", basis="cn-ecl-31", rows=rows)
    with engine.connect() as conn:
        assert len(conn.execute(select(VaultKey.id)).all()) == 10
