"""The demo platform's pre-checks, and what the platform does to resolve its own.

:data:`DEMO_PRE_CHECKS` are the declarations a deployment would write in settings, as count
queries on the demo's ``platform`` store (``exitright.connectors.sql_precheck`` runs them):

* ``open_orders`` — orders awaiting payment, paid or on their way. The user resolves them on the
  shop's orders page (the link lists the open ones; each can be received or cancelled there).
* ``wallet_balance`` — money left in the wallet. The platform resolves it itself:
  :class:`WalletRefund` pays the balance back to the original payment method — a real change in
  the demo's ``wallets`` table, recorded as a ``refund_to_source`` row of ``wallet_ledger``
  (kept three years like every transaction record, E-commerce Law Art. 31) — and the request
  goes on. Nothing is asked of the user, least of all a payment.
* ``open_disputes`` — a customer-service case about an order still open; it clears when
  the platform closes the case (the user waits, nothing to do).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from sqlalchemy import Engine, insert, select, update

from exitright.cancellation.ports import Identifiers
from exitright.cancellation.precheck_run import PreCheckUnavailableError
from exitright.cancellation.prechecks import PreCheck
from exitright.clock import Clock, as_utc
from exitright.connectors.base import SubjectIds
from exitright.demo.schema import wallet_ledger, wallets
from exitright.errors import ExitRightError

__all__ = [
    "DEMO_PRE_CHECKS",
    "OPEN_ORDER_STATUSES",
    "REFUND_KIND",
    "WalletRefund",
    "refund_wallet",
]

# Orders still under way: the ones a cancellation would leave without an account.
OPEN_ORDER_STATUSES: Final = ("pending_payment", "paid", "delivering")
REFUND_KIND: Final = "refund_to_source"  # wallet_ledger.kind of a refund to the original method

DEMO_PRE_CHECKS: Final[tuple[dict[str, object], ...]] = (
    {
        "id": "open_orders",
        "resolution": "link",
        "link": "/shop/orders?status=open",
        "sql": {
            "store": "platform",
            "query": "SELECT count(*) FROM orders WHERE user_id = :user_id "
            "AND status IN ('pending_payment', 'paid', 'delivering')",
        },
    },
    {
        "id": "wallet_balance",
        "resolution": "refund_to_original_method",
        "sql": {
            "store": "platform",
            "query": "SELECT count(*) FROM wallets WHERE user_id = :user_id AND balance_cents > 0",
        },
    },
    {
        "id": "open_disputes",
        "resolution": "wait",
        "sql": {
            "store": "platform",
            "query": "SELECT count(*) FROM cs_conversations WHERE user_id = :user_id "
            "AND status = 'open' AND order_id IS NOT NULL",
        },
    },
)


def refund_wallet(engine: Engine, user_id: int, now: datetime) -> int:
    """Pay the wallet's whole balance back to the original payment method; the cents refunded.

    One platform transaction: the balance goes to 0 and ``wallet_ledger`` records the refund
    (``refund_to_source``, the negative amount, balance after 0). Idempotent: an empty wallet
    (already refunded) changes nothing and returns 0. ``now`` is naive UTC, like the demo's rows.
    """
    with engine.begin() as conn:
        query = select(wallets.c.balance_cents).where(wallets.c.user_id == user_id)
        if conn.dialect.name != "sqlite":
            query = query.with_for_update()
        balance = conn.execute(query).scalar()
        if balance is None or balance <= 0:
            return 0
        changed = conn.execute(
            update(wallets)
            .where(wallets.c.user_id == user_id, wallets.c.balance_cents == balance)
            .values(balance_cents=0, updated_at=now)
        )
        if changed.rowcount != 1:
            return 0  # spent or refunded meanwhile: the next run looks again
        conn.execute(
            insert(wallet_ledger).values(
                user_id=user_id,
                kind=REFUND_KIND,
                amount_cents=-int(balance),
                balance_after_cents=0,
                order_id=None,
                created_at=now,
            )
        )
    return int(balance)


class WalletRefund:
    """The ``PreCheckResolver`` of ``wallet_balance`` on the demo platform."""

    def __init__(
        self,
        engine: Callable[[], Engine],
        find_subject: Callable[[Identifiers], SubjectIds],
        clock: Clock,
    ) -> None:
        self.engine = engine
        self.find_subject = find_subject
        self.clock = clock

    def resolve(self, check: PreCheck, identifiers: Identifiers) -> bool:
        """Refund the subject's balance to the original payment method; True if money moved."""
        try:
            ids = self.find_subject(identifiers)
        except ExitRightError as exc:
            raise PreCheckUnavailableError(
                f"pre-check {check.id}: the subject could not be looked up ({exc.code.value})"
            ) from None
        if ids.user_id is None:
            return False
        now = as_utc(self.clock.now()).replace(tzinfo=None)
        try:
            return refund_wallet(self.engine(), int(ids.user_id), now) > 0
        except Exception as exc:  # a platform that fails to refund: the request waits and retries
            raise PreCheckUnavailableError(
                f"pre-check {check.id}: the refund did not go through ({type(exc).__name__})"
            ) from None
