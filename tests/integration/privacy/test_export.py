"""The access export: the subject's rows found through the map's links, zipped and labelled."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from exitright.bootstrap import demo_map
from exitright.config import Settings
from exitright.connectors.base import SubjectIds
from exitright.db.engine import make_engine
from exitright.demo.schema import orders, users
from exitright.demo.seed import seed_platform
from exitright.privacy.export import archive, collect


@pytest.fixture
def demo(settings: Settings, tmp_path: Path) -> Iterator[tuple[Settings, Engine]]:
    """A seeded demo platform on SQLite and settings pointing at it."""
    engine = make_engine(settings.demo_url)
    seed_platform(engine, users=20, seed=3, uploads_dir=tmp_path / "uploads")
    yield settings, engine
    engine.dispose()


def busiest(engine: Engine) -> tuple[int, str, int]:
    """The user with the most orders: id, phone, order count."""
    with engine.connect() as conn:
        row = conn.execute(
            select(users.c.id, users.c.phone, func.count(orders.c.id).label("n"))
            .join(orders, orders.c.user_id == users.c.id)
            .group_by(users.c.id, users.c.phone)
            .order_by(func.count(orders.c.id).desc())
            .limit(1)
        ).one()
    return int(row.id), str(row.phone), int(row.n)


def test_the_export_holds_the_subjects_rows_and_nobody_elses(
    demo: tuple[Settings, Engine],
) -> None:
    """Orders of the subject only; the account row without its password hash."""
    settings, engine = demo
    user_id, phone, n_orders = busiest(engine)
    tables = {t.table: t for t in collect(demo_map(settings), SubjectIds(user_id, phone))}
    assert len(tables["orders"].rows) == n_orders
    user_col = tables["orders"].columns.index("user_id")
    assert {r[user_col] for r in tables["orders"].rows} == {user_id}
    assert "password_hash" not in tables["users"].columns
    assert tables["users"].categories["phone"] == "contact.phone"
    assert "products" not in tables and "merchants" not in tables  # reference data


def test_the_zip_has_json_and_csv_per_table_and_a_labelled_manifest(
    demo: tuple[Settings, Engine],
) -> None:
    """manifest.json labels each column in both languages; CSV row 2 names the categories."""
    settings, engine = demo
    user_id, phone, n_orders = busiest(engine)
    dm = demo_map(settings)
    data = archive(dm.platform, collect(dm, SubjectIds(user_id, phone)))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        orders_json = json.loads(zf.read("platform/orders.json"))
        orders_csv = list(
            csv.reader(io.StringIO(zf.read("platform/orders.csv").decode("utf-8-sig")))
        )
    assert {"platform/orders.json", "platform/orders.csv", "platform/users.json"} <= names
    assert len(orders_json["rows"]) == n_orders == len(orders_csv) - 2
    assert orders_csv[1][orders_csv[0].index("receiver_phone")] == "contact.phone"
    entry = next(t for t in manifest["tables"] if t["file"] == "platform/users")
    phone_col = next(c for c in entry["columns"] if c["name"] == "phone")
    assert phone_col["label"] == {"zh-CN": "手机号", "en": "phone numbers"}
    assert entry["on_cancellation"] == "delete"
    kept = next(t for t in manifest["tables"] if t["file"] == "platform/orders")
    assert kept["on_cancellation"] == "retain"
