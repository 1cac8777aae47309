"""The platform's reference data: merchants, products, couriers and coupons (no personal data).

A fixed size for every seed (it does not grow with the number of users), so that a small demo and a
large benchmark sell the same goods.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

from exitright.demo import vocab
from exitright.demo.model import PLATFORM_LAUNCH, REFERENCE_NOW, Row
from exitright.demo.regions import DISTRICTS
from exitright.demo.texts import uscc

__all__ = ["COUPONS", "COURIERS", "MERCHANTS", "Catalog", "build_catalog"]

MERCHANTS: Final = 300
COURIERS: Final = 400
COUPONS: Final = 40
# Shop categories whose orders are delivered by a rider the same hour; the rest ship as parcels.
_SAME_HOUR: Final = frozenset({"餐饮", "饮品", "超市"})


@dataclass
class Catalog:
    """Reference rows, plus the look-ups the order generator needs."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    # Per merchant (index = merchant id - 1): its products as (product id, title, price).
    goods: list[list[tuple[int, str, int]]] = field(default_factory=list)
    # Per merchant: whether its orders are same-hour deliveries (else parcels).
    same_hour: list[bool] = field(default_factory=list)
    product_count: int = 0


def build_catalog(seed: int) -> Catalog:
    """The merchants, products, couriers and coupons of the platform for ``seed``."""
    rng = random.Random(f"exitright-demo/{seed}/catalog")  # noqa: S311 -- demo data, not secrets
    catalog = Catalog()
    merchants: list[Row] = []
    products: list[Row] = []
    for merchant_id in range(1, MERCHANTS + 1):
        # Restaurants first and most: it is a food-delivery platform that also sells goods.
        category, stems, suffixes, goods = vocab.SHOP_KINDS[
            min(int(rng.expovariate(0.9)), len(vocab.SHOP_KINDS) - 1)
        ]
        where = rng.choice(DISTRICTS)
        name = f"{rng.choice(stems)}{rng.choice(suffixes)}（{where.district}店）"
        opened = PLATFORM_LAUNCH + timedelta(days=rng.randrange(365))
        merchants.append((merchant_id, name, category, where.city, uscc(rng, where.code), opened))
        offered: list[tuple[int, str, int]] = []
        for title, yuan in rng.sample(goods, k=min(len(goods), rng.randint(4, 10))):
            product_id = len(products) + 1
            price = yuan * 100 + rng.choice((0, 0, 50, 90))
            products.append((product_id, merchant_id, title, category, price, opened))
            offered.append((product_id, title, price))
        catalog.goods.append(offered)
        catalog.same_hour.append(category in _SAME_HOUR)
    couriers: list[Row] = [
        (i, f"QS{i:06d}", rng.choice(vocab.CARRIERS), rng.choice(DISTRICTS).city)
        for i in range(1, COURIERS + 1)
    ]
    coupons: list[Row] = []
    days = (REFERENCE_NOW - PLATFORM_LAUNCH).days
    for i in range(1, COUPONS + 1):
        start = PLATFORM_LAUNCH + timedelta(days=rng.randrange(days - 30))
        discount = rng.choice((300, 500, 800, 1000, 2000))
        spend = max(rng.choice((0, 2000, 3000, 5000, 9900)), discount + 100)
        until = start + timedelta(days=rng.choice((7, 30, 90, 365)))
        code = f"CP{i:04d}{rng.randrange(10**6):06d}"
        coupons.append((i, code, rng.choice(vocab.COUPON_TITLES), discount, spend, start, until))
    catalog.rows = {
        "merchants": merchants,
        "products": products,
        "couriers": couriers,
        "coupons": coupons,
    }
    catalog.product_count = len(products)
    return catalog
