"""The demo shop's use cases: sign in or up with a one-time code, and what the pages show.

The shop is the demo platform's own front end, so it reads and writes the platform's tables the
way a real app would: a code request is a row in ``sms_outbox`` (a real platform would hand it to
an SMS gateway; the demo shows it on a developer page instead), a sign-in adds ``login_history``,
and an unknown number becomes a new account with its wallet. Times are naive UTC, like the
seeded rows; the caller passes "now".

Every right code for a number that has an account goes through the recycled-number guard
(:class:`~exitright.identity.recycled.RecycledGuard`) before it opens anything: if the carrier
gave the number to someone else after the account last signed in (``users.last_login_at``, what
the identity directory reads too), the code opens nothing of the old account. The guard freezes
it; the shop freezes it on its side and detaches the number (a tombstone that is no phone number,
so the unique ``users.phone`` index lets the new holder sign up), and offers a fresh account.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Protocol

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
from exitright.identity.decision import Decision
from exitright.identity.identifiers import Identifier, parse_identifier
from exitright.pii.phone import normalize_mobile

__all__ = [
    "CODE_TTL",
    "FRESH_OFFER_TTL",
    "MAX_ATTEMPTS",
    "RESEND_AFTER",
    "CodeSent",
    "NumberGuard",
    "ShopError",
    "SignIn",
    "mask_phone",
    "open_fresh_account",
    "send_code",
    "verify_code",
]

CODE_TTL: Final = timedelta(minutes=5)
RESEND_AFTER: Final = timedelta(seconds=60)
MAX_ATTEMPTS: Final = 5
# Wrong codes are counted on the code's own row, not in the browser's session (a client can
# replay an old session cookie): "sent", "wrong1" … "wrong4", then "failed" at the fifth.
_LIVE: Final = ("sent", *(f"wrong{i}" for i in range(1, MAX_ATTEMPTS)))
# How long after a code proved a changed-hands number its holder may still take the fresh account.
FRESH_OFFER_TTL: Final = timedelta(minutes=15)
# What replaces the number on an account whose number went to someone else: not a phone number,
# unique per account (``users.phone`` is unique and not null).
_DETACHED: Final = "recycled:{user_id}"
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


@dataclass(frozen=True)
class SignIn:
    """What a right code did.

    ``user_id`` is the account signed in to (``created``: it was just made). ``changed_hands``:
    the number went to a new holder after the account registered with it last signed in; nothing
    was opened, the old account is frozen and no longer holds the number, and the holder of the
    code may take a fresh account (:func:`open_fresh_account`) with ``sms_id``.
    """

    user_id: int | None
    created: bool = False
    changed_hands: bool = False
    sms_id: int | None = None


class NumberGuard(Protocol):
    """The recycled-number guard, as far as sign-in needs it (``RecycledGuard``)."""

    def guard(self, identifier: Identifier, account_last_verified_at: datetime) -> Decision:
        """Whether a proven code to ``identifier`` may open an account last verified then."""
        ...

    def freeze(self, account_ref: str, identifier: Identifier, decision: Decision) -> Any:
        """Freeze ``account_ref``: ``identifier`` changed hands (recorded in the ledger)."""
        ...


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


def verify_code(
    engine: Engine,
    sms_id: int,
    code: str,
    now: datetime,
    ip: str,
    *,
    guard: NumberGuard,
) -> SignIn:
    """Check ``code`` against the outbox row ``sms_id``; sign in, or sign up an unknown number.

    A code works once and for five minutes. A right code for a number with an account first asks
    ``guard`` whether the number changed hands after the account last signed in: if so, the old
    account is frozen (by the guard and here), loses the number, and nothing is signed in to.
    """
    with engine.connect() as conn:
        row = conn.execute(
            select(*_SMS_COLUMNS).where(
                sms_outbox.c.id == sms_id, sms_outbox.c.template == "login_code"
            )
        ).first()
        if row is not None and row.status == "failed":
            raise ShopError("too_many_attempts")
        if row is None or row.status not in _LIVE:
            raise ShopError("code_used")
        if now - row.created_at > CODE_TTL:
            raise ShopError("code_expired")
        sent = _CODE_IN_BODY.search(row.body)
        if sent is None or not secrets.compare_digest(sent.group(1), code.strip()):
            raise ShopError(_count_wrong(conn, sms_id, row.status))
        user = conn.execute(
            select(users.c.id, users.c.status, users.c.created_at, users.c.last_login_at).where(
                users.c.phone == row.phone
            )
        ).first()
    if user is not None:
        identifier = parse_identifier("phone", row.phone)
        since = _utc(user.last_login_at or user.created_at)
        decision = guard.guard(identifier, since)
        if decision.freeze_old_account:
            guard.freeze(f"user:{user.id}", identifier, decision)
            with engine.begin() as conn:
                _use(conn, sms_id)
                _detach(conn, int(user.id), row.phone)
            return SignIn(None, changed_hands=True, sms_id=sms_id)
        if user.status != "active":
            raise ShopError("account_frozen")
    with engine.begin() as conn:
        _use(conn, sms_id)
        if user is None:
            return SignIn(_sign_up(conn, row.phone, now, ip), created=True)
        _signed_in(conn, int(user.id), now, ip)
    return SignIn(int(user.id))


def open_fresh_account(engine: Engine, sms_id: int, now: datetime, ip: str) -> int:
    """Sign up the holder of a changed-hands number whose code ``sms_id`` proved it.

    Only shortly after that code, and only while no account holds the number: the fresh account
    is made once, with nothing of the old owner's.
    """
    with engine.begin() as conn:
        row = conn.execute(
            select(*_SMS_COLUMNS).where(
                sms_outbox.c.id == sms_id, sms_outbox.c.template == "login_code"
            )
        ).first()
        if row is None or row.status != "used" or now - row.created_at > FRESH_OFFER_TTL:
            raise ShopError("code_expired")
        taken = conn.execute(select(users.c.id).where(users.c.phone == row.phone)).first()
        if taken is not None:
            raise ShopError("code_used")
        return _sign_up(conn, row.phone, now, ip)


def _utc(moment: datetime) -> datetime:
    # The platform stores naive UTC; the guard compares aware instants.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _count_wrong(conn: Connection, sms_id: int, status: str) -> str:
    """Count a wrong code on the row (compare-and-set, so concurrent tries all count).

    Returns the reason to show: ``code_wrong``, or ``too_many_attempts`` once the code is burnt.
    """
    for _ in range(MAX_ATTEMPTS + 1):
        if status not in _LIVE:
            return "too_many_attempts" if status == "failed" else "code_used"
        step = _LIVE.index(status) + 1
        following = _LIVE[step] if step < len(_LIVE) else "failed"
        moved = conn.execute(
            update(sms_outbox)
            .where(sms_outbox.c.id == sms_id, sms_outbox.c.status == status)
            .values(status=following)
        )
        conn.commit()
        if moved.rowcount == 1:
            return "too_many_attempts" if following == "failed" else "code_wrong"
        status = conn.execute(
            select(sms_outbox.c.status).where(sms_outbox.c.id == sms_id)
        ).scalar_one()
    return "too_many_attempts"


def _use(conn: Connection, sms_id: int) -> None:
    """Spend the code; a code another request spent meanwhile is refused."""
    spent = conn.execute(
        update(sms_outbox)
        .where(sms_outbox.c.id == sms_id, sms_outbox.c.status.in_(_LIVE))
        .values(status="used")
    )
    if spent.rowcount != 1:
        raise ShopError("code_used")


def _detach(conn: Connection, user_id: int, phone: str) -> None:
    """Freeze the old account on the platform's side and take the number off it."""
    conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.phone == phone)
        .values(phone=_DETACHED.format(user_id=user_id), status="frozen")
    )


def _signed_in(conn: Connection, user_id: int, now: datetime, ip: str) -> None:
    """Record a sign-in: a login row, and the time the account last proved its number."""
    conn.execute(
        insert(login_history).values(
            user_id=user_id, device_id=None, ip=ip, method="sms_code", success=True,
            logged_in_at=now,
        )
    )  # fmt: skip
    conn.execute(update(users).where(users.c.id == user_id).values(last_login_at=now))


def _sign_up(conn: Connection, phone: str, now: datetime, ip: str) -> int:
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
    _signed_in(conn, user_id, now, ip)
    return user_id


def phone_of(engine: Engine, user_id: int) -> str | None:
    """The signed-in user's registered phone number (to prefill their cancellation form)."""
    with engine.connect() as conn:
        phone = conn.execute(select(users.c.phone).where(users.c.id == user_id)).scalar()
    return phone if isinstance(phone, str) and normalize_mobile(phone) else None


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
    engine: Engine, user_id: int, limit: int = 50, *, statuses: Sequence[str] | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """How many orders the user has, and the newest ``limit`` with their items (only those in
    ``statuses`` if given: the open ones, for a cancellation's pre-check)."""
    mine = orders.c.user_id == user_id
    if statuses is not None:
        mine = mine & orders.c.status.in_(list(statuses))
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(orders).where(mine)).scalar_one()
        rows = conn.execute(
            select(orders.c.id, orders.c.order_no, orders.c.status, orders.c.total_cents,
                   orders.c.created_at, merchants.c.name)
            .join(merchants, merchants.c.id == orders.c.merchant_id)
            .where(mine)
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
            .where(sms_outbox.c.template == "login_code",
                   sms_outbox.c.status.in_((*_LIVE, "used")))
            .order_by(sms_outbox.c.id.desc())
            .limit(limit)
        ).all()  # fmt: skip
    return [
        {
            "phone": mask_phone(r.phone),
            "code": (m.group(1) if (m := _CODE_IN_BODY.search(r.body)) else ""),
            "status": "sent" if r.status in _LIVE else r.status,
            "at": r.created_at.strftime("%H:%M:%S"),
        }
        for r in rows
    ]


def _yuan(cents: int) -> str:
    return f"¥{cents / 100:,.2f}"
