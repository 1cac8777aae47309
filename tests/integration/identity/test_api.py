"""``/v1/identifiers`` over real HTTP: status for other platforms, operator marks, API keys."""

from __future__ import annotations

from typing import cast

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine, text

from exitright.clock import SystemClock
from exitright.web import auth
from tests.conftest import LiveServer

PHONE = "13812345678"


def _engine(server: LiveServer) -> Engine:
    """The live app's engine database."""
    engine: Engine = cast(FastAPI, server.server.config.app).state.engine
    return engine


def _keys(server: LiveServer) -> tuple[dict[str, str], dict[str, str]]:
    """Authorization headers of a reading key and of an admin key."""
    engine = _engine(server)
    reader = auth.create_key(engine, SystemClock(), "other platform", ["requests:read"])[1]
    admin = auth.create_key(engine, SystemClock(), "ops", ["admin"])[1]
    return {"Authorization": f"Bearer {reader}"}, {"Authorization": f"Bearer {admin}"}


def test_an_operator_mark_shows_in_the_status_other_platforms_read(
    live_server: LiveServer,
) -> None:
    """Mark on 2026-03-01: recycled since 2025-11-01, not since 2026-03-01; number masked."""
    reader, admin = _keys(live_server)
    with httpx.Client(base_url=live_server.url) as client:
        marked = client.post(
            "/v1/identifiers/recycled",
            json={"phone": "+86 138 1234 5678", "recycled_on": "2026-03-01"},
            headers=admin,
        )
        assert marked.status_code == 201, marked.text
        assert marked.json()["phone"] == "138****5678"
        before = client.get(
            f"/v1/identifiers/{PHONE}/status", params={"since": "2025-11-01"}, headers=reader
        )
        after = client.get(
            f"/v1/identifiers/{PHONE}/status", params={"since": "2026-03-01"}, headers=reader
        )
    assert before.status_code == 200, before.text
    assert before.json() == {
        "phone": "138****5678",
        "since": "2025-11-01",
        "recycled": True,
        "recycled_on": "2026-03-01",
        "source": "operator",
        "checked": ["marks"],
    }
    assert after.json()["recycled"] is False
    assert PHONE not in marked.text + before.text + after.text


def test_the_api_needs_a_key_and_the_right_scope(live_server: LiveServer) -> None:
    """No key: 401; a reading key cannot mark: 403."""
    reader, _ = _keys(live_server)
    with httpx.Client(base_url=live_server.url) as client:
        anonymous = client.get(f"/v1/identifiers/{PHONE}/status", params={"since": "2026-01-01"})
        forbidden = client.post(
            "/v1/identifiers/recycled",
            json={"phone": PHONE, "recycled_on": "2026-03-01"},
            headers=reader,
        )
    assert anonymous.status_code == 401
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "forbidden"


def test_bad_input_is_a_422_in_both_languages_without_echoing_the_number(
    live_server: LiveServer,
) -> None:
    """A malformed number or date: the error model, never a 500, never the input back."""
    reader, admin = _keys(live_server)
    with httpx.Client(base_url=live_server.url) as client:
        bad_phone = client.get(
            "/v1/identifiers/1381234/status", params={"since": "2026-01-01"}, headers=reader
        )
        bad_date = client.get(
            f"/v1/identifiers/{PHONE}/status", params={"since": "01/03/2026"}, headers=reader
        )
        no_date = client.get(f"/v1/identifiers/{PHONE}/status", headers=reader)
        extra = client.post(
            "/v1/identifiers/recycled",
            json={"phone": PHONE, "recycled_on": "2026-03-01", "name": "x"},
            headers=admin,
        )
    for response in (bad_phone, bad_date, no_date, extra):
        assert response.status_code == 422, response.text
        assert PHONE not in response.text and "1381234" not in response.text
    message = bad_phone.json()["error"]["message"]
    assert set(message) == {"zh-CN", "en"} and "mobile" in message["en"]


def test_marks_are_idempotent_and_hold_no_plain_number(live_server: LiveServer) -> None:
    """The same mark twice is one row; the table holds only keyed hashes."""
    _, admin = _keys(live_server)
    body = {"phone": PHONE, "recycled_on": "2026-03-01", "reference": "ticket-9"}
    with httpx.Client(base_url=live_server.url) as client:
        first = client.post("/v1/identifiers/recycled", json=body, headers=admin).json()
        second = client.post("/v1/identifiers/recycled", json=body, headers=admin).json()
    assert first["id"] == second["id"]
    engine = _engine(live_server)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM identity_recycled_marks")).all()
    assert len(rows) == 1 and PHONE not in str(rows)
