"""The shop's sign-in rules at the service level, with time under the test's control."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from exitright.db.engine import make_engine
from exitright.demo import shop
from exitright.demo.schema import login_history, sms_outbox, users, wallets
from exitright.demo.seed import create_schema

NOW = datetime(2026, 11, 28, 9, 0, 0)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty demo platform on SQLite."""
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


def test_a_code_signs_up_a_new_number_once_with_a_wallet_and_a_login_record(engine: Engine) -> None:
    """First use creates the account; the same code cannot be used twice."""
    sent = shop.send_code(engine, "+86 186 0000 1234", NOW)
    assert sent.phone == "18600001234"
    user_id, created = shop.verify_code(engine, sent.sms_id, sent.code, NOW, "127.0.0.1")
    assert created
    with engine.connect() as conn:
        assert conn.execute(
            select(wallets.c.balance_cents).where(wallets.c.user_id == user_id)
        ).one()
        assert conn.execute(
            select(login_history.c.ip).where(login_history.c.user_id == user_id)
        ).one()
        status = conn.execute(select(sms_outbox.c.status).where(sms_outbox.c.id == sent.sms_id))
        assert status.scalar_one() == "used"
    with pytest.raises(shop.ShopError, match="code_used"):
        shop.verify_code(engine, sent.sms_id, sent.code, NOW, "127.0.0.1")
    later = shop.send_code(engine, "18600001234", NOW + shop.RESEND_AFTER)
    assert shop.verify_code(engine, later.sms_id, later.code, NOW, "") == (user_id, False)


def test_a_code_expires_after_five_minutes(engine: Engine) -> None:
    """A correct code typed too late is refused as expired."""
    sent = shop.send_code(engine, "18600001235", NOW)
    with pytest.raises(shop.ShopError, match="code_expired"):
        shop.verify_code(engine, sent.sms_id, sent.code, NOW + timedelta(minutes=5, seconds=1), "")


def test_a_frozen_account_cannot_sign_in(engine: Engine) -> None:
    """The right code for a frozen account is refused, and the code stays unused."""
    first = shop.send_code(engine, "18600001236", NOW)
    user_id, _ = shop.verify_code(engine, first.sms_id, first.code, NOW, "")
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(status="frozen"))
    second = shop.send_code(engine, "18600001236", NOW + timedelta(minutes=2))
    with pytest.raises(shop.ShopError, match="account_frozen"):
        shop.verify_code(engine, second.sms_id, second.code, NOW + timedelta(minutes=2), "")


def test_phones_are_masked_for_display() -> None:
    """Three digits, four stars, four digits."""
    assert shop.mask_phone("13812345678") == "138****5678"
    assert shop.mask_phone("123") == "****"
