"""What a shop user does with an open order: confirm receipt, or cancel it.

These are how the demo's ``open_orders`` pre-check gets resolved by the user (the status page of
a blocked cancellation links to the open orders). Each is one platform transaction, allowed
only on the user's own order and only from the states where it makes sense:

* confirm receipt — ``delivering`` → ``completed`` (the delivery is marked delivered; the
  completion time starts the three-year retention of the transaction record);
* cancel — ``pending_payment`` → ``cancelled``; ``paid`` (not yet picked up) → ``refunded``, with
  a refund row to the original payment method (a wallet payment goes back to the wallet, and
  is recorded in its ledger).

Times are naive UTC, like the seeded rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Connection, Engine, insert, select, update

from exitright.demo.schema import deliveries, orders, payments, refunds, wallet_ledger, wallets

__all__ = ["CANCEL_REASON", "OrderActionError", "cancel_order", "confirm_receipt"]

CANCEL_REASON: Final = "用户取消订单"


class OrderActionError(Exception):
    """The order is not the user's, or not in a state that allows this; ``reason`` names it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _own_order(conn: Connection, user_id: int, order_no: str) -> tuple[int, str, int]:
    query = select(orders.c.id, orders.c.status, orders.c.total_cents).where(
        orders.c.order_no == order_no[:24], orders.c.user_id == user_id
    )
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise OrderActionError("no_such_order")
    return int(row.id), str(row.status), int(row.total_cents)


def confirm_receipt(engine: Engine, user_id: int, order_no: str, now: datetime) -> None:
    """The parcel or meal arrived: the order is completed."""
    with engine.begin() as conn:
        order_id, status, _total = _own_order(conn, user_id, order_no)
        if status != "delivering":
            raise OrderActionError("not_delivering")
        conn.execute(
            update(orders)
            .where(orders.c.id == order_id)
            .values(status="completed", completed_at=now)
        )
        conn.execute(
            update(deliveries)
            .where(deliveries.c.order_id == order_id)
            .values(status="delivered", delivered_at=now)
        )


def cancel_order(engine: Engine, user_id: int, order_no: str, now: datetime) -> None:
    """Cancel an order not yet on its way; a paid one is refunded to where the money came from."""
    with engine.begin() as conn:
        order_id, status, total = _own_order(conn, user_id, order_no)
        if status == "pending_payment":
            conn.execute(
                update(orders)
                .where(orders.c.id == order_id)
                .values(status="cancelled", cancelled_at=now)
            )
            return
        if status != "paid":
            raise OrderActionError("not_cancellable")
        conn.execute(
            update(orders)
            .where(orders.c.id == order_id)
            .values(status="refunded", cancelled_at=now)
        )
        payment = conn.execute(
            select(payments.c.id, payments.c.channel, payments.c.amount_cents).where(
                payments.c.order_id == order_id
            )
        ).first()
        if payment is None:
            return
        conn.execute(update(payments).where(payments.c.id == payment.id).values(status="refunded"))
        conn.execute(
            insert(refunds).values(
                payment_id=payment.id,
                amount_cents=payment.amount_cents,
                reason=CANCEL_REASON,
                status="success",
                created_at=now,
                refunded_at=now,
            )
        )
        if payment.channel == "wallet":
            _credit_wallet(conn, user_id, order_id, int(payment.amount_cents or total), now)


def _credit_wallet(
    conn: Connection, user_id: int, order_id: int, amount: int, now: datetime
) -> None:
    balance = conn.execute(
        select(wallets.c.balance_cents).where(wallets.c.user_id == user_id)
    ).scalar()
    after = int(balance or 0) + amount
    conn.execute(
        update(wallets)
        .where(wallets.c.user_id == user_id)
        .values(balance_cents=after, updated_at=now)
    )
    conn.execute(
        insert(wallet_ledger).values(
            user_id=user_id,
            kind="refund",
            amount_cents=amount,
            balance_after_cents=after,
            order_id=order_id,
            created_at=now,
        )
    )
