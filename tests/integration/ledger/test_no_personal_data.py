"""The ledger and the certificates hold no personal data, after real cancellations.

Several demo accounts — named by phone, by e-mail and by account id, some real-name verified —
are cancelled to completion through the request workflow, with the demo map's recipients told
(one of them by phone number, so SETs carrying a phone pass through the outbox), some notices
acknowledged, a recycled-number SET received and an upstream purge received. Then every column
of every ledger row and every claim of every certificate (header and payload) is scanned with the
detectors ``datamap check`` uses (:mod:`exitright.pii.detect`: mobile numbers, ID numbers with
checksum, e-mail, bank cards with Luhn, addresses, names) and for each subject's exact
identifiers in every spelling we know. Any hit fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from joserfc.jwk import OKPKey
from sqlalchemy import Engine, MetaData, select

from exitright import bootstrap
from exitright.cancellation import services
from exitright.cancellation.commands import VerifyRequest
from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.cancellation.model import Actor, RequestKind, State
from exitright.cancellation.ports import Identifiers
from exitright.clock import SystemClock
from exitright.config import Settings
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.demo.schema import users
from exitright.demo.seed import seed_platform
from exitright.identity.risc import RiscRecycledGuard
from exitright.identity.wiring import build_guard
from exitright.ledger import service
from exitright.pii.detect import phone_variants
from exitright.protocols import notices, outbox, receiver
from exitright.protocols import set as sets
from exitright.protocols.config import ProtocolsConfig, TrustedIssuer
from exitright.protocols.upstream import WorkflowCancellationStarter
from tests.integration.protocols.conftest import personal_data_hits, personal_data_in

IDP = "https://id.example"
IDP_KEY = OKPKey.generate_key("Ed25519", parameters={"kid": "idp", "alg": "Ed25519"})
# Merchants know customers by phone number only: their SETs carry it (sealed, then erased).
PROTOCOLS = ProtocolsConfig(recipients={"merchants": {"subject_format": "phone_number"}})


@dataclass(frozen=True)
class Subject:
    """A demo account and every identifier of it the engine could have leaked."""

    user_id: int
    phone: str
    email: str | None
    real_name: str | None
    id_number: str | None

    def needles(self) -> tuple[str, ...]:
        """Exact spellings to look for (a bare account id is a small number: not searchable)."""
        found = [*phone_variants(self.phone), sets.e164(self.phone)]
        for value in (self.email, self.real_name, self.id_number):
            if value:
                found += [value, value.lower(), value.upper()]
        return tuple(dict.fromkeys(found))


@pytest.fixture
def settings_with_shop(settings: Settings, engine_url: str, tmp_path: Path) -> Settings:
    """A seeded demo shop; the engine database on SQLite or PostgreSQL."""
    configured = settings.model_copy(
        update={
            "database_url": engine_url,
            "demo_database_url": f"sqlite:///{tmp_path / 'demo-platform.db'}",
            "worker_in_process": False,
        }
    )
    demo = make_engine(configured.demo_url)
    try:
        seed_platform(demo, users=40, seed=11, uploads_dir=configured.data_dir / "uploads")
    finally:
        demo.dispose()
    migrate.upgrade(configured.engine_url)
    return configured


@pytest.fixture
def runtime(settings_with_shop: Settings) -> Iterator[bootstrap.Runtime]:
    """The workflow with no cooling-off and the demo map's three recipients."""
    rt = bootstrap.build(settings_with_shop, cooling_off=CoolingOffPolicy(0), protocols=PROTOCOLS)
    yield rt
    rt.close()


def subjects(settings: Settings, n: int) -> list[Subject]:
    """``n`` accounts, real-name verified ones first, each with an e-mail where possible."""
    demo = make_engine(settings.demo_url)
    try:
        with demo.connect() as conn:
            rows = conn.execute(
                select(users)
                .where(users.c.status == "active")
                .order_by(users.c.id_number.is_(None), users.c.email.is_(None), users.c.id)
                .limit(n)
            ).all()
    finally:
        demo.dispose()
    assert len(rows) == n
    return [Subject(r.id, r.phone, r.email, r.real_name, r.id_number) for r in rows]


def cancel(rt: bootstrap.Runtime, identifiers: Identifiers) -> str:
    """Submit, verify and advance one cancellation to completion; returns its id."""
    opened = services.submit(
        services.OpenRequest(RequestKind.CANCEL, identifiers, Actor.user()), rt.uow(), rt.ports
    )
    request_id = opened.record.request.id
    services.verify(VerifyRequest(request_id, Actor.system("otp")), rt.uow(), rt.ports)
    return request_id


def complete(rt: bootstrap.Runtime, request_id: str) -> None:
    """Advance until completed (the zero-day cooling-off takes one round, execution another)."""
    for _ in range(4):
        record = services.advance(services.AdvanceRequest(request_id), rt.uow(), rt.ports)
        if record.request.state is State.COMPLETED:
            return
    raise AssertionError(f"{request_id} ended {record.request.state}")


def ledger_rows(engine: Engine) -> list[dict[str, Any]]:
    """Every column of every ledger row, as stored."""
    meta = MetaData()
    meta.reflect(engine, only=["ledger_entries"])
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(meta.tables["ledger_entries"])).mappings()]


def test_ledger_and_certificates_hold_no_personal_data_after_full_cancellations(
    settings_with_shop: Settings, runtime: bootstrap.Runtime
) -> None:
    """Four subjects cancelled (phone, e-mail, account id, upstream purge); nothing leaks."""
    rt = runtime
    people = subjects(settings_with_shop, 5)
    by_phone, by_email, by_id, upstream, recycled = people
    assert by_email.email and by_phone.id_number  # the seed has real-name and e-mail users
    opened = [
        cancel(rt, Identifiers("phone", by_phone.phone)),
        cancel(rt, Identifiers("email", by_email.email)),
        cancel(rt, Identifiers("user_id", str(by_id.user_id))),
    ]

    # An upstream identity provider purges a fourth account (by phone); a carrier recycles a
    # fifth account's number.
    trusted = receiver.TrustedIssuers(
        [
            TrustedIssuer(
                issuer=IDP,
                jwks={"keys": [IDP_KEY.as_dict(private=False)]},
                opens_cancellation=True,
                subject_format="phone_number",
            )
        ],
        our_issuer=rt.settings.public_url,
    )
    handlers = receiver.Handlers(
        rt.notifier.pseudonym_key if rt.notifier else b"",
        guard=RiscRecycledGuard(build_guard(rt.settings, rt.engine)),
        starter=WorkflowCancellationStarter(lambda: rt),
    )
    for jti, event, phone in (
        ("purge-1", "account-purged", upstream.phone),
        ("recycle-1", "identifier-recycled", recycled.phone),
    ):
        token = sets.sign(
            sets.build_claims(
                issuer=IDP,
                audience=rt.settings.public_url,
                event=event,
                sub_id=sets.subject_id("phone_number", phone),
                jti=jti,
                iat=int(SystemClock().now().timestamp()),
            ),
            IDP_KEY,
        )
        receipt = receiver.receive(rt.engine, SystemClock(), token, trusted, handlers)
        assert receipt.outcome.startswith(("opened:", "marked")), receipt
    upstream_id = next(
        r.request.id
        for r in services.list_requests(
            rt.uow(readonly=True), owner=None, cursor=None, limit=10
        ).records
        if r.request.id not in opened
    )
    for request_id in [*opened, upstream_id]:
        complete(rt, request_id)

    # Some recipients answer: their SETs (one carried a phone) are erased from the outbox.
    with rt.engine.begin() as conn:
        for request_id in opened[:2]:
            for n in notices.notices_for_request(conn, request_id):
                if n.event == "account-purged" and n.recipient != "payment providers":
                    assert outbox.acknowledge(conn, SystemClock(), n.jti, how="poll")

    needles = tuple(n for s in people for n in s.needles())
    rows = ledger_rows(rt.engine)
    events = {r["event"] for r in rows}
    assert {"request.complete", "recipient.notice.queued", "recipient.notice.acknowledged"} <= (
        events
    )
    assert "identity.identifier_recycled" in events
    leaks = [
        f"ledger #{row['seq']} {row['event']}: {sorted(hits)}"
        for row in rows
        if (hits := personal_data_hits(row, needles, names=True))
    ]
    with rt.uow(readonly=True) as uow:
        certificates = [
            (request_id, record.certificate)
            for request_id in [*opened, upstream_id]
            if (record := uow.requests.get(request_id)) is not None
        ]
    assert len(certificates) == 4 and all(c for _r, c in certificates)
    for signed_for, certificate in certificates:
        assert certificate is not None
        header, claims = sets.peek(certificate)
        assert {c["recipient"] for c in claims["recipients"]} >= {"couriers", "merchants"}
        hits = personal_data_hits({"header": header, "claims": claims}, needles, names=True)
        if hits:
            leaks.append(f"certificate {signed_for}: {sorted(hits)}")
    leaks += personal_data_in(rt.engine, needles)
    assert leaks == []
    assert service.verify_ledger(rt.engine).ok


def test_the_scan_finds_a_phone_an_id_number_a_name_and_a_needle() -> None:
    """The scan is not blind: each kind of leak is reported."""
    leaked = {
        "data": {"note": "call 13812345678", "who": "王小明", "id": "11010519491231002X"},
        "hash": "9" * 64,  # a digest is not a phone number however many digits it holds
        "alias": "shop-user-42",
    }
    hits = personal_data_hits(leaked, ("shop-user-42",), names=True)
    assert hits == {"phone", "name", "id_number", "needle:shop-user-42"}
