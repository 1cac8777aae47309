"""The shop's sign-in rules at the service level, with time under the test's control."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, update

from exitright.clock import FixedClock
from exitright.config import Settings
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.demo import shop
from exitright.demo.schema import addresses, login_history, orders, sms_outbox, users, wallets
from exitright.demo.seed import create_schema
from exitright.identity import RecycledGuard, build_guard, parse_identifier

NOW = datetime(2026, 11, 28, 9, 0, 0)  # naive UTC, like the platform's rows (17:00 in China)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty demo platform on SQLite."""
    engine = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def guard(settings: Settings) -> Iterator[RecycledGuard]:
    """The recycled-number guard on a migrated engine database, its clock at ``NOW``."""
    migrate.upgrade(settings.engine_url)
    engine = make_engine(settings.engine_url)
    yield build_guard(settings, engine, FixedClock(NOW.replace(tzinfo=UTC)))
    engine.dispose()


def test_a_code_signs_up_a_new_number_once_with_a_wallet_and_a_login_record(
    engine: Engine, guard: RecycledGuard
) -> None:
    """First use creates the account; the same code cannot be used twice."""
    sent = shop.send_code(engine, "+86 186 0000 1234", NOW)
    assert sent.phone == "18600001234"
    done = shop.verify_code(engine, sent.sms_id, sent.code, NOW, "127.0.0.1", guard=guard)
    user_id = done.user_id
    assert done.created and user_id is not None and not done.changed_hands
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
        shop.verify_code(engine, sent.sms_id, sent.code, NOW, "127.0.0.1", guard=guard)
    later = shop.send_code(engine, "18600001234", NOW + shop.RESEND_AFTER)
    assert shop.verify_code(engine, later.sms_id, later.code, NOW, "", guard=guard) == shop.SignIn(
        user_id
    )


def test_a_code_expires_after_five_minutes(engine: Engine, guard: RecycledGuard) -> None:
    """A correct code typed too late is refused as expired."""
    sent = shop.send_code(engine, "18600001235", NOW)
    late = NOW + timedelta(minutes=5, seconds=1)
    with pytest.raises(shop.ShopError, match="code_expired"):
        shop.verify_code(engine, sent.sms_id, sent.code, late, "", guard=guard)


def test_a_frozen_account_cannot_sign_in(engine: Engine, guard: RecycledGuard) -> None:
    """The right code for a frozen account is refused, and the code stays unused."""
    first = shop.send_code(engine, "18600001236", NOW)
    user_id = shop.verify_code(engine, first.sms_id, first.code, NOW, "", guard=guard).user_id
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(status="frozen"))
    second = shop.send_code(engine, "18600001236", NOW + timedelta(minutes=2))
    with pytest.raises(shop.ShopError, match="account_frozen"):
        shop.verify_code(
            engine, second.sms_id, second.code, NOW + timedelta(minutes=2), "", guard=guard
        )
    with engine.connect() as conn:
        status = conn.execute(select(sms_outbox.c.status).where(sms_outbox.c.id == second.sms_id))
        assert status.scalar_one() == "sent"


def test_phones_are_masked_for_display() -> None:
    """Three digits, four stars, four digits."""
    assert shop.mask_phone("13812345678") == "138****5678"
    assert shop.mask_phone("123") == "****"


def _old_owner(engine: Engine, phone: str, last_login: datetime) -> int:
    """An account with an order and an address that last signed in at ``last_login``."""
    with engine.begin() as conn:
        user_id = int(
            conn.execute(
                insert(users).values(
                    phone=phone, nickname="老用户", real_name_verified=False, status="active",
                    created_at=last_login - timedelta(days=400), last_login_at=last_login,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )  # fmt: skip
        conn.execute(
            insert(addresses).values(
                user_id=user_id, receiver_name="老用户", receiver_phone=phone, province="上海市",
                city="上海市", district="浦东新区", detail="世纪大道 1 号", tag="家",
                is_default=True, created_at=last_login,
            )
        )  # fmt: skip
    return user_id


def test_a_number_that_changed_hands_opens_nothing_and_detaches_from_the_old_account(
    engine: Engine, guard: RecycledGuard
) -> None:
    """Marked recycled after the owner last signed in: the code opens nothing; the old account
    is frozen (guard and platform) and loses the number; the holder gets a fresh account once."""
    phone = "18600001237"
    old = _old_owner(engine, phone, NOW - timedelta(days=200))
    guard.mark_recycled(parse_identifier("phone", phone), date(2026, 11, 1))
    sent = shop.send_code(engine, phone, NOW)
    done = shop.verify_code(engine, sent.sms_id, sent.code, NOW, "", guard=guard)
    assert done == shop.SignIn(None, changed_hands=True, sms_id=sent.sms_id)
    assert guard.frozen(f"user:{old}") is not None
    with engine.connect() as conn:
        row = conn.execute(select(users.c.phone, users.c.status).where(users.c.id == old)).one()
        assert row.status == "frozen" and row.phone == f"recycled:{old}"
    assert shop.mask_phone(row.phone) == "****"
    fresh = shop.open_fresh_account(engine, sent.sms_id, NOW + timedelta(minutes=1), "")
    assert fresh != old
    with pytest.raises(shop.ShopError, match="code_used"):
        shop.open_fresh_account(engine, sent.sms_id, NOW + timedelta(minutes=1), "")
    with engine.connect() as conn:
        assert conn.execute(select(users.c.phone).where(users.c.id == fresh)).scalar_one() == phone
        for table in (addresses, orders):
            count = select(func.count()).select_from(table).where(table.c.user_id == fresh)
            assert conn.execute(count).scalar_one() == 0
        kept = select(func.count()).select_from(addresses).where(addresses.c.user_id == old)
        assert conn.execute(kept).scalar_one() == 1
    # The fresh account signs in afterwards: the mark predates it, so it is never frozen by it.
    again = shop.send_code(engine, phone, NOW + timedelta(minutes=2))
    opened = shop.verify_code(
        engine, again.sms_id, again.code, NOW + timedelta(minutes=2), "", guard=guard
    )
    assert opened == shop.SignIn(fresh)


def test_an_owner_who_signed_in_after_the_recycling_date_still_gets_in(
    engine: Engine, guard: RecycledGuard
) -> None:
    """A mark dated before the account's last sign-in is not a change of hands for it."""
    phone = "18600001238"
    owner = _old_owner(engine, phone, NOW - timedelta(days=3))
    guard.mark_recycled(parse_identifier("phone", phone), date(2026, 11, 1))
    sent = shop.send_code(engine, phone, NOW)
    assert shop.verify_code(engine, sent.sms_id, sent.code, NOW, "", guard=guard) == shop.SignIn(
        owner
    )
    assert guard.frozen(f"user:{owner}") is None
    with engine.connect() as conn:
        last = conn.execute(select(users.c.last_login_at).where(users.c.id == owner)).scalar_one()
        assert last == NOW


def test_a_fresh_account_is_offered_only_for_a_while(engine: Engine, guard: RecycledGuard) -> None:
    """Too long after the code, or for a code that never proved a changed-hands number: no."""
    phone = "18600001239"
    _old_owner(engine, phone, NOW - timedelta(days=200))
    guard.mark_recycled(parse_identifier("phone", phone), date(2026, 11, 1))
    sent = shop.send_code(engine, phone, NOW)
    shop.verify_code(engine, sent.sms_id, sent.code, NOW, "", guard=guard)
    with pytest.raises(shop.ShopError, match="code_expired"):
        shop.open_fresh_account(engine, sent.sms_id, NOW + shop.FRESH_OFFER_TTL * 2, "")
    unused = shop.send_code(engine, "18600001240", NOW)
    with pytest.raises(shop.ShopError, match="code_expired"):
        shop.open_fresh_account(engine, unused.sms_id, NOW, "")
