"""Correct my data end to end on the workflow, on SQLite and PostgreSQL: exactly those fields.

The demo platform's store is SQLite or PostgreSQL (``engine_url``); a correction of the
account's nickname and one address goes through submit → verify → advance; then every table is
compared with what it held before, and the new values are looked for where they must not be.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from exitright import bootstrap
from exitright.cancellation import services
from exitright.cancellation.commands import VerifyRequest
from exitright.cancellation.model import Actor, RequestKind, State
from exitright.cancellation.ports import Identifiers, ScopeRejectedError
from exitright.config import Settings
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.db.requests import RequestRow
from exitright.demo.schema import addresses, metadata, users
from exitright.demo.seed import seed_platform
from exitright.ledger import service as ledger
from exitright.privacy.corrections import ValueRejectedError, check_value

NICKNAME = "改过的昵称"
DETAIL = "上海市徐汇区漕溪北路 88 号 3 楼"


@dataclass
class Shop:
    """A seeded demo shop, the workflow over it, and a customer with two addresses."""

    runtime: bootstrap.Runtime
    demo: Engine
    user_id: int
    phone: str
    addresses: list[int]


@pytest.fixture
def shop(settings: Settings, engine_url: str, tmp_path: Path) -> Iterator[Shop]:
    """The demo platform's store on ``engine_url``; the engine database on SQLite."""
    configured = settings.model_copy(update={"demo_database_url": engine_url})
    demo = make_engine(engine_url)
    seed_platform(demo, users=20, seed=4, uploads_dir=tmp_path / "uploads")
    with demo.connect() as conn:
        pairs = conn.execute(
            select(users.c.id, users.c.phone, addresses.c.id)
            .join(addresses, addresses.c.user_id == users.c.id)
            .where(users.c.phone.is_not(None))
            .order_by(users.c.id, addresses.c.id)
        ).all()
    owner = next(p for p in pairs if sum(1 for q in pairs if q[0] == p[0]) >= 2)
    mine = [int(p[2]) for p in pairs if p[0] == owner[0]]
    migrate.upgrade(configured.engine_url)
    rt = bootstrap.build(configured)
    try:
        yield Shop(rt, demo, int(owner[0]), str(owner[1]), mine)
    finally:
        rt.close()
        demo.dispose()


def snapshot(demo: Engine) -> dict[str, set[tuple[object, ...]]]:
    """Every row of every table of the demo platform."""
    with demo.connect() as conn:
        return {n: {tuple(r) for r in conn.execute(select(t))} for n, t in metadata.tables.items()}


def correct(shop: Shop, values: dict[str, str]) -> str:
    """Submit, verify and advance a correction; returns its id once completed."""
    rt = shop.runtime
    command = services.OpenRequest(
        RequestKind.CORRECT, Identifiers("phone", shop.phone), Actor.user(), values=values
    )
    request_id = services.submit(command, rt.uow(), rt.ports).record.request.id
    with rt.engine.connect() as conn:
        sealed = conn.execute(
            select(RequestRow.values_enc).where(RequestRow.id == request_id)
        ).scalar_one()
    assert sealed and NICKNAME.encode() not in sealed and "昵称".encode() not in sealed
    services.verify(VerifyRequest(request_id, Actor.system("otp")), rt.uow(), rt.ports)
    record = services.advance(services.AdvanceRequest(request_id, "w"), rt.uow(), rt.ports)
    assert record.request.state is State.COMPLETED, record.request.failure
    return request_id


def test_exactly_the_fields_named_change_and_the_values_leave_the_engine(shop: Shop) -> None:
    """The nickname and one address' detail change; every other row and column stays."""
    before = snapshot(shop.demo)
    first = shop.addresses[0]
    request_id = correct(
        shop,
        {"platform.users.nickname": NICKNAME, f"platform.addresses:{first}.detail": DETAIL},
    )
    after = snapshot(shop.demo)
    changed = {n for n in before if before[n] != after[n]}
    assert changed == {"users", "addresses"}
    (old_user,) = before["users"] - after["users"]
    (new_user,) = after["users"] - before["users"]
    assert old_user[0] == new_user[0] == shop.user_id
    nickname_at = list(users.c.keys()).index("nickname")
    assert new_user[nickname_at] == NICKNAME
    assert [v for i, v in enumerate(new_user) if i != nickname_at] == [
        v for i, v in enumerate(old_user) if i != nickname_at
    ]
    (old_addr,) = before["addresses"] - after["addresses"]
    (new_addr,) = after["addresses"] - before["addresses"]
    detail_at = list(addresses.c.keys()).index("detail")
    assert old_addr[0] == new_addr[0] == first and new_addr[detail_at] == DETAIL

    rt = shop.runtime
    with rt.engine.connect() as conn:
        row = conn.execute(select(RequestRow).where(RequestRow.id == request_id)).one()
        entries = ledger.for_request(conn, request_id)
    assert row.values_enc is None and row.identifiers_enc is None
    data = {e.event: e.data for e in entries}
    assert data["fields.corrected"] == {"fields": 2, "rows": 2, "not_found": 0}
    text = repr([e.data for e in entries]) + repr(row.data)
    assert NICKNAME not in text and DETAIL not in text


def test_a_row_that_is_not_the_subject_s_is_never_changed(shop: Shop) -> None:
    """Another customer's address, named by its key, stays as it was: counted not_found."""
    with shop.demo.connect() as conn:
        theirs = conn.execute(
            select(addresses.c.id).where(addresses.c.user_id != shop.user_id).limit(1)
        ).scalar_one()
    before = snapshot(shop.demo)
    request_id = correct(shop, {f"platform.addresses:{theirs}.detail": DETAIL})
    assert snapshot(shop.demo) == before
    with shop.runtime.engine.connect() as conn:
        data = {e.event: e.data for e in ledger.for_request(conn, request_id)}
    assert data["fields.corrected"] == {"fields": 1, "rows": 0, "not_found": 1}


def test_values_are_checked_for_their_category_and_fields_for_the_map(shop: Shop) -> None:
    """A bad e-mail or phone, a too-long value, a field not offered: 4xx, nothing stored."""
    rt = shop.runtime
    first = shop.addresses[0]
    refused = [
        ({"platform.users.email": "not-an-email"}, ValueRejectedError),
        ({f"platform.addresses:{first}.receiver_phone": "12345"}, ValueRejectedError),
        ({f"platform.addresses:{first}.receiver_name": "张三3"}, ValueRejectedError),
        ({"platform.users.nickname": "x" * 101}, ValueRejectedError),
        ({"platform.users.nickname": " padded "}, ValueRejectedError),
        ({"platform.users.phone": "13900000000"}, ScopeRejectedError),
        ({"platform.users.password_hash": "x"}, ScopeRejectedError),
        ({"platform.addresses.detail": DETAIL}, ScopeRejectedError),
        ({"platform.users:1.nickname": NICKNAME}, ScopeRejectedError),
        ({}, ScopeRejectedError),
    ]
    for values, error in refused:
        command = services.OpenRequest(
            RequestKind.CORRECT, Identifiers("phone", shop.phone), Actor.user(), values=values
        )
        with pytest.raises(error) as caught:
            services.submit(command, rt.uow(), rt.ports)
        problem = caught.value.to_exitright_error()
        assert problem.http_status == 422
        assert all(v not in str(problem.details) for v in values.values() if len(v) > 3)
    with rt.engine.connect() as conn:
        assert conn.execute(select(RequestRow.id)).first() is None


@pytest.mark.parametrize(
    ("category", "given", "stored"),
    [
        ("contact.phone", "+86 138-0013-8000", "13800138000"),
        ("contact.email", "wang@example.cn", "wang@example.cn"),
        ("identity.name", "王小明", "王小明"),
        ("location.address", "北京市朝阳区 1 号", "北京市朝阳区 1 号"),
        ("profile", "a\x00b", None),
        ("identity.name", "", None),
    ],
)
def test_a_value_is_read_as_its_category_says(
    category: str, given: str, stored: str | None
) -> None:
    """Phones come back in their 11-digit form; control characters and empty values are refused."""
    assert check_value(category, given) == stored
