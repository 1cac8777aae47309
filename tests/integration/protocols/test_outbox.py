"""The outbox against real databases and a real receiver on loopback: down, up, exactly once."""

from __future__ import annotations

import random
import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import Engine, select, text

from exitright.clock import FixedClock
from exitright.ledger import service as ledger
from exitright.ledger import signing
from exitright.protocols import notices, outbox, push
from exitright.protocols import set as sets
from exitright.protocols.config import RecipientConfig
from exitright.protocols.jwks import StaticKeys
from exitright.protocols.outbox import OUTBOX, enqueue_account_disabled, enqueue_account_purged
from exitright.protocols.reference_receiver import JtiStore, ReferenceReceiver, create_app
from tests.conftest import free_port
from tests.integration.protocols.conftest import ISSUER, TRANSMITTER, Loopback, personal_data_in

PHONE = "13800138000"
EMAIL = "li.lei@example.com"
POLICY = push.RetryPolicy(timedelta(seconds=30), timedelta(hours=1), max_attempts=5)


def _recipient(url: str, name: str = "couriers", **extra: Any) -> RecipientConfig:
    return RecipientConfig(name=name, endpoint=f"{url}/events", ack_deadline_hours=24, **extra)


def _enqueue(
    engine: Engine,
    clock: FixedClock,
    recipients: list[RecipientConfig],
    request_id: str = "req_1",
    ids: dict[str, str] | None = None,
) -> list[str]:
    with engine.begin() as conn:
        return enqueue_account_purged(
            conn,
            clock,
            request_id,
            "sp_subject",
            recipients,
            ids or {r.name: f"ref-{r.name}" for r in recipients},
            transmitter=TRANSMITTER,
        )


def _receiver(
    engine: Engine, deleted: list[str], store: JtiStore, audience: str
) -> ReferenceReceiver:
    with engine.connect() as conn:
        jwks = signing.jwks(conn)
    return ReferenceReceiver(
        issuer=ISSUER,
        audience=audience,
        keys=StaticKeys(jwks),
        on_delete=lambda event: deleted.append(event.jti),
        store=store,
    )


def _deliver(engine: Engine, clock: FixedClock, worker: str = "w1") -> push.Report:
    with httpx.Client() as client:
        return push.deliver_due(
            engine, clock, TRANSMITTER, client, worker=worker, policy=POLICY, rng=random.Random(7)
        )


def _state(engine: Engine, jti: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(OUTBOX).where(OUTBOX.c.jti == jti)).one()


def _ledger_events(engine: Engine, jti: str) -> list[str]:
    with engine.connect() as conn:
        return [e.event for e in ledger.entries(conn) if e.data.get("jti") == jti]


def test_enqueue_signs_one_set_per_recipient_and_is_idempotent_per_request(
    engine: Engine, clock: FixedClock
) -> None:
    """Each recipient gets a notice and a ledger entry; running the step again adds nothing."""
    recipients = [
        _recipient("http://127.0.0.1:9", "couriers"),
        _recipient("http://127.0.0.1:9", "merchants"),
    ]
    first = _enqueue(engine, clock, recipients)
    again = _enqueue(engine, clock, recipients)
    assert first == again and len(set(first)) == 2
    with engine.connect() as conn:
        queued = [e for e in ledger.entries(conn) if e.event == outbox.QUEUED]
        jwks = signing.jwks(conn)
        row = conn.execute(select(OUTBOX).where(OUTBOX.c.jti == first[0])).one()
    assert [e.data["recipient"] for e in queued] == ["couriers", "merchants"]
    assert all(e.subject == "sp_subject" and e.request_id == "req_1" for e in queued)
    token = outbox.open_token(TRANSMITTER.body_key, row.jti, row.token_enc)
    event = sets.verify(token, signing.key_set(jwks), issuer=ISSUER, audience=row.audience)
    assert (event.name, event.jti, event.txn) == ("account-purged", first[0], "req_1")
    assert event.sub_id == {"format": "opaque", "id": "ref-couriers"}
    assert ledger.verify_ledger(engine).ok


def test_a_recipient_that_is_down_gets_its_event_after_it_comes_back_exactly_once(
    engine: Engine, engine_url: str, clock: FixedClock, tmp_path: Any
) -> None:
    """Refused connections are retried with backoff that survives a restart; one deletion."""
    port = free_port()
    recipient = _recipient(f"http://127.0.0.1:{port}")
    (jti,) = _enqueue(engine, clock, [recipient])
    report = _deliver(engine, clock)
    assert (report.claimed, report.retried) == (1, 1)
    row = _state(engine, jti)
    assert row.state == "pending" and row.attempts == 1
    assert row.last_error == "ConnectError"
    assert _deliver(engine, clock).claimed == 0  # backoff: not due yet

    # The engine restarts (a new process would read the same row) and the recipient comes back.
    from exitright.db.engine import make_engine

    restarted = make_engine(engine_url)
    deleted: list[str] = []
    receiver = _receiver(restarted, deleted, JtiStore(tmp_path / "seen.db"), recipient.aud)
    try:
        with Loopback(create_app(receiver), port):
            clock.advance(timedelta(minutes=2))
            assert _deliver(restarted, clock).acknowledged == 1
            clock.advance(timedelta(hours=2))
            assert _deliver(restarted, clock).claimed == 0
        row = _state(restarted, jti)
        assert row.state == "acknowledged" and row.token_enc is None
        assert deleted == [jti]
        assert _ledger_events(restarted, jti) == [outbox.QUEUED, outbox.ACKNOWLEDGED]
    finally:
        restarted.dispose()


def test_an_acknowledgement_lost_in_a_crash_does_not_delete_twice(
    engine: Engine, clock: FixedClock
) -> None:
    """We crash after the recipient's 202 and before recording it: the resend is deduplicated."""
    deleted: list[str] = []
    with Loopback(FastAPI()) as server:
        recipient = _recipient(server.url)
        (jti,) = _enqueue(engine, clock, [recipient])
        server.app = create_app(_receiver(engine, deleted, JtiStore(), recipient.aud))
        server.stop()
        server.start()
        claims = push.claim_due(engine, clock, "doomed", TRANSMITTER)
        with httpx.Client() as client:
            outcome = push.post(client, claims[0], clock.now())
        assert outcome.kind == "acknowledged"  # …and the worker dies before recording it.
        assert _deliver(engine, clock).claimed == 0  # the lease holds
        clock.advance(push.LEASE + timedelta(seconds=1))
        assert _deliver(engine, clock, "w2").acknowledged == 1
    assert deleted == [jti]
    assert _ledger_events(engine, jti).count(outbox.ACKNOWLEDGED) == 1


def test_a_400_rejection_is_recorded_with_its_err_and_not_retried(
    engine: Engine, clock: FixedClock
) -> None:
    """A receiver expecting another audience answers invalid_audience; we stop there."""
    deleted: list[str] = []
    with Loopback(FastAPI()) as server:
        recipient = _recipient(server.url)
        (jti,) = _enqueue(engine, clock, [recipient])
        server.app = create_app(_receiver(engine, deleted, JtiStore(), "https://not-this-aud"))
        server.stop()
        server.start()
        assert _deliver(engine, clock).rejected == 1
        clock.advance(timedelta(days=3))
        assert _deliver(engine, clock).claimed == 0
    row = _state(engine, jti)
    assert (row.state, row.err, row.token_enc) == ("rejected", "invalid_audience", None)
    assert deleted == []
    assert _ledger_events(engine, jti) == [outbox.QUEUED, outbox.REJECTED]


def test_a_receiver_answering_503_for_a_while_gets_the_event_when_it_recovers(
    engine: Engine, clock: FixedClock
) -> None:
    """Retry-After is honoured; the 202 after the outage settles the notice."""
    deleted: list[str] = []
    answers = {"left": 2}
    with Loopback(FastAPI()) as server:
        recipient = _recipient(server.url)
        (jti,) = _enqueue(engine, clock, [recipient])
        real = create_app(_receiver(engine, deleted, JtiStore(), recipient.aud))
        flaky = FastAPI()

        @flaky.post("/events")
        async def events(request: Request) -> Response:
            if answers["left"] > 0:
                answers["left"] -= 1
                return Response(status_code=503, headers={"Retry-After": "600"})
            body = await request.body()
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=real), base_url="http://r"
            ) as inner:
                r = await inner.post(
                    "/events", content=body, headers={"content-type": sets.MEDIA_TYPE}
                )
            return Response(status_code=r.status_code, content=r.content)

        server.app = flaky
        server.stop()
        server.start()
        assert _deliver(engine, clock).retried == 1
        assert aware_delta(_state(engine, jti).next_attempt_at, clock) >= timedelta(seconds=600)
        clock.advance(timedelta(seconds=601))
        assert _deliver(engine, clock).retried == 1
        clock.advance(timedelta(hours=1))
        assert _deliver(engine, clock).acknowledged == 1
    assert deleted == [jti]
    with engine.connect() as conn:
        outcomes = conn.execute(
            text("SELECT outcome, http_status FROM security_event_attempts ORDER BY id")
        ).all()
    assert [tuple(o) for o in outcomes] == [("retry", 503), ("retry", 503), ("acknowledged", 202)]


def aware_delta(at: Any, clock: FixedClock) -> timedelta:
    """How far ``at`` (as stored) lies after the clock."""
    from exitright.protocols.models import aware

    value = aware(at)
    assert value is not None
    return value - clock.now()


def test_a_silent_recipient_is_given_up_on_escalated_once_and_can_be_rearmed(
    engine: Engine, clock: FixedClock
) -> None:
    """After the last attempt it is failed; past its deadline escalated, once, in the ledger."""
    recipient = _recipient(f"http://127.0.0.1:{free_port()}")
    (jti,) = _enqueue(engine, clock, [recipient])
    for _ in range(POLICY.max_attempts):
        _deliver(engine, clock)
        clock.advance(timedelta(hours=2))
    row = _state(engine, jti)
    assert row.state == "failed" and row.attempts == POLICY.max_attempts
    assert row.token_enc is not None  # kept (encrypted) so that it can be sent again
    clock.advance(timedelta(days=1))
    assert _deliver(engine, clock).escalated == 1
    assert _deliver(engine, clock).escalated == 0
    assert _ledger_events(engine, jti).count(outbox.ESCALATED) == 1
    assert _ledger_events(engine, jti).count(outbox.FAILED) == 1
    with engine.begin() as conn:
        assert outbox.rearm(conn, clock, jti)
        (status,) = notices.status(conn)
    assert (status.pending, status.escalated) == (1, 1)


def test_two_workers_never_hold_the_same_notice(engine: Engine, clock: FixedClock) -> None:
    """A claimed notice is leased: the second worker finds nothing until the lease expires."""
    _enqueue(engine, clock, [_recipient("http://127.0.0.1:9")])
    assert len(push.claim_due(engine, clock, "w1", TRANSMITTER)) == 1
    assert push.claim_due(engine, clock, "w2", TRANSMITTER) == []


def test_cooling_off_notices_go_only_to_recipients_that_asked_for_them(
    engine: Engine, clock: FixedClock
) -> None:
    """account-disabled is sent where disable_on_cooling_off is set, and nowhere else."""
    wants = _recipient("http://127.0.0.1:9", "couriers", disable_on_cooling_off=True)
    plain = _recipient("http://127.0.0.1:9", "merchants")
    with engine.begin() as conn:
        jtis = enqueue_account_disabled(
            conn,
            clock,
            "req_9",
            "sp_s",
            [wants, plain],
            {"couriers": "c", "merchants": "m"},
            transmitter=TRANSMITTER,
        )
        rows = conn.execute(select(OUTBOX.c.recipient, OUTBOX.c.event_type)).all()
    assert len(jtis) == 1
    assert [tuple(r) for r in rows] == [("couriers", "account-disabled")]


def test_rows_and_ledger_hold_no_phone_or_email_even_when_the_set_carries_one(
    engine: Engine, clock: FixedClock
) -> None:
    """A recipient known only by phone or e-mail gets it in the SET; nothing stored shows it."""
    recipients = [
        _recipient("http://127.0.0.1:9", "couriers", subject_format="phone_number"),
        _recipient("http://127.0.0.1:9", "merchants", subject_format="email"),
    ]
    jtis = _enqueue(engine, clock, recipients, ids={"phone_number": PHONE, "email": EMAIL})
    with engine.connect() as conn:
        rows = conn.execute(select(OUTBOX).order_by(OUTBOX.c.recipient)).all()
    subjects = {
        r.recipient: sets.peek(outbox.open_token(TRANSMITTER.body_key, r.jti, r.token_enc))[1][
            "sub_id"
        ]
        for r in rows
    }
    assert subjects["couriers"] == {"format": "phone_number", "phone_number": "+86" + PHONE}
    assert subjects["merchants"] == {"format": "email", "email": EMAIL}
    assert personal_data_in(engine, needles=(PHONE, EMAIL, "li.lei")) == []
    with engine.begin() as conn:
        for jti in jtis:
            outbox.acknowledge(conn, clock, jti)
    assert personal_data_in(engine, needles=(PHONE, EMAIL, "li.lei")) == []


def test_a_recipient_without_its_identifier_fails_loudly_and_writes_nothing(
    engine: Engine, clock: FixedClock
) -> None:
    """A missing opaque id is a programming error: the caller's transaction rolls back."""
    with pytest.raises(outbox.MissingSubjectIdError, match="couriers"):
        _enqueue(engine, clock, [_recipient("http://127.0.0.1:9")], ids={"other": "x"})
    with engine.connect() as conn:
        assert conn.execute(select(OUTBOX.c.jti)).all() == []


@pytest.mark.slow
def test_parallel_delivery_workers_settle_each_notice_exactly_once(
    engine: Engine, clock: FixedClock
) -> None:
    """Three workers at once over twenty notices: twenty deletions, twenty acknowledgements."""
    deleted: list[str] = []
    with Loopback(FastAPI()) as server:
        recipient = _recipient(server.url)
        jtis = [_enqueue(engine, clock, [recipient], f"req_{i}")[0] for i in range(20)]
        server.app = create_app(_receiver(engine, deleted, JtiStore(), recipient.aud))
        server.stop()
        server.start()
        workers = [
            threading.Thread(target=_deliver_some, args=(engine, clock, f"w{i}")) for i in range(3)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
    assert sorted(deleted) == sorted(jtis)
    with engine.connect() as conn:
        acks = [e.data["jti"] for e in ledger.entries(conn) if e.event == outbox.ACKNOWLEDGED]
    assert sorted(acks) == sorted(jtis)


def _deliver_some(engine: Engine, clock: FixedClock, worker: str) -> None:
    with httpx.Client() as client:
        for _ in range(5):
            push.deliver_due(engine, clock, TRANSMITTER, client, worker=worker, limit=3)
