"""The demo shop's use cases: sign in or up with a one-time code, and what the pages show.

The shop is the demo platform's own front end, so it reads and writes the platform's tables the
way a real app would: a code request is a row in ``sms_outbox`` (a real platform would hand it to
an SMS gateway; the demo shows it on a developer page instead), a sign-in adds ``login_history``,
and an unknown number becomes a new account with its wallet. Times are naive UTC, like the
seeded rows; the caller passes "now".
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Engine, func, insert, select, update

from exitright.demo import vocab
from exitright.demo.schema import (
    addresses,
    devices,
    favourites,
    identity_verifications,
    login_history,
    merchants,
    order_items,
    orders,
    products,
    search_history,
    sms_outbox,
    users,
    wallets,
)
from exitright.pii.phone import normalize_mobile

__all__ = [
    "CODE_TTL",
    "MAX_ATTEMPTS",
    "RESEND_AFTER",
    "CodeSent",
    "ShopError",
    "mask_phone",
    "send_code",
    "verify_code",
]

CODE_TTL: Final = timedelta(minutes=5)
RESEND_AFTER: Final = timedelta(seconds=60)
MAX_ATTEMPTS: Final = 5
_LOGIN_TEMPLATE: Final = dict(vocab.SMS_TEMPLATES)["login_code"]
_CODE_IN_BODY: Final = re.compile(r"(\d{6})")
_SMS_COLUMNS: Final = (
    sms_outbox.c.phone,
    sms_outbox.c.body,
    sms_outbox.c.status,
    sms_outbox.c.created_at,
)


class ShopError(Exception):
    """A sign-in step that cannot go on; ``reason`` names the message ``shop.error.<reason>``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CodeSent:
    """A one-time code handed to the (simulated) SMS gateway."""

    sms_id: int
    phone: str
    code: str


def mask_phone(phone: str) -> str:
    """``138****5678``: enough for its owner to recognise, not enough to identify."""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "****"


def send_code(engine: Engine, raw_phone: str, now: datetime) -> CodeSent:
    """Record a new sign-in code for ``raw_phone`` in the SMS outbox.

    Refuses a number that is not a mainland mobile number, and a second code within a minute.
    """
    phone = normalize_mobile(raw_phone)
    if phone is None:
        raise ShopError("invalid_phone")
    with engine.begin() as conn:
        last = conn.execute(
            select(func.max(sms_outbox.c.created_at)).where(
                sms_outbox.c.phone == phone, sms_outbox.c.template == "login_code"
            )
        ).scalar_one()
        if last is not None and now - last < RESEND_AFTER:
            raise ShopError("too_soon")
        code = f"{secrets.randbelow(10**6):06d}"
        sms_id = conn.execute(
            insert(sms_outbox).values(
                phone=phone,
                template="login_code",
                body=_LOGIN_TEMPLATE.format(code=code),
                status="sent",
                created_at=now,
                sent_at=now,
            )
        ).inserted_primary_key
    assert sms_id is not None  # an insert always has a key
    return CodeSent(int(sms_id[0]), phone, code)


def verify_code(engine: Engine, sms_id: int, code: str, now: datetime, ip: str) -> tuple[int, bool]:
    """Check ``code`` against the outbox row ``sms_id``; sign in, or sign up an unknown number.

    Returns the user id and whether the account is new. A code works once and for five minutes.
    """
    with engine.begin() as conn:
        row = conn.execute(
            select(*_SMS_COLUMNS).where(
                sms_outbox.c.id == sms_id, sms_outbox.c.template == "login_code"
            )
        ).first()
        if row is None or row.status != "sent":
            raise ShopError("code_used")
        if now - row.created_at > CODE_TTL:
            raise ShopError("code_expired")
        sent = _CODE_IN_BODY.search(row.body)
        if sent is None or not secrets.compare_digest(sent.group(1), code.strip()):
            raise ShopError("code_wrong")
        conn.execute(update(sms_outbox).where(sms_outbox.c.id == sms_id).values(status="used"))
        user = conn.execute(
            select(users.c.id, users.c.status).where(users.c.phone == row.phone)
        ).first()
        created = user is None
        if user is None:
            user_id = _sign_up(conn, row.phone, now)
        elif user.status != "active":
            raise ShopError("account_frozen")
        else:
            user_id = int(user.id)
        conn.execute(
            insert(login_history).values(
                user_id=user_id, device_id=None, ip=ip, method="sms_code", success=True,
                logged_in_at=now,
            )
        )  # fmt: skip
        conn.execute(update(users).where(users.c.id == user_id).values(last_login_at=now))
    return user_id, created


def _sign_up(conn: Connection, phone: str, now: datetime) -> int:
    key = conn.execute(
        insert(users).values(
            phone=phone, nickname=f"用户{phone[-4:]}", real_name_verified=False, status="active",
            created_at=now, last_login_at=now,
        )
    ).inserted_primary_key  # fmt: skip
    assert key is not None  # an insert always has a key
    user_id = int(key[0])
    conn.execute(
        insert(wallets).values(user_id=user_id, balance_cents=0, frozen_cents=0, updated_at=now)
    )
    return user_id


def profile(engine: Engine, user_id: int) -> dict[str, Any] | None:
    """The signed-in user's account as the pages show it (phone masked), or None."""
    with engine.connect() as conn:
        row = conn.execute(
            select(users.c.nickname, users.c.phone, users.c.real_name_verified, users.c.created_at,
                   users.c.status, wallets.c.balance_cents)
            .join(wallets, wallets.c.user_id == users.c.id, isouter=True)
            .where(users.c.id == user_id)
        ).first()  # fmt: skip
    if row is None:
        return None
    return {
        "nickname": row.nickname,
        "phone": mask_phone(row.phone),
        "verified": bool(row.real_name_verified),
        "since": row.created_at.date().isoformat(),
        "balance": _yuan(row.balance_cents or 0),
    }


def recent_orders(
    engine: Engine, user_id: int, limit: int = 50
) -> tuple[int, list[dict[str, Any]]]:
    """How many orders the user has, and the newest ``limit`` of them with their items."""
    with engine.connect() as conn:
        total = conn.execute(
            select(func.count()).select_from(orders).where(orders.c.user_id == user_id)
        ).scalar_one()
        rows = conn.execute(
            select(orders.c.id, orders.c.order_no, orders.c.status, orders.c.total_cents,
                   orders.c.created_at, merchants.c.name)
            .join(merchants, merchants.c.id == orders.c.merchant_id)
            .where(orders.c.user_id == user_id)
            .order_by(orders.c.created_at.desc(), orders.c.id.desc())
            .limit(limit)
        ).all()  # fmt: skip
        titles: dict[int, list[str]] = {}
        if rows:
            for order_id, title, quantity in conn.execute(
                select(order_items.c.order_id, order_items.c.title, order_items.c.quantity).where(
                    order_items.c.order_id.in_([r.id for r in rows])
                )
            ):
                titles.setdefault(order_id, []).append(f"{title} ×{quantity}")
    return int(total), [
        {
            "order_no": r.order_no,
            "status": r.status,
            "total": _yuan(r.total_cents),
            "placed": r.created_at.strftime("%Y-%m-%d %H:%M"),
            "merchant": r.name,
            "goods": "，".join(titles.get(r.id, [])),
        }
        for r in rows
    ]


# What "Account & privacy" counts, as (message key, table, column linking to the user).
_HOLDINGS: Final = (
    ("shop.data.orders", orders, orders.c.user_id),
    ("shop.data.addresses", addresses, addresses.c.user_id),
    ("shop.data.devices", devices, devices.c.user_id),
    ("shop.data.logins", login_history, login_history.c.user_id),
    ("shop.data.searches", search_history, search_history.c.user_id),
    ("shop.data.favourites", favourites, favourites.c.user_id),
    ("shop.data.identity", identity_verifications, identity_verifications.c.user_id),
)


def holdings(engine: Engine, user_id: int) -> list[tuple[str, int]]:
    """How many records of each kind the platform holds about the user (for Account & privacy)."""
    with engine.connect() as conn:
        return [
            (
                key,
                conn.execute(select(func.count()).select_from(t).where(c == user_id)).scalar_one(),
            )
            for key, t, c in _HOLDINGS
        ]


def featured(engine: Engine, limit: int = 8) -> list[dict[str, Any]]:
    """A few products for the home page, from the start of the catalogue."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(products.c.title, products.c.price_cents, merchants.c.name)
            .join(merchants, merchants.c.id == products.c.merchant_id)
            .order_by(products.c.id)
            .limit(limit)
        ).all()
    return [{"title": r.title, "price": _yuan(r.price_cents), "merchant": r.name} for r in rows]


def recent_codes(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    """The latest sign-in texts for the developer page, phones masked."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(*_SMS_COLUMNS)
            .where(sms_outbox.c.template == "login_code", sms_outbox.c.status.in_(("sent", "used")))
            .order_by(sms_outbox.c.id.desc())
            .limit(limit)
        ).all()  # fmt: skip
    return [
        {
            "phone": mask_phone(r.phone),
            "code": (m.group(1) if (m := _CODE_IN_BODY.search(r.body)) else ""),
            "status": r.status,
            "at": r.created_at.strftime("%H:%M:%S"),
        }
        for r in rows
    ]


def _yuan(cents: int) -> str:
    return f"¥{cents / 100:,.2f}"
