"""Poll delivery (RFC 8936): hand out, hand out again until acknowledged, record refusals."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from sqlalchemy import Engine, select

from exitright.clock import FixedClock, SystemClock
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.ledger import service as ledger
from exitright.protocols import outbox, poll
from exitright.protocols import set as sets
from exitright.protocols.config import RecipientConfig, Transmitter
from exitright.protocols.outbox import OUTBOX, enqueue_account_purged
from tests.conftest import LiveServer
from tests.integration.protocols.conftest import TRANSMITTER

MERCHANTS = RecipientConfig(name="merchants", delivery="poll")


def _enqueue(
    engine: Engine, clock: Any, request_ids: list[str], transmitter: Transmitter = TRANSMITTER
) -> list[str]:
    jtis: list[str] = []
    with engine.begin() as conn:
        for request_id in request_ids:
            jtis += enqueue_account_purged(
                conn,
                clock,
                request_id,
                "sp_s",
                [MERCHANTS],
                {"merchants": f"m-{request_id}"},
                transmitter=transmitter,
            )
    return jtis


def _poll(engine: Engine, clock: FixedClock, **body: Any) -> poll.PollResult:
    with engine.begin() as conn:
        return poll.poll(
            conn, clock, "merchants", poll.PollRequest.model_validate(body), TRANSMITTER
        )


def test_unacknowledged_sets_come_again_and_acknowledged_ones_never(
    engine: Engine, clock: FixedClock
) -> None:
    """maxEvents bounds a batch; moreAvailable says so; an ack settles exactly once."""
    jtis = _enqueue(engine, clock, ["r1", "r2", "r3"])
    first = _poll(engine, clock, maxEvents=2, returnImmediately=True)
    assert len(first.sets) == 2 and first.more_available
    assert first.body()["moreAvailable"] is True
    again = _poll(engine, clock, maxEvents=2, returnImmediately=True)
    assert again.sets.keys() == first.sets.keys()
    acked = _poll(engine, clock, ack=list(first.sets), maxEvents=10, returnImmediately=True)
    assert acked.acknowledged == 2
    assert list(acked.sets) == [j for j in jtis if j not in first.sets]
    assert acked.body() == {"sets": acked.sets}
    repeat = _poll(engine, clock, ack=list(first.sets), maxEvents=0)
    assert repeat.acknowledged == 0 and repeat.sets == {}
    with engine.connect() as conn:
        acks = [e for e in ledger.entries(conn) if e.event == outbox.ACKNOWLEDGED]
    assert sorted(e.data["jti"] for e in acks) == sorted(first.sets)
    assert all(e.data["via"] == "poll" for e in acks)


def test_set_errs_are_recorded_as_rejections(engine: Engine, clock: FixedClock) -> None:
    """A recipient refusing a SET in setErrs gets it recorded, redacted, and not handed out."""
    (jti,) = _enqueue(engine, clock, ["r1"])
    result = _poll(
        engine,
        clock,
        maxEvents=5,
        setErrs={jti: {"err": "invalid_key", "description": "no match for 13800138000"}},
    )
    assert result.rejected == 1 and result.sets == {}
    with engine.connect() as conn:
        row = conn.execute(select(OUTBOX).where(OUTBOX.c.jti == jti)).one()
    assert (row.state, row.err) == ("rejected", "invalid_key")
    assert "13800138000" not in row.err_description


def test_another_recipient_cannot_acknowledge_or_fetch_my_sets(
    engine: Engine, clock: FixedClock
) -> None:
    """Acks are scoped to the authenticated recipient."""
    (jti,) = _enqueue(engine, clock, ["r1"])
    with engine.begin() as conn:
        other = poll.poll(conn, clock, "couriers", poll.PollRequest(ack=[jti]), TRANSMITTER)
    assert other.acknowledged == 0 and other.sets == {}
    assert list(_poll(engine, clock, returnImmediately=True).sets) == [jti]


def test_the_poll_endpoint_authenticates_each_recipient_by_its_own_token(
    live_server: LiveServer, settings: Settings
) -> None:
    """Over HTTP: 401 without the token; with it, SETs that verify against our JWKS."""
    engine = make_engine(settings.engine_url)
    transmitter = Transmitter.from_settings(settings)
    try:
        (jti,) = _enqueue(engine, SystemClock(), ["r1"], transmitter)
        with engine.begin() as conn:
            token = poll.issue_token(conn, SystemClock(), "merchants")
            stored = conn.execute(select(poll.TOKENS.c.token_hash)).scalar_one()
    finally:
        engine.dispose()
    assert token not in stored
    url = f"{live_server.url}/v1/events/poll"
    denied = httpx.post(url, json={"returnImmediately": True})
    assert denied.status_code == 401
    wrong = httpx.post(url, json={}, headers={"Authorization": "Bearer ep_nope"})
    assert wrong.status_code == 401
    auth = {"Authorization": f"Bearer {token}"}
    bad = httpx.post(url, content=b"[1", headers={**auth, "content-type": "application/json"})
    assert bad.status_code == 400 and bad.json()["err"] == "invalid_request"
    got = httpx.post(url, json={"maxEvents": 10, "returnImmediately": True}, headers=auth)
    assert got.status_code == 200
    body = got.json()
    assert list(body["sets"]) == [jti] and "moreAvailable" not in body
    jwks = httpx.get(f"{live_server.url}/.well-known/jwks.json").json()
    from exitright.ledger.signing import key_set

    event = sets.verify(
        body["sets"][jti], key_set(jwks), issuer=transmitter.issuer, audience="merchants"
    )
    assert event.name == "account-purged"
    done = httpx.post(url, json={"ack": [jti], "returnImmediately": True}, headers=auth)
    assert done.json() == {"sets": {}}


def test_a_long_poll_returns_as_soon_as_a_set_is_queued(
    live_server: LiveServer, settings: Settings
) -> None:
    """returnImmediately false: the request is held until something arrives for the recipient."""
    engine = make_engine(settings.engine_url)
    try:
        with engine.begin() as conn:
            token = poll.issue_token(conn, SystemClock(), "merchants")
        answer: dict[str, Any] = {}

        def long_poll() -> None:
            answer["r"] = httpx.post(
                f"{live_server.url}/v1/events/poll",
                json={"returnImmediately": False},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )

        waiter = threading.Thread(target=long_poll)
        started = time.monotonic()
        waiter.start()
        time.sleep(1.0)
        (jti,) = _enqueue(engine, SystemClock(), ["late"], Transmitter.from_settings(settings))
        waiter.join(timeout=30)
    finally:
        engine.dispose()
    assert list(answer["r"].json()["sets"]) == [jti]
    assert 1.0 <= time.monotonic() - started < 8
