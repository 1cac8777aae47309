"""The default demo: the demo courier is mounted in the same server and told by push.

As ``exitright demo up`` runs it — one process, the in-process worker, the courier URL pointing
at ``/demo/courier/events`` — a cancellation completes, the worker pushes ``account-purged`` over
loopback, the mounted reference receiver checks it against our JWKS and deletes its copy (a
journal line with the opaque id), and ``GET /v1/requests/{id}`` shows every recipient's answer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc.jwk import OKPKey

from exitright.clock import SystemClock
from exitright.config import Settings
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.demo.seed import seed_platform
from exitright.pii.detect import kinds
from exitright.protocols import demo_courier
from exitright.protocols import set as sets
from exitright.web import auth, create_app
from tests.conftest import free_port
from tests.integration.protocols.conftest import Loopback
from tests.integration.requests.conftest import platform_phones


@dataclass
class Demo:
    """The running demo and a platform API key."""

    url: str
    settings: Settings
    headers: dict[str, str]


@pytest.fixture
def demo(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Demo]:
    """The demo as `exitright demo up` serves it, with no cooling-off, on a port known ahead."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    configured = settings.model_copy(
        update={"base_url": url, "worker_in_process": True, "cooling_off_days": 0}
    )
    monkeypatch.setenv("EXITRIGHT_DEMO_COURIER_URL", f"{url}/demo/courier/events")
    engine = make_engine(configured.demo_url)
    try:
        seed_platform(engine, users=15, seed=3, uploads_dir=configured.data_dir / "uploads")
    finally:
        engine.dispose()
    migrate.upgrade(configured.engine_url)
    app = create_app(configured)
    scopes = ["requests:write", "requests:read", "requests:verify"]
    token = auth.create_key(app.state.engine, SystemClock(), "shop", scopes)[1]
    with Loopback(app, port, lifespan="on"):
        yield Demo(url, configured, {"Authorization": f"Bearer {token}"})


def _until(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)
    return found


def test_the_demo_courier_receives_by_push_and_deletes_its_copy(demo: Demo) -> None:
    """Completed → account-purged pushed → acknowledged; the API lists each recipient's answer."""
    phone = platform_phones(demo.settings, 1)[0]
    created = httpx.post(
        f"{demo.url}/v1/requests",
        json={"kind": "cancel", "identifiers": {"phone": phone}},
        headers=demo.headers,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    verified = httpx.post(
        f"{demo.url}/v1/requests/{request_id}/verify", headers=demo.headers, timeout=30
    )
    assert verified.status_code == 200, verified.text

    def courier_acknowledged() -> dict[str, Any] | None:
        body: dict[str, Any] = httpx.get(
            f"{demo.url}/v1/requests/{request_id}", headers=demo.headers, timeout=30
        ).json()
        told = {(n["recipient"], n["event"]): n for n in body["recipients"]}
        courier = told.get(("couriers", "account-purged"))
        return body if courier and courier["state"] == "acknowledged" else None

    body = _until(courier_acknowledged)
    assert body["state"] == "completed"
    listed = {n["recipient"]: n for n in body["recipients"] if n["event"] == "account-purged"}
    assert {n: (r["delivery"], r["state"]) for n, r in listed.items()} == {
        "couriers": ("push", "acknowledged"),
        "merchants": ("poll", "pending"),
        "payment providers": ("poll", "pending"),
    }
    acked_at = listed["couriers"]["at"]
    assert acked_at >= body["timeline"][-1]["at"]  # answered after the certificate was signed

    journal = demo_courier.journal_path(demo.settings)
    lines = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert [(e["event"], e["jti"], e["txn"]) for e in lines] == [
        ("account-purged", listed["couriers"]["jti"], request_id)
    ]
    assert lines[0]["sub_id"]["format"] == "opaque"
    assert phone not in journal.read_text(encoding="utf-8")
    assert not kinds(json.dumps(lines[0]["sub_id"]))
    health = httpx.get(f"{demo.url}/demo/courier/healthz", timeout=30).json()
    # It also heard account-disabled when the (zero-day) cooling-off started: one jti each.
    courier_jtis = {n["jti"] for n in body["recipients"] if n["recipient"] == "couriers"}
    assert health == {"status": "ok", "accepted": len(courier_jtis)}


def test_the_demo_courier_refuses_a_set_we_did_not_sign(demo: Demo) -> None:
    """Anyone may reach the mount, but only our signature is accepted (RFC 8935 400)."""
    impostor = OKPKey.generate_key("Ed25519", parameters={"kid": "x", "alg": "Ed25519"})
    claims = sets.build_claims(
        issuer=demo.url,
        audience=f"{demo.url}/demo/courier/events",
        event="account-purged",
        sub_id=sets.subject_id("opaque", "someone"),
        jti="forged-1",
        iat=int(SystemClock().now().timestamp()),
    )
    answer = httpx.post(
        f"{demo.url}/demo/courier/events",
        content=sets.sign(claims, impostor).encode(),
        headers={"Content-Type": sets.MEDIA_TYPE},
        timeout=30,
    )
    assert answer.status_code == 400 and answer.json()["err"] in ("invalid_key", "invalid_request")
    assert httpx.get(f"{demo.url}/demo/courier/healthz", timeout=30).json()["accepted"] == 0
    assert not demo_courier.journal_path(demo.settings).exists()
