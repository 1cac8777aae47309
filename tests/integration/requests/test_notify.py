"""Third parties told on completion, over real HTTP: the demo courier is a reference receiver.

submit → verify → cooling-off → the worker completes the request and, in the same rounds, pushes
the ``account-purged`` SET (RFC 8417/8935) the completion queued; the certificate names every
recipient with its jti. A recipient that is down never holds the request up: it gets the SET on
a later round, exactly once by jti, and is escalated if it stays silent past its deadline.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from exitright import bootstrap, worker
from exitright.cancellation import services
from exitright.cancellation.commands import RevokeRequest, VerifyRequest
from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.cancellation.model import Actor, RequestKind, State
from exitright.cancellation.ports import Identifiers
from exitright.clock import FixedClock, SystemClock
from exitright.config import Settings
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.demo.schema import users
from exitright.keys import load_key
from exitright.ledger import certificates, service, signing
from exitright.ledger.models import LedgerEntry
from exitright.protocols import notices, outbox
from exitright.protocols import set as sets
from exitright.protocols.config import ProtocolsConfig, RetrySettings, Transmitter
from exitright.protocols.jwks import JwksCache
from exitright.protocols.outbox import OUTBOX
from exitright.protocols.reference_receiver import JtiStore, ReferenceReceiver, create_app
from exitright.web import auth
from tests.conftest import LiveServer, free_port
from tests.integration.protocols.conftest import Loopback, personal_data_in
from tests.integration.requests.conftest import platform_phones, verified_cancellation

# Retries after a refused push come within a second here (the default waits 30 s and more).
FAST = ProtocolsConfig(retry=RetrySettings(base_seconds=0.2, cap_seconds=0.5, max_attempts=40))
PURGED = "account-purged"


@dataclass
class Courier:
    """The demo courier: a reference receiver on a loopback port, started and stopped at will."""

    port: int
    received: list[tuple[str, str, dict[str, Any], str | None]] = field(default_factory=list)
    server: Loopback | None = None

    @property
    def url(self) -> str:
        """Its push endpoint, as the demo map names it (EXITRIGHT_DEMO_COURIER_URL)."""
        return f"http://127.0.0.1:{self.port}/events"

    def start(self, exitright_url: str, issuer: str) -> None:
        """Listen, verifying SETs against our published JWKS."""
        lock = threading.Lock()

        def keep(event: sets.SecurityEvent) -> None:
            with lock:
                self.received.append((event.name, event.jti, dict(event.sub_id or {}), event.txn))

        receiver = ReferenceReceiver(
            issuer=issuer,
            audience=self.url,
            keys=JwksCache(f"{exitright_url}/.well-known/jwks.json", min_refetch=0.0),
            on_delete=keep,
            on_disable=keep,
            on_enable=keep,
            store=JtiStore(),
        )
        self.server = Loopback(create_app(receiver), self.port).start()

    def stop(self) -> None:
        """Refuse connections until started again."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    def events(self, name: str | None = None) -> list[tuple[str, str, dict[str, Any], str | None]]:
        """What it acted on (each jti once), optionally of one event type."""
        return [e for e in self.received if name is None or e[0] == name]


@dataclass
class Shop:
    """ExitRight over real HTTP with its workflow runtime, a platform key and the courier."""

    url: str
    settings: Settings
    engine: Engine
    runtime: bootstrap.Runtime
    token: str
    courier: Courier

    def auth(self) -> dict[str, str]:
        """The platform back end's Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}

    def submit_and_verify(self, phone: str) -> str:
        """A cancellation for ``phone`` through /v1/requests, verified by the platform."""
        created = httpx.post(
            f"{self.url}/v1/requests",
            json={"kind": "cancel", "identifiers": {"phone": phone}},
            headers=self.auth(),
            timeout=30,
        )
        assert created.status_code == 201, created.text
        request_id = str(created.json()["id"])
        verified = httpx.post(
            f"{self.url}/v1/requests/{request_id}/verify", headers=self.auth(), timeout=30
        )
        assert verified.status_code == 200, verified.text
        return request_id

    def request(self, request_id: str) -> dict[str, Any]:
        """GET /v1/requests/{id}."""
        body: dict[str, Any] = httpx.get(
            f"{self.url}/v1/requests/{request_id}", headers=self.auth(), timeout=30
        ).json()
        return body

    def certificate_claims(self, request_id: str) -> dict[str, Any]:
        """The request's certificate, checked against /.well-known/jwks.json."""
        r = httpx.get(
            f"{self.url}/v1/requests/{request_id}/certificate", headers=self.auth(), timeout=30
        )
        assert r.status_code == 200, r.text
        jwks = httpx.get(f"{self.url}/.well-known/jwks.json", timeout=30).json()
        check = certificates.verify(r.text, signing.key_set(jwks))
        assert check.ok, check.reason
        return dict(check.claims or {})

    def notices(self, request_id: str) -> list[notices.Notice]:
        """The outbox rows of the request."""
        with self.engine.connect() as conn:
            return notices.notices_for_request(conn, request_id)

    def ledger(self, request_id: str) -> list[tuple[str, dict[str, Any]]]:
        """(event, data) of the request's ledger entries, in order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(LedgerEntry.event, LedgerEntry.data)
                .where(LedgerEntry.request_id == request_id)
                .order_by(LedgerEntry.seq)
            ).all()
        return [(e, dict(d)) for e, d in rows]


def _shop(
    settings: Settings,
    courier: Courier,
    *,
    cooling_off: CoolingOffPolicy,
    protocols: ProtocolsConfig = FAST,
) -> tuple[LiveServer, Shop]:
    server = LiveServer(settings)
    app = cast(FastAPI, server.server.config.app)
    runtime = bootstrap.build(
        settings, engine=app.state.engine, cooling_off=cooling_off, protocols=protocols
    )
    app.state.requests_runtime = runtime
    scopes = ["requests:write", "requests:read", "requests:verify"]
    token = auth.create_key(app.state.engine, SystemClock(), "shop", scopes)[1]
    return server, Shop(server.url, settings, app.state.engine, runtime, token, courier)


@pytest.fixture
def courier(monkeypatch: pytest.MonkeyPatch, platform_settings: Settings) -> Iterator[Courier]:
    """The demo courier's port, named in the demo map through EXITRIGHT_DEMO_COURIER_URL."""
    handle = Courier(free_port())
    monkeypatch.setenv("EXITRIGHT_DEMO_COURIER_URL", handle.url)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def shop(platform_settings: Settings, courier: Courier) -> Iterator[Shop]:
    """ExitRight with a cooling-off of 0 days and no in-process worker (the test runs rounds)."""
    server, handle = _shop(platform_settings, courier, cooling_off=CoolingOffPolicy(0))
    with server:
        try:
            yield handle
        finally:
            handle.runtime.close()


def _accounts(settings: Settings, n: int) -> list[tuple[int, str]]:
    """(user id, phone) of ``n`` seeded accounts that have a phone."""
    demo = make_engine(settings.demo_url)
    try:
        with demo.connect() as conn:
            rows = conn.execute(
                select(users.c.id, users.c.phone)
                .where(users.c.phone.is_not(None))
                .order_by(users.c.id)
                .limit(n)
            ).all()
    finally:
        demo.dispose()
    return [(int(r.id), str(r.phone)) for r in rows]


def _until(check: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _opened_sub_id(shop: Shop, jti: str) -> dict[str, Any]:
    """The sub_id of a notice still sealed in the outbox (only before it is answered)."""
    with shop.engine.connect() as conn:
        blob = conn.execute(select(OUTBOX.c.token_enc).where(OUTBOX.c.jti == jti)).scalar_one()
    body_key = Transmitter.from_settings(shop.settings, FAST).body_key
    token = outbox.open_token(body_key, jti, bytes(blob))
    _header, claims = sets.peek(token)
    return dict(claims["sub_id"])


def test_the_courier_gets_one_account_purged_and_the_certificate_lists_it(shop: Shop) -> None:
    """The full flow: one SET by jti, acknowledged in the outbox and the ledger, in the cert."""
    shop.courier.start(shop.url, shop.settings.public_url)
    phone = platform_phones(shop.settings, 1)[0]
    request_id = shop.submit_and_verify(phone)

    worker.run(shop.runtime, once=True)  # `exitright worker --once`: requests, then SETs

    body = shop.request(request_id)
    assert body["state"] == "completed", body
    purged = shop.courier.events(PURGED)
    assert len(purged) == 1
    _name, jti, sub_id, txn = purged[0]
    assert txn == request_id
    expected = bootstrap.recipient_subject_id(
        load_key(shop.settings, "pseudonym"), "couriers", body["subject"]
    )
    assert sub_id == {"format": "opaque", "id": expected}
    assert shop.courier.events() == purged  # no account-disabled: the cooling-off lasted 0 days

    told = {(n.recipient, n.event): n for n in shop.notices(request_id)}
    assert told["couriers", PURGED].jti == jti
    assert told["couriers", PURGED].state == "acknowledged"
    assert told["couriers", PURGED].delivery == "push"
    # Merchants and payment providers poll for theirs: queued, waiting for them.
    assert {(r, n.delivery, n.state) for (r, _e), n in told.items() if r != "couriers"} == {
        ("merchants", "poll", "pending"),
        ("payment providers", "poll", "pending"),
    }

    entries = shop.ledger(request_id)
    events = [e for e, _d in entries]
    queued = [d for e, d in entries if e == "recipient.notice.queued"]
    acked = [d for e, d in entries if e == "recipient.notice.acknowledged"]
    assert {d["recipient"] for d in queued} == {"couriers", "merchants", "payment providers"}
    assert [d["jti"] for d in queued if d["recipient"] == "couriers"] == [jti]
    assert [(d["recipient"], d["jti"], d["event"]) for d in acked] == [("couriers", jti, PURGED)]
    # The notices are queued in the completing transaction, before the completion entry.
    assert events.index("request.complete") > max(
        i for i, e in enumerate(events) if e == "recipient.notice.queued"
    )

    claims = shop.certificate_claims(request_id)
    listed = {c["recipient"]: c for c in claims["recipients"]}
    assert set(listed) == {"couriers", "merchants", "payment providers"}
    assert listed["couriers"] == {
        "recipient": "couriers", "event": PURGED, "jti": jti, "state": "pending",
        "delivery": "push",
    }  # fmt: skip  # its state when signed; the acknowledgement is in the ledger by jti
    with shop.engine.connect() as conn:
        entries_now = service.for_request(conn, request_id)
    completion = next(e for e in entries_now if e.event == "request.complete")
    assert claims["ledger_entry"] == completion.hash

    # Exactly once: later rounds send nothing more.
    assert worker.run_once(shop.runtime, "again") == 0
    assert len(shop.courier.events(PURGED)) == 1
    assert service.verify_ledger(shop.engine).ok
    assert personal_data_in(shop.engine, (phone, phone[-8:])) == []


def test_a_courier_that_is_down_gets_it_later_and_the_request_still_completes(
    shop: Shop,
) -> None:
    """Completion is not held up; the push is retried; past its deadline it is escalated."""
    phone = platform_phones(shop.settings, 1)[0]
    request_id = shop.submit_and_verify(phone)

    worker.run(shop.runtime, once=True)  # the courier refuses the connection

    assert shop.request(request_id)["state"] == "completed"
    courier = next(n for n in shop.notices(request_id) if n.recipient == "couriers")
    # Tried at least once; the FAST policy's next try is due 0.1-0.2 s later, so a slow
    # round of the same run may have tried again (seen once under CI load).
    assert (courier.event, courier.state) == (PURGED, "pending") and courier.attempts >= 1
    listed = {c["recipient"]: c for c in shop.certificate_claims(request_id)["recipients"]}
    assert listed["couriers"]["jti"] == courier.jti and listed["couriers"]["state"] == "pending"
    # Still sealed in the outbox: the SET names the courier's opaque id, never the phone.
    assert _opened_sub_id(shop, courier.jti)["format"] == "opaque"

    # Silent past its 48-hour deadline: escalated once, for an operator to follow up.
    late = FixedClock(SystemClock().now() + timedelta(hours=49))
    with shop.engine.begin() as conn:
        flagged = outbox.escalate_overdue(conn, late)
    assert courier.jti in flagged
    assert any(
        e == "recipient.notice.escalated" and d["jti"] == courier.jti
        for e, d in shop.ledger(request_id)
    )

    # It comes back; a later worker round delivers, once.
    shop.courier.start(shop.url, shop.settings.public_url)

    def delivered() -> bool:
        worker.run_once(shop.runtime, "later")
        return bool(shop.courier.events(PURGED))

    _until(delivered)
    assert [e[1] for e in shop.courier.events(PURGED)] == [courier.jti]
    after = next(n for n in shop.notices(request_id) if n.recipient == "couriers")
    assert after.state == "acknowledged" and after.escalated
    assert [
        d["jti"] for e, d in shop.ledger(request_id) if e == "recipient.notice.acknowledged"
    ] == [courier.jti]
    for _ in range(3):
        worker.run_once(shop.runtime, "after")
    assert len(shop.courier.events(PURGED)) == 1


def test_the_in_process_worker_delivers_without_a_separate_process(
    platform_settings: Settings, courier: Courier
) -> None:
    """`exitright serve` alone: its worker thread completes the request and pushes the SET."""
    settings = platform_settings.model_copy(update={"worker_in_process": True})
    server, shop = _shop(settings, courier, cooling_off=CoolingOffPolicy(0))
    with server:
        try:
            courier.start(shop.url, settings.public_url)
            request_id = shop.submit_and_verify(platform_phones(settings, 1)[0])
            _until(lambda: bool(courier.events(PURGED)), timeout=60)
            assert [e[3] for e in courier.events(PURGED)] == [request_id]
            _until(
                lambda: any(
                    n.recipient == "couriers" and n.state == "acknowledged"
                    for n in shop.notices(request_id)
                )
            )
        finally:
            shop.runtime.close()


def _cooling_shop(
    settings: Settings,
    courier: Courier,
    protocols: ProtocolsConfig,
    cooling_off: CoolingOffPolicy | None = None,
) -> Shop:
    """The workflow alone (no web app of its own): the tests call the use cases."""
    migrate.upgrade(settings.engine_url)
    rt = bootstrap.build(
        settings, cooling_off=cooling_off or CoolingOffPolicy(3), protocols=protocols
    )
    return Shop("", settings, rt.engine, rt, "", courier)


def _open_in_cooling_off(shop: Shop, phone: str) -> str:
    rt = shop.runtime
    request_id = verified_cancellation(rt, phone)
    record = services.advance(services.AdvanceRequest(request_id), rt.uow(), rt.ports)
    assert record.request.state is State.COOLING_OFF
    return request_id


def test_a_revocation_in_cooling_off_undoes_account_disabled(
    live_exitright: str, platform_settings: Settings, courier: Courier
) -> None:
    """account-disabled when cooling-off starts, account-enabled when the user revokes."""
    shop = _cooling_shop(platform_settings, courier, FAST)
    try:
        courier.start(live_exitright, platform_settings.public_url)
        request_id = _open_in_cooling_off(shop, platform_phones(platform_settings, 1)[0])
        assert [(n.recipient, n.event) for n in shop.notices(request_id)] == [
            ("couriers", "account-disabled")
        ]
        worker.deliver_once(shop.runtime, "w")
        assert [(e[0], e[3]) for e in courier.events()] == [("account-disabled", request_id)]

        services.revoke(
            RevokeRequest(request_id, Actor.user()), shop.runtime.uow(), shop.runtime.ports
        )
        worker.deliver_once(shop.runtime, "w")
        assert [e[0] for e in courier.events()] == ["account-disabled", "account-enabled"]
        states = {(n.event, n.state) for n in shop.notices(request_id)}
        assert states == {("account-disabled", "acknowledged"), ("account-enabled", "acknowledged")}
        assert not any(e == PURGED for e, *_ in courier.events())
    finally:
        shop.runtime.close()


def test_account_enabled_is_sent_only_where_account_disabled_was(
    live_exitright: str, platform_settings: Settings, courier: Courier
) -> None:
    """A courier not told account-disabled is not told account-enabled; nor is anyone when the
    request is revoked before its cooling-off."""
    quiet = FAST.model_copy(update={"recipients": {"couriers": {"disable_on_cooling_off": False}}})
    shop = _cooling_shop(platform_settings, courier, quiet)
    try:
        courier.start(live_exitright, platform_settings.public_url)
        first, second = platform_phones(platform_settings, 2)
        request_id = _open_in_cooling_off(shop, first)
        rt = shop.runtime
        services.revoke(RevokeRequest(request_id, Actor.user()), rt.uow(), rt.ports)
        command = services.OpenRequest(
            RequestKind.CANCEL, Identifiers("phone", second), Actor.user()
        )
        early = services.submit(command, rt.uow(), rt.ports).record.request.id
        services.revoke(RevokeRequest(early, Actor.user()), rt.uow(), rt.ports)
        worker.deliver_once(rt, "w")
        assert shop.notices(request_id) == [] and shop.notices(early) == []
        assert courier.events() == []
    finally:
        shop.runtime.close()


def test_a_recipient_that_knows_only_the_phone_gets_it_or_is_recorded_as_not_told(
    platform_settings: Settings, courier: Courier
) -> None:
    """phone_number recipients get the E.164 number of a request made by phone; a request by
    user id cannot name them the subject, so the ledger and the certificate say not_sent."""
    by_phone = FAST.model_copy(
        update={"recipients": {"merchants": {"subject_format": "phone_number"}}}
    )
    shop = _cooling_shop(platform_settings, courier, by_phone, CoolingOffPolicy(0))
    rt = shop.runtime
    try:
        (user_id, _), (_, phone) = _accounts(platform_settings, 2)
        made = services.submit(
            services.OpenRequest(
                RequestKind.CANCEL, Identifiers("user_id", str(user_id)), Actor.user()
            ),
            rt.uow(),
            rt.ports,
        ).record.request.id
        told = services.submit(
            services.OpenRequest(RequestKind.CANCEL, Identifiers("phone", phone), Actor.user()),
            rt.uow(),
            rt.ports,
        ).record.request.id
        for request_id in (made, told):
            services.verify(VerifyRequest(request_id, Actor.system("otp")), rt.uow(), rt.ports)
            record = services.advance(services.AdvanceRequest(request_id), rt.uow(), rt.ports)
            assert record.request.state is State.COMPLETED

        merchant = next(n for n in shop.notices(told) if n.recipient == "merchants")
        assert _opened_sub_id(shop, merchant.jti) == {
            "format": "phone_number", "phone_number": sets.e164(phone)
        }  # fmt: skip

        assert "merchants" not in {n.recipient for n in shop.notices(made)}
        skipped = [d for e, d in shop.ledger(made) if e == "recipient.notice.skipped"]
        assert skipped == [{"recipient": "merchants", "event": PURGED, "reason": "no_identifier"}]
        with rt.uow(readonly=True) as uow:
            stored = uow.requests.get(made)
        assert stored is not None and stored.certificate is not None
        _h, claims = sets.peek(stored.certificate)
        listed = {c["recipient"]: c for c in claims["recipients"]}
        assert listed["merchants"] == {
            "recipient": "merchants", "event": PURGED, "jti": None, "state": "not_sent",
            "delivery": "poll", "err": "no_identifier",
        }  # fmt: skip
        assert listed["couriers"]["state"] == "pending"
    finally:
        rt.close()


@pytest.fixture
def live_exitright(platform_settings: Settings) -> Iterator[str]:
    """ExitRight serving /.well-known/jwks.json for the courier (the tests drive the workflow)."""
    with LiveServer(platform_settings) as server:
        yield server.url


def test_without_a_courier_url_the_demo_courier_polls(platform_settings: Settings) -> None:
    """EXITRIGHT_DEMO_COURIER_URL unset: the demo courier polls, so no extra process is needed."""
    migrate.upgrade(platform_settings.engine_url)
    rt = bootstrap.build(platform_settings, cooling_off=CoolingOffPolicy(0), protocols=FAST)
    try:
        configured = {r.name: r for r in rt.notifier.recipients} if rt.notifier else {}
        assert {n: c.delivery for n, c in configured.items()} == {
            "merchants": "poll", "couriers": "poll", "payment providers": "poll",
        }  # fmt: skip
        assert configured["couriers"].disable_on_cooling_off
        assert configured["couriers"].ack_deadline_hours == 48
    finally:
        rt.close()
