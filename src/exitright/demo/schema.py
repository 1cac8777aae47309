"""The demo platform's tables: a Chinese shopping and food-delivery app, as SQLAlchemy Core.

This is the platform ExitRight erases from, not ExitRight's own database, so it has a ``MetaData``
of its own. It is deliberately shaped like a real platform's store, with every kind of link the
erasure engine must follow:

* direct ``user_id`` columns (addresses, devices, orders, search history, …);
* foreign-key chains several levels deep (``refunds`` → ``payments`` → ``orders`` → ``users``,
  ``cs_messages`` → ``cs_conversations`` → ``users``, ``review_photos`` → ``reviews``);
* a many-to-many table (``favourites`` between users and products);
* rows linked only by an identifier's value (``merchant_customer_notes`` and ``sms_outbox`` are
  keyed by phone number and have no ``user_id``);
* a self-referencing relation (``invitations``: inviter and invitee are both users);
* copies of personal data made at the time of an event (receiver name, phone and address on
  orders and deliveries; the verified name and ID number on ``identity_verifications``);
* free text that mentions phone numbers and addresses (chats, order remarks, merchant notes).

Every column used to find a subject's rows carries an index, because the erasure engine and its
residual check look rows up through them. Uniqueness is declared as unique *indexes*
(``unique=True, index=True``) rather than inline constraints, so that a seed can build them once
after loading instead of maintaining them row by row (see ``seed.py``).

Times are naive UTC. Money is in fen (integer cents). Tables use ``utf8mb4`` on MariaDB so
Chinese text and any emoji in nicknames fit.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
)

__all__ = ["PERSONAL_TABLES", "REFERENCE_TABLES", "TABLE_NAMES", "metadata"]

metadata: Final = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# MariaDB's default character set cannot hold four-byte UTF-8; the others ignore these options.
_OPTS: Final[dict[str, Any]] = {"mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_unicode_ci"}


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _at(name: str, *, nullable: bool = False, index: bool = False) -> Column[Any]:
    return Column(name, DateTime(), nullable=nullable, index=index)


def _fk(name: str, target: str, *, nullable: bool = False) -> Column[int]:
    return Column(name, Integer, ForeignKey(target), nullable=nullable, index=True)


# --- Reference data: no personal data ------------------------------------------------------

merchants = Table(
    "merchants", metadata,
    _id(),
    Column("name", String(100), nullable=False),
    Column("category", String(20), nullable=False),
    Column("city", String(30), nullable=False),
    # Unified social credit code of the business licence (a company identifier, not personal).
    Column("license_no", String(18), nullable=False, unique=True, index=True),
    _at("created_at"),
    **_OPTS,
)  # fmt: skip

products = Table(
    "products", metadata,
    _id(),
    _fk("merchant_id", "merchants.id"),
    Column("title", String(100), nullable=False),
    Column("category", String(20), nullable=False),
    Column("price_cents", Integer, nullable=False),
    _at("created_at"),
    **_OPTS,
)  # fmt: skip

couriers = Table(
    "couriers", metadata,
    _id(),
    Column("employee_no", String(20), nullable=False, unique=True, index=True),
    Column("carrier", String(20), nullable=False),
    Column("city", String(30), nullable=False),
    **_OPTS,
)  # fmt: skip

coupons = Table(
    "coupons", metadata,
    _id(),
    Column("code", String(20), nullable=False, unique=True, index=True),
    Column("title", String(50), nullable=False),
    Column("discount_cents", Integer, nullable=False),
    Column("min_spend_cents", Integer, nullable=False),
    _at("valid_from"),
    _at("valid_until"),
    **_OPTS,
)  # fmt: skip

# --- The account and what hangs off it -------------------------------------------------------

users = Table(
    "users", metadata,
    _id(),
    Column("phone", String(20), nullable=False, unique=True, index=True),
    Column("email", String(100), nullable=True, unique=True, index=True),
    Column("nickname", String(50), nullable=False),
    # Filled only for real-name verified users (required to withdraw from the wallet).
    Column("real_name", String(50), nullable=True),
    Column("id_number", String(18), nullable=True, unique=True, index=True),
    Column("real_name_verified", Boolean, nullable=False),
    Column("password_hash", String(128), nullable=True),
    Column("avatar_path", String(200), nullable=True),
    Column("status", String(16), nullable=False),
    _at("created_at"),
    _at("last_login_at", nullable=True),
    **_OPTS,
)  # fmt: skip

identity_verifications = Table(
    "identity_verifications", metadata,
    _id(),
    _fk("user_id", "users.id"),
    # Copies taken at verification time; the photos are files under uploads/idcards/{user_id}/.
    Column("real_name", String(50), nullable=False),
    Column("id_number", String(18), nullable=False, index=True),
    Column("front_path", String(200), nullable=False),
    Column("back_path", String(200), nullable=False),
    Column("provider", String(30), nullable=False),
    _at("verified_at"),
    **_OPTS,
)  # fmt: skip

addresses = Table(
    "addresses", metadata,
    _id(),
    _fk("user_id", "users.id"),
    Column("receiver_name", String(50), nullable=False),
    Column("receiver_phone", String(20), nullable=False, index=True),
    Column("province", String(20), nullable=False),
    Column("city", String(20), nullable=False),
    Column("district", String(20), nullable=False),
    Column("detail", String(200), nullable=False),
    Column("tag", String(10), nullable=False),
    Column("is_default", Boolean, nullable=False),
    _at("created_at"),
    **_OPTS,
)  # fmt: skip

devices = Table(
    "devices", metadata,
    _id(),
    _fk("user_id", "users.id"),
    Column("device_uuid", String(64), nullable=False, index=True),
    Column("platform", String(16), nullable=False),
    Column("model", String(50), nullable=False),
    Column("push_token", String(100), nullable=True),
    _at("first_seen_at"),
    _at("last_seen_at"),
    **_OPTS,
)  # fmt: skip

login_history = Table(
    "login_history", metadata,
    _id(),
    _fk("user_id", "users.id"),
    _fk("device_id", "devices.id", nullable=True),
    Column("ip", String(45), nullable=False),
    Column("method", String(16), nullable=False),
    Column("success", Boolean, nullable=False),
    _at("logged_in_at"),
    **_OPTS,
)  # fmt: skip

# --- Orders and their chain -----------------------------------------------------------------

orders = Table(
    "orders", metadata,
    _id(),
    Column("order_no", String(24), nullable=False, unique=True, index=True),
    _fk("user_id", "users.id"),
    _fk("merchant_id", "merchants.id"),
    Column("kind", String(16), nullable=False),  # delivery (food, same day) or parcel (goods)
    Column("status", String(20), nullable=False),
    Column("total_cents", Integer, nullable=False),
    Column("delivery_fee_cents", Integer, nullable=False),
    Column("discount_cents", Integer, nullable=False),
    # Copies of the receiver at the time of ordering: changing an address later does not
    # rewrite past orders, so these must be erased on their own.
    Column("receiver_name", String(50), nullable=False),
    Column("receiver_phone", String(20), nullable=False, index=True),
    Column("receiver_address", String(255), nullable=False),
    Column("remark", String(255), nullable=False),
    _at("created_at"),
    _at("paid_at", nullable=True),
    # Completion of the transaction: E-commerce Law Art. 31 counts the three-year retention of
    # transaction records from here. NULL while the order is open or when it was cancelled.
    _at("completed_at", nullable=True, index=True),
    _at("cancelled_at", nullable=True),
    **_OPTS,
)  # fmt: skip

order_items = Table(
    "order_items", metadata,
    _id(),
    _fk("order_id", "orders.id"),
    _fk("product_id", "products.id"),
    Column("title", String(100), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price_cents", Integer, nullable=False),
    **_OPTS,
)  # fmt: skip

payments = Table(
    "payments", metadata,
    _id(),
    _fk("order_id", "orders.id"),
    Column("channel", String(16), nullable=False),
    Column("trade_no", String(40), nullable=False, unique=True, index=True),
    Column("amount_cents", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    # As the payment provider reports it: a masked account, card or OpenID.
    Column("payer_account", String(64), nullable=True),
    _at("paid_at"),
    **_OPTS,
)  # fmt: skip

refunds = Table(
    "refunds", metadata,
    _id(),
    _fk("payment_id", "payments.id"),
    Column("amount_cents", Integer, nullable=False),
    Column("reason", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    _at("created_at"),
    _at("refunded_at", nullable=True),
    **_OPTS,
)  # fmt: skip

deliveries = Table(
    "deliveries", metadata,
    _id(),
    _fk("order_id", "orders.id"),
    _fk("courier_id", "couriers.id", nullable=True),
    Column("carrier", String(20), nullable=False),
    Column("tracking_no", String(30), nullable=True),
    # The courier's copy of where and whom to deliver to.
    Column("receiver_phone", String(20), nullable=False, index=True),
    Column("dropoff_address", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    _at("picked_up_at"),
    _at("delivered_at", nullable=True),
    **_OPTS,
)  # fmt: skip

invoices = Table(
    "invoices", metadata,
    _id(),
    _fk("order_id", "orders.id"),
    _fk("user_id", "users.id"),
    Column("title_type", String(16), nullable=False),  # personal or company
    Column("title", String(100), nullable=False),
    Column("tax_id", String(20), nullable=True),
    Column("email", String(100), nullable=False, index=True),
    Column("amount_cents", Integer, nullable=False),
    _at("issued_at"),
    **_OPTS,
)  # fmt: skip

reviews = Table(
    "reviews", metadata,
    _id(),
    _fk("user_id", "users.id"),
    _fk("order_id", "orders.id"),
    _fk("product_id", "products.id"),
    Column("rating", SmallInteger, nullable=False),
    Column("content", Text, nullable=False),
    Column("is_anonymous", Boolean, nullable=False),
    _at("created_at"),
    **_OPTS,
)  # fmt: skip

review_photos = Table(
    "review_photos", metadata,
    _id(),
    _fk("review_id", "reviews.id"),
    Column("path", String(200), nullable=False),
    _at("created_at"),
    **_OPTS,
)  # fmt: skip

# --- Activity -------------------------------------------------------------------------------

favourites = Table(
    "favourites", metadata,
    # Many-to-many between users and products; the pair is the key.
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False, index=True),
    _at("created_at"),
    PrimaryKeyConstraint("user_id", "product_id"),
    **_OPTS,
)  # fmt: skip

search_history = Table(
    "search_history", metadata,
    _id(),
    _fk("user_id", "users.id"),
    Column("query", String(100), nullable=False),
    _at("searched_at"),
    **_OPTS,
)  # fmt: skip

user_coupons = Table(
    "user_coupons", metadata,
    _id(),
    _fk("user_id", "users.id"),
    _fk("coupon_id", "coupons.id"),
    Column("status", String(16), nullable=False),  # unused, used, expired
    _fk("used_order_id", "orders.id", nullable=True),
    _at("claimed_at"),
    _at("used_at", nullable=True),
    **_OPTS,
)  # fmt: skip

wallets = Table(
    "wallets", metadata,
    Column("user_id", Integer, ForeignKey("users.id"), primary_key=True, autoincrement=False),
    Column("balance_cents", Integer, nullable=False),
    Column("frozen_cents", Integer, nullable=False),
    _at("updated_at"),
    **_OPTS,
)  # fmt: skip

wallet_ledger = Table(
    "wallet_ledger", metadata,
    _id(),
    _fk("user_id", "wallets.user_id"),
    Column("kind", String(16), nullable=False),  # topup, payment, refund
    Column("amount_cents", Integer, nullable=False),
    Column("balance_after_cents", Integer, nullable=False),
    _fk("order_id", "orders.id", nullable=True),
    _at("created_at"),
    **_OPTS,
)  # fmt: skip

cs_conversations = Table(
    "cs_conversations", metadata,
    _id(),
    _fk("user_id", "users.id"),
    _fk("order_id", "orders.id", nullable=True),
    Column("channel", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    _at("opened_at"),
    _at("closed_at", nullable=True),
    **_OPTS,
)  # fmt: skip

cs_messages = Table(
    "cs_messages", metadata,
    _id(),
    _fk("conversation_id", "cs_conversations.id"),
    Column("sender", String(8), nullable=False),  # user or agent
    # Free text: users type their phone number and address here in every possible format.
    Column("body", Text, nullable=False),
    _at("sent_at"),
    **_OPTS,
)  # fmt: skip

merchant_customer_notes = Table(
    "merchant_customer_notes", metadata,
    _id(),
    _fk("merchant_id", "merchants.id"),
    # Merchants know customers only by phone number: no user_id, linked by the value alone.
    Column("customer_phone", String(20), nullable=False, index=True),
    Column("note", Text, nullable=False),
    _at("created_at"),
    _at("updated_at"),
    **_OPTS,
)  # fmt: skip

invitations = Table(
    "invitations", metadata,
    _id(),
    # Both ends are users: erasing either one must handle the other side's row.
    _fk("inviter_id", "users.id"),
    _fk("invitee_id", "users.id", nullable=True),
    Column("invitee_phone", String(20), nullable=False, index=True),
    Column("invite_code", String(12), nullable=False),
    Column("status", String(16), nullable=False),  # pending, accepted
    Column("reward_cents", Integer, nullable=False),
    _at("created_at"),
    _at("accepted_at", nullable=True),
    **_OPTS,
)  # fmt: skip

sms_outbox = Table(
    "sms_outbox", metadata,
    _id(),
    # Keyed by the number texted, which may belong to no account (a sign-up never finished).
    Column("phone", String(20), nullable=False, index=True),
    Column("template", String(32), nullable=False),
    Column("body", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    _at("created_at"),
    _at("sent_at", nullable=True),
    **_OPTS,
)  # fmt: skip

TABLE_NAMES: Final = tuple(t.name for t in metadata.sorted_tables)
REFERENCE_TABLES: Final = ("merchants", "products", "couriers", "coupons")
# Every table that can hold a subject's personal data, directly or through a link.
PERSONAL_TABLES: Final = tuple(n for n in TABLE_NAMES if n not in REFERENCE_TABLES)
