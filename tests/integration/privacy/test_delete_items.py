"""Delete items end to end on the workflow, on SQLite and PostgreSQL: exactly the chosen rows go.

The demo platform's store is SQLite or PostgreSQL (``engine_url``); a delete request for some of
a customer's items goes through submit → verify → advance; then every table is compared with
what it held before.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, func, select

from exitright import bootstrap
from exitright.cancellation import services
from exitright.cancellation.commands import VerifyRequest
from exitright.cancellation.model import Actor, RequestKind, State
from exitright.cancellation.ports import Identifiers, KindJob, ScopeRejectedError
from exitright.config import Settings
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.demo.schema import (
    addresses,
    favourites,
    metadata,
    review_photos,
    reviews,
    search_history,
    users,
)
from exitright.demo.seed import seed_platform
from exitright.erasure.models import ErasurePlan
from exitright.ledger import service as ledger


@dataclass
class Shop:
    """A seeded demo shop, the workflow over it, and a customer with items of every kind."""

    runtime: bootstrap.Runtime
    demo: Engine
    user_id: int
    phone: str


def rows(demo: Engine) -> dict[str, set[tuple[object, ...]]]:
    """Every row of every table of the demo platform."""
    with demo.connect() as conn:
        return {
            name: {tuple(r) for r in conn.execute(select(table))}
            for name, table in metadata.tables.items()
        }


@pytest.fixture
def shop(settings: Settings, engine_url: str, tmp_path: Path) -> Iterator[Shop]:
    """The demo platform's store on ``engine_url``; the engine database on SQLite."""
    configured = settings.model_copy(update={"demo_database_url": engine_url})
    demo = make_engine(engine_url)
    seed_platform(demo, users=30, seed=5, uploads_dir=tmp_path / "uploads")
    with demo.connect() as conn:
        photographed = select(reviews.c.user_id).join(
            review_photos, review_photos.c.review_id == reviews.c.id
        )
        row = conn.execute(
            select(users.c.id, users.c.phone)
            .join(addresses, addresses.c.user_id == users.c.id)
            .where(
                users.c.phone.is_not(None),
                users.c.id.in_(photographed),
                users.c.id.in_(select(search_history.c.user_id)),
                users.c.id.in_(select(favourites.c.user_id)),
            )
            .group_by(users.c.id, users.c.phone)
            .having(func.count(addresses.c.id) >= 2)
            .order_by(users.c.id)
            .limit(1)
        ).one()
    migrate.upgrade(configured.engine_url)
    rt = bootstrap.build(configured)
    try:
        yield Shop(rt, demo, int(row.id), str(row.phone))
    finally:
        rt.close()
        demo.dispose()


def run(shop: Shop, scope: tuple[str, ...]) -> str:
    """Submit, verify and advance a delete request; returns its id once completed."""
    rt = shop.runtime
    command = services.OpenRequest(
        RequestKind.DELETE, Identifiers("phone", shop.phone), Actor.user(), scope=scope
    )
    request_id = services.submit(command, rt.uow(), rt.ports).record.request.id
    services.verify(VerifyRequest(request_id, Actor.system("otp")), rt.uow(), rt.ports)
    record = services.advance(services.AdvanceRequest(request_id, "w"), rt.uow(), rt.ports)
    assert record.request.state is State.COMPLETED, record.request.failure
    return request_id


def test_exactly_the_chosen_rows_go_and_every_other_row_stays(shop: Shop) -> None:
    """One address, one review with its photos, all search history; not another's address."""
    with shop.demo.connect() as conn:
        mine = (
            conn.execute(
                select(addresses.c.id).where(addresses.c.user_id == shop.user_id).order_by("id")
            )
            .scalars()
            .all()
        )
        review = conn.execute(
            select(reviews.c.id)
            .join(review_photos, review_photos.c.review_id == reviews.c.id)
            .where(reviews.c.user_id == shop.user_id)
            .order_by(reviews.c.id)
            .limit(1)
        ).scalar_one()
        theirs = conn.execute(
            select(addresses.c.id).where(addresses.c.user_id != shop.user_id).limit(1)
        ).scalar_one()
    before = rows(shop.demo)
    scope = (
        f"platform.addresses:{mine[0]}",
        f"platform.reviews:{review}",
        "platform.search_history",
        f"platform.addresses:{theirs}",  # not the subject's: never touched, never told
        "platform.search_history",
    )
    request_id = run(shop, scope)
    after = rows(shop.demo)

    gone = {name: before[name] - after[name] for name in before}
    assert {r[0] for r in gone["addresses"]} == {mine[0]}
    assert {r[0] for r in gone["reviews"]} == {review}
    assert {r[1] for r in gone["review_photos"]} == {review}
    assert gone["review_photos"] == {r for r in before["review_photos"] if r[1] == review}
    assert gone["search_history"] == {r for r in before["search_history"] if r[1] == shop.user_id}
    assert gone["search_history"]
    untouched = set(before) - {"addresses", "reviews", "review_photos", "search_history"}
    assert all(before[name] == after[name] for name in untouched)
    assert all(not (after[n] - before[n]) for n in before)  # nothing changed in place either

    with shop.runtime.engine.connect() as conn:
        entries = {e.event: e.data for e in ledger.for_request(conn, request_id)}
    deleted = 2 + len(gone["review_photos"]) + len(gone["search_history"])
    assert entries["items.deleted"] == {
        "items": 4,
        "not_found": 1,
        "deleted": deleted,
        "anonymized": 0,
    }
    assert entries["request.complete"]["delete"] == entries["items.deleted"]


def test_a_rerun_resumes_the_plans_and_deletes_nothing_more(shop: Shop) -> None:
    """The plans are found by request id; running them again reports the same counts."""
    rt = shop.runtime
    request_id = run(shop, ("platform.search_history",))
    executor = rt.ports.executors[RequestKind.DELETE]
    with rt.engine.connect() as conn:
        plans = conn.execute(
            select(ErasurePlan.status).where(ErasurePlan.request_id == request_id)
        ).all()
        first = {e.event: e.data for e in ledger.for_request(conn, request_id)}["items.deleted"]
    assert [p.status for p in plans] == ["completed"]
    record = services.get_request(request_id, rt.uow(readonly=True))
    job = KindJob(
        request_id, RequestKind.DELETE, record.request.subject_ref,
        Identifiers("phone", shop.phone), record.request.scope,
    )  # fmt: skip
    assert dict(executor.run(job, "w2").counts) == first


def test_only_the_items_the_map_offers_can_be_asked_for(shop: Shop) -> None:
    """Kept tables, the account, single rows of a table offered whole: refused with a 4xx."""
    rt = shop.runtime
    for scope in (
        ("platform.orders",),
        ("platform.users",),
        ("platform.favourites:3",),
        ("platform.search_history.query",),
        ("platform.addresses:1;drop",),
        (),
    ):
        command = services.OpenRequest(
            RequestKind.DELETE, Identifiers("phone", shop.phone), Actor.user(), scope=scope
        )
        with pytest.raises(ScopeRejectedError) as refused:
            services.submit(command, rt.uow(), rt.ports)
        assert refused.value.to_exitright_error().http_status == 422


def test_an_address_deleted_meanwhile_is_counted_not_found(shop: Shop) -> None:
    """A row gone between the choice and the execution is not an error: 0 deleted, not found."""
    with shop.demo.begin() as conn:
        first = conn.execute(
            select(addresses.c.id).where(addresses.c.user_id == shop.user_id).limit(1)
        ).scalar_one()
        conn.execute(delete(addresses).where(addresses.c.id == first))
    request_id = run(shop, (f"platform.addresses:{first}",))
    with shop.runtime.engine.connect() as conn:
        entries = {e.event: e.data for e in ledger.for_request(conn, request_id)}
    assert entries["items.deleted"] == {
        "items": 1,
        "not_found": 1,
        "deleted": 0,
        "anonymized": 0,
    }
