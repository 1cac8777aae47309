"""One user's shopping life: orders and everything that hangs off them.

Orders carry copies of the receiver (name, phone, address); payments, refunds, deliveries,
invoices, reviews with photos, coupons used, wallet movements, customer-service chats about an
order, merchant notes about the customer and the text messages sent about orders all follow from
them, with times in a consistent order (paid after placed, delivered after paid, reviewed after
completion) and money that adds up (the wallet's balance is the sum of its ledger).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from exitright.demo import vocab
from exitright.demo.catalog import COURIERS, MERCHANTS, Catalog
from exitright.demo.model import REFERENCE_NOW, Batch, Person, upload_path
from exitright.demo.stream import Stream
from exitright.demo.texts import company_name, spoken_phone, uscc

__all__ = ["OrderWriter"]

_PAY_CHANNELS: Final = ("alipay", "alipay", "alipay", "wechat", "wechat", "unionpay")
_TRADE_PREFIX: Final = {"alipay": "AP", "wechat": "WX", "unionpay": "UP", "wallet": "WL"}
_PARCEL_CARRIERS: Final = ("顺丰速运", "中通快递", "圆通速递", "京东物流", "韵达快递")
_RIDERS: Final = ("平台专送", "骑手众包")


@dataclass
class _Placed:
    """An order as later steps (coupons, chats, notes) need it."""

    order_id: int
    order_no: str
    merchant_id: int
    created: datetime
    completed: datetime | None
    same_hour: bool


class OrderWriter(Stream):
    """Writes orders, their children, the wallet and the user's service history."""

    def __init__(self, seed: int, catalog: Catalog) -> None:
        super().__init__(seed)
        self.catalog = catalog

    def write_orders(self, p: Person, out: Batch) -> None:
        """All orders of ``p`` and what follows from them, plus their wallet."""
        rng = self._rng
        r = rng.random()
        if r < 0.08:
            count = 0
        elif r < 0.999:
            count = 1 + min(int(rng.expovariate(0.4)), 40)
        else:
            # A few power buyers: they make the erasure engine's batching matter.
            count = rng.randint(150, 400)
        balance = 0
        topped_up: datetime | None = None
        if rng.random() < 0.25:
            amount = rng.choice((5000, 10000, 20000, 50000))
            topped_up = self.when(p.created, min(p.created + timedelta(days=30), REFERENCE_NOW))
            balance = amount
            out.add("wallet_ledger", (
                self.next_id("wallet_ledger"), p.user_id, "topup", amount, balance, None, topped_up,
            ))  # fmt: skip
        placed: list[_Placed] = []
        for created in sorted(self.when(p.created) for _ in range(count)):
            use_wallet = topped_up is not None and topped_up < created
            order, after = self._order(p, created, out, balance if use_wallet else -1)
            if use_wallet:
                balance = after
            placed.append(order)
        out.add("wallets", (p.user_id, max(balance, 0), 0, p.created))
        self._coupons(p, placed, out)
        if placed:
            self._service(p, placed, out)

    def _order(self, p: Person, created: datetime, out: Batch, wallet: int) -> tuple[_Placed, int]:
        """One order; ``wallet`` is the balance it may pay from (-1: none). Returns the new one."""
        rng = self._rng
        order_id = self.next_id("orders")
        merchant = rng.randrange(MERCHANTS)
        same_hour = self.catalog.same_hour[merchant]
        goods = self.catalog.goods[merchant]
        subtotal = 0
        for product_id, title, price in rng.sample(goods, k=1 if rng.random() < 0.6 else 2):
            quantity = 1 if rng.random() < 0.8 else rng.randint(2, 3)
            subtotal += quantity * price
            out.add("order_items", (
                self.next_id("order_items"), order_id, product_id, title, quantity, price,
            ))  # fmt: skip
        fee = rng.choice((0, 300, 500)) if same_hour else 0
        discount = 0 if rng.random() < 0.85 else min(500, subtotal // 5)
        total = subtotal + fee - discount
        address = p.home_address if rng.random() < 0.8 else p.work_address
        remark = rng.choice(vocab.ORDER_REMARKS)
        if "{" in remark:
            remark = remark.format(phone=spoken_phone(rng, p.phone), address=address)
        # 20 digits: longer than any ID (18) or bank card number (19), so detectors do not
        # mistake an order number in a chat for one.
        order_no = f"E{created.year:04d}{created.month:02d}{created.day:02d}{order_id:012d}"
        # Status follows from how long ago the order was placed.
        takes = (
            timedelta(minutes=rng.randint(25, 70))
            if same_hour
            else timedelta(days=rng.randint(2, 5))
        )
        paid = created + timedelta(seconds=rng.randint(20, 180))
        completed: datetime | None = None
        cancelled: datetime | None = None
        if paid >= REFERENCE_NOW:
            status = "pending_payment"
        elif created + takes >= REFERENCE_NOW:
            status = "paid" if rng.random() < 0.3 else "delivering"
        else:
            r = rng.random()
            if r < 0.05:
                status, cancelled = "cancelled", created + timedelta(minutes=rng.randint(1, 15))
            elif r < 0.09:
                status = "refunded"
            else:
                status, completed = "completed", created + takes
        is_paid = status not in ("pending_payment", "cancelled")
        out.add("orders", (
            order_id, order_no, p.user_id, merchant + 1, "delivery" if same_hour else "parcel",
            status, total, fee, discount, p.name, p.phone, address, remark, created,
            paid if is_paid else None, completed, cancelled,
        ))  # fmt: skip
        if is_paid:
            wallet = self._payment(p, order_id, status, paid, total, wallet, out)
            self._delivery(p, order_id, status, same_hour, paid, completed, address, out)
        if completed is not None:
            self._after_completion(p, order_id, goods[0][0], completed, total, out)
        placed = _Placed(order_id, order_no, merchant + 1, created, completed, same_hour)
        return placed, wallet

    def _payment(
        self, p: Person, order_id: int, status: str, paid: datetime, total: int, wallet: int,
        out: Batch,
    ) -> int:  # fmt: skip
        rng = self._rng
        payment_id = self.next_id("payments")
        channel = "wallet" if wallet >= total and rng.random() < 0.6 else rng.choice(_PAY_CHANNELS)
        if channel == "alipay":
            account: str | None = f"{p.phone[:3]}****{p.phone[-4:]}"
        elif channel == "wechat":
            account = f"o{rng.getrandbits(160):040x}"[:28]
        elif channel == "unionpay":
            account = f"6222 **** **** {rng.randrange(10000):04d}"
        else:
            account = None
        day = f"{paid.year:04d}{paid.month:02d}{paid.day:02d}"
        trade_no = f"{_TRADE_PREFIX[channel]}{day}{payment_id:012d}"
        refunded = status == "refunded"
        out.add("payments", (
            payment_id, order_id, channel, trade_no, total, "refunded" if refunded else "success",
            account, paid,
        ))  # fmt: skip
        if channel == "wallet":
            wallet -= total
            out.add("wallet_ledger", (
                self.next_id("wallet_ledger"), p.user_id, "payment", -total, wallet, order_id, paid,
            ))  # fmt: skip
        if refunded:
            asked = paid + timedelta(minutes=rng.randint(30, 2000))
            done = asked + timedelta(hours=rng.randint(1, 48))
            out.add("refunds", (
                self.next_id("refunds"), payment_id, total, rng.choice(vocab.REFUND_REASONS),
                "success", asked, done,
            ))  # fmt: skip
            if channel == "wallet":
                wallet += total
                out.add("wallet_ledger", (
                    self.next_id("wallet_ledger"), p.user_id, "refund", total, wallet, order_id,
                    done,
                ))  # fmt: skip
        return wallet

    def _delivery(
        self, p: Person, order_id: int, status: str, same_hour: bool, paid: datetime,
        completed: datetime | None, address: str, out: Batch,
    ) -> None:  # fmt: skip
        rng = self._rng
        if status == "paid":
            return  # not picked up yet
        picked = paid + timedelta(minutes=rng.randint(5, 20))
        if same_hour:
            carrier, tracking = rng.choice(_RIDERS), None
        else:
            carrier = rng.choice(_PARCEL_CARRIERS)
            tracking = f"{carrier[:1]}{rng.randrange(10**12):012d}"
        out.add("deliveries", (
            self.next_id("deliveries"), order_id, rng.randint(1, COURIERS), carrier, tracking,
            p.phone, address, "delivered" if completed else "in_transit",
            picked if picked < REFERENCE_NOW else paid, completed,
        ))  # fmt: skip

    def _after_completion(
        self, p: Person, order_id: int, product_id: int, completed: datetime, total: int,
        out: Batch,
    ) -> None:  # fmt: skip
        rng = self._rng
        if p.email is not None and rng.random() < 0.06:
            issued = min(completed + timedelta(days=rng.randint(0, 10)), REFERENCE_NOW)
            if rng.random() < 0.6:
                title_type, title, tax_id = (
                    "company",
                    company_name(rng, p.work),
                    uscc(rng, p.work.code),
                )
            else:
                title_type, title, tax_id = "personal", p.name, None
            out.add("invoices", (
                self.next_id("invoices"), order_id, p.user_id, title_type, title, tax_id, p.email,
                total, issued,
            ))  # fmt: skip
        if rng.random() < 0.25:
            review_id = self.next_id("reviews")
            written = min(completed + timedelta(hours=rng.randint(1, 72)), REFERENCE_NOW)
            r = rng.random()
            rating = 5 if r < 0.6 else 4 if r < 0.8 else 3 if r < 0.9 else 2 if r < 0.95 else 1
            out.add("reviews", (
                review_id, p.user_id, order_id, product_id, rating, rng.choice(vocab.REVIEW_LINES),
                rng.random() < 0.2, written,
            ))  # fmt: skip
            if rng.random() < 0.3:
                for k in range(1, rng.randint(1, 3) + 1):
                    path = upload_path("reviews", p.user_id, f"{review_id}_{k}.jpg")
                    out.files.append(path)
                    out.add(
                        "review_photos", (self.next_id("review_photos"), review_id, path, written)
                    )

    def _coupons(self, p: Person, placed: list[_Placed], out: Batch) -> None:
        rng = self._rng
        coupons = self.catalog.rows["coupons"]
        for coupon in rng.sample(coupons, k=rng.choice((0, 0, 1, 1, 2, 3))):
            coupon_id, valid_from, valid_until = coupon[0], coupon[5], coupon[6]
            claimed = max(valid_from, p.created)
            if claimed >= valid_until or claimed >= REFERENCE_NOW:
                continue
            usable = [o for o in placed if claimed <= o.created <= valid_until and o.completed]
            if usable and rng.random() < 0.6:
                used = rng.choice(usable)
                status, used_order, used_at = "used", used.order_id, used.created
            else:
                status = "unused" if valid_until > REFERENCE_NOW else "expired"
                used_order, used_at = None, None
            out.add("user_coupons", (
                self.next_id("user_coupons"), p.user_id, coupon_id, status, used_order, claimed,
                used_at,
            ))  # fmt: skip

    def _service(self, p: Person, placed: list[_Placed], out: Batch) -> None:
        """Customer-service chats, merchant notes and order text messages."""
        rng = self._rng
        if rng.random() < 0.12:
            order = rng.choice(placed)
            conversation_id = self.next_id("cs_conversations")
            opened = order.created + timedelta(minutes=rng.randint(20, 90))
            fill = {
                "order_no": order.order_no,
                "phone": spoken_phone(rng, p.phone),
                "address": rng.choice((p.home_address, p.work_address)),
                "name": p.name,
            }
            lines = [
                ("user", rng.choice(vocab.CHAT_USER_OPENERS).format(**fill)),
                ("agent", vocab.CHAT_AGENT_LINES[0]),
                ("user", rng.choice(vocab.CHAT_USER_DETAILS).format(**fill)),
                ("agent", rng.choice(vocab.CHAT_AGENT_LINES[1:])),
            ]
            if rng.random() < 0.5:
                lines.append(("user", "好的，谢谢"))
            at = opened
            for sender, body in lines:
                out.add(
                    "cs_messages", (self.next_id("cs_messages"), conversation_id, sender, body, at)
                )
                at += timedelta(seconds=rng.randint(10, 240))
            closed = at if at < REFERENCE_NOW else None
            out.add("cs_conversations", (
                conversation_id, p.user_id, order.order_id, rng.choice(("app", "app", "hotline")),
                "closed" if closed else "open", opened, closed,
            ))  # fmt: skip
        if rng.random() < 0.04:
            order = rng.choice(placed)
            text = rng.choice(vocab.MERCHANT_NOTES).format(
                phone=spoken_phone(rng, p.phone), address=p.home_address
            )
            written = order.created + timedelta(hours=1)
            out.add("merchant_customer_notes", (
                self.next_id("merchant_customer_notes"), order.merchant_id, p.phone, text, written,
                self.when(written) if written < REFERENCE_NOW else written,
            ))  # fmt: skip
        for order in placed[-2:]:
            template, body = vocab.SMS_TEMPLATES[2 if order.same_hour else 1]
            sent = order.created + timedelta(minutes=10)
            out.add("sms_outbox", (
                self.next_id("sms_outbox"), p.phone, template, body.format(order_no=order.order_no),
                "delivered", sent, sent + timedelta(seconds=3),
            ))  # fmt: skip
