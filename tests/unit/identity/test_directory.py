"""The SQL account directory: finding accounts by phone or e-mail as platforms store them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert, select

from exitright.db.engine import make_engine
from exitright.identity.directory import SqlAccountDirectory
from exitright.identity.identifiers import parse_identifier
from exitright.identity.otp import Factor

meta = MetaData()
users = Table(
    "users", meta,
    Column("id", Integer, primary_key=True),
    Column("phone", String(20)),
    Column("email", String(100)),
    Column("created_at", DateTime()),
    Column("last_login_at", DateTime()),
)  # fmt: skip


def test_accounts_are_found_however_the_platform_stored_the_number(tmp_path: Path) -> None:
    """Bare 11 digits or E.164 in the table, any form typed; e-mail case-insensitively."""
    engine = make_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    meta.create_all(engine)
    created = datetime(2025, 1, 1)
    with engine.begin() as conn:
        conn.execute(
            insert(users),
            [
                {"id": 1, "phone": "13812345678", "email": "Ann@Example.cn", "created_at": created},
                {"id": 2, "phone": "+8613900000000", "email": None, "created_at": created},
            ],
        )
    directory = SqlAccountDirectory(engine, users)
    try:
        one = directory.find(parse_identifier("phone", "+86 138 1234 5678"))
        assert one is not None and one.ref == "user:1"
        assert one.factors == {Factor.PHONE, Factor.EMAIL}
        assert one.last_verified_at[Factor.PHONE] == created.replace(tzinfo=UTC)
        two = directory.find(parse_identifier("phone", "13900000000"))
        assert two is not None and two.factors == {Factor.PHONE}
        by_mail = directory.find(parse_identifier("email", "ann@example.cn"))
        assert by_mail is not None and by_mail.ref == "user:1"
        assert directory.find(parse_identifier("phone", "13700000000")) is None
        assert directory.get("user:2") == two
        assert directory.get("user:x") is None and directory.get("order:1") is None

        at = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
        directory.record_proof("user:1", Factor.PHONE, at)
        with engine.connect() as conn:
            stored = conn.execute(select(users.c.last_login_at).where(users.c.id == 1)).scalar()
        assert stored == datetime(2026, 6, 1, 2, 0)
        again = directory.get("user:1")
        assert again is not None and again.last_verified_at[Factor.PHONE] == at
    finally:
        engine.dispose()
