"""A subject with 10,000 orders is erased in bounded batches."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from exitright.connectors.sql_engine import store_engine
from exitright.demo.schema import order_items, orders, payments
from exitright.erasure.service import Lookup, erase_subject
from exitright.vault.models import VaultRecord
from tests.integration.erasure.helpers import context, demo_map, seed, user_ids

ORDERS = 10_000


@pytest.mark.slow
def test_a_user_with_ten_thousand_orders_is_erased_in_batches(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    seed(url, tmp_path / "uploads", users=3)
    dm = demo_map(url, tmp_path / "uploads")
    engine = store_engine(url)
    try:
        uid = user_ids(engine)[0]
        with engine.begin() as conn:
            start = int(conn.scalar(select(func.max(orders.c.id))) or 0) + 1
            t0 = datetime(2025, 1, 1)
            conn.execute(
                insert(orders),
                [
                    {
                        "id": start + i,
                        "order_no": f"H{start + i:020d}",
                        "user_id": uid,
                        "merchant_id": 1,
                        "kind": "parcel",
                        "status": "completed",
                        "total_cents": 100,
                        "delivery_fee_cents": 0,
                        "discount_cents": 0,
                        "receiver_name": "张三",
                        "receiver_phone": "13900000000",
                        "receiver_address": "北京市",
                        "remark": "",
                        "created_at": t0,
                        "paid_at": t0,
                        "completed_at": t0 + timedelta(minutes=i),
                        "cancelled_at": None,
                    }
                    for i in range(ORDERS)
                ],
            )
            conn.execute(
                insert(order_items),
                [
                    {
                        "order_id": start + i,
                        "product_id": 1,
                        "title": "x",
                        "quantity": 1,
                        "unit_price_cents": 100,
                    }
                    for i in range(ORDERS)
                ],
            )
            conn.execute(
                insert(payments),
                [
                    {
                        "order_id": start + i,
                        "channel": "alipay",
                        "trade_no": f"T{start + i}",
                        "amount_cents": 100,
                        "status": "paid",
                        "payer_account": None,
                        "paid_at": t0,
                    }
                    for i in range(ORDERS)
                ],
            )
        events: Counter[str] = Counter()
        with context(tmp_path, batch_size=500, sql_engines={"platform": engine}) as ctx:
            summary = erase_subject(
                ctx,
                dm,
                Lookup("user_id", str(uid)),
                observe=lambda e: events.update([e.split(":")[0]]),
            )
            with ctx.engine.connect() as conn:
                vaulted = conn.scalar(select(func.count()).select_from(VaultRecord))
        assert summary.status == "completed", (summary.failed_step, summary.hits)
        assert summary.tables[("platform", "orders")]["retained"] >= ORDERS
        assert events["batch"] >= 3 * ORDERS // 500
        assert vaulted is not None and vaulted >= 3 * ORDERS
        with engine.connect() as conn:
            assert (
                conn.scalar(select(func.count()).select_from(orders).where(orders.c.user_id == uid))
                == 0
            )
    finally:
        engine.dispose()
