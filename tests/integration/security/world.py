"""A running ExitRight with two subjects, A and B, reached every way a caller can reach it.

Subject A has a request verified in browser A's privacy centre and one submitted through API
key A; subject B the same through browser B and key B. Keys with a single scope each, an admin
key and one signed-in admin-console client per operator role complete the cast. ``secrets`` are
the strings that would give A away in an answer meant for someone else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import httpx
from fastapi import FastAPI

from exitright import bootstrap
from exitright.admin import operators
from exitright.admin.models import Role
from exitright.cancellation import services
from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.clock import SystemClock
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.demo.seed import seed_platform
from exitright.identity import parse_identifier
from exitright.identity.identifiers import mask
from exitright.web import auth
from tests import servers
from tests.conftest import LiveServer
from tests.integration.privacy.conftest import codes, csrf, wait_for_code
from tests.integration.requests.conftest import platform_phones

REDIS_DB = 3  # the demo map's Redis store; other suites use 4, 5, 6, 7, 9, 11 and 13
PASSWORD = "a long test passphrase"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_STATUS = re.compile(r"^/privacy/requests/(req_[a-z2-7]+)$")


@dataclass
class World:
    """The server, its clients and keys, and the ids and secrets of subjects A and B."""

    url: str
    app: FastAPI
    settings: Settings
    runtime: bootstrap.Runtime
    browser_a: httpx.Client
    browser_b: httpx.Client
    anonymous: httpx.Client
    keys: dict[str, str]  # a, b, read, write, verify, admin
    consoles: dict[Role, httpx.Client]
    ids: dict[str, str]  # page_a, page_b, api_a, api_b
    secrets: list[str] = field(default_factory=list)

    def bearer(self, key: str) -> dict[str, str]:
        """The Authorization header of the named key."""
        return {"Authorization": f"Bearer {self.keys[key]}"}

    def leaks(self, response: httpx.Response) -> list[str]:
        """Which of A's secrets the response holds (headers included)."""
        text = response.text + " ".join(f"{k}: {v}" for k, v in response.headers.items())
        return [s for s in self.secrets if s in text]


def _cancel_in_browser(client: httpx.Client, phone: str) -> str:
    """The privacy-centre flow up to the status page; returns the request id."""
    before = len(codes(client))
    page = client.post("/privacy/cancel", data={"csrf_token": csrf(client), "contact": phone})
    assert page.status_code == 200, page.text
    code = wait_for_code(client, before)
    data = {"csrf_token": csrf(client), "contact": phone, "code": code, "confirm": "yes"}
    done = client.post("/privacy/cancel/verify", data=data)
    assert done.status_code == 303, done.text
    found = _STATUS.match(done.headers["location"])
    assert found, done.headers["location"]
    return found.group(1)


def _console(url: str, role: Role) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30, headers={"Accept": "text/html"})
    page = client.get("/admin/sign-in")
    token = _CSRF.search(page.text)
    assert token is not None
    r = client.post(
        "/admin/sign-in",
        data={"name": role.value, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert r.status_code == 303, r.text
    return client


@contextmanager
def running_world(tmp: Path) -> Iterator[World]:
    """Seed a demo shop, serve ExitRight on loopback and set up A and B every way."""
    settings = Settings(
        data_dir=tmp / "var",
        default_language="en",
        database_url=f"sqlite:///{tmp / 'engine.db'}",
        demo_database_url=f"sqlite:///{tmp / 'demo-platform.db'}",
        redis_url=servers.redis_url(REDIS_DB),
        worker_in_process=False,
    )
    demo = make_engine(settings.demo_url)
    try:
        seed_platform(demo, users=12, seed=5, uploads_dir=settings.data_dir / "uploads")
    finally:
        demo.dispose()
    phones = platform_phones(settings, 4)
    server = LiveServer(settings)
    app = cast(FastAPI, server.server.config.app)
    engine = app.state.engine
    runtime = bootstrap.build(settings, engine=engine, cooling_off=CoolingOffPolicy(7))
    app.state.requests_runtime = runtime
    app.state.on_shutdown.append(runtime.close)
    clock = SystemClock()
    every = ["requests:write", "requests:read", "requests:verify"]
    keys = {
        "a": auth.create_key(engine, clock, "platform a", every)[1],
        "b": auth.create_key(engine, clock, "platform b", every)[1],
        "read": auth.create_key(engine, clock, "reader", ["requests:read"])[1],
        "write": auth.create_key(engine, clock, "writer", ["requests:write"])[1],
        "verify": auth.create_key(engine, clock, "verifier", ["requests:verify"])[1],
        "admin": auth.create_key(engine, clock, "ops", ["admin"])[1],
    }
    for role in Role:
        operators.create_operator(engine, clock, role.value, role, PASSWORD)
    clients: list[httpx.Client] = []
    with server:
        try:
            browser_a = httpx.Client(base_url=server.url, timeout=30)
            browser_b = httpx.Client(base_url=server.url, timeout=30)
            anonymous = httpx.Client(base_url=server.url, timeout=30)
            clients += [browser_a, browser_b, anonymous]
            ids = {
                "page_a": _cancel_in_browser(browser_a, phones[0]),
                "page_b": _cancel_in_browser(browser_b, phones[1]),
            }
            for name, phone in (("api_a", phones[2]), ("api_b", phones[3])):
                r = httpx.post(
                    f"{server.url}/v1/requests",
                    json={"kind": "cancel", "identifiers": {"phone": phone}},
                    headers={"Authorization": f"Bearer {keys[name[-1]]}"},
                )
                assert r.status_code == 201, r.text
                ids[name] = r.json()["id"]
            consoles = {role: _console(server.url, role) for role in Role}
            clients += list(consoles.values())
            secrets = [p for p in (phones[0], phones[2])]
            secrets += [mask(parse_identifier("phone", p)) for p in (phones[0], phones[2])]
            for request_id in (ids["page_a"], ids["api_a"]):
                record = services.get_request(request_id, runtime.uow(readonly=True))
                secrets.append(record.request.subject_ref)
            yield World(
                server.url, app, settings, runtime, browser_a, browser_b, anonymous, keys,
                consoles, ids, secrets,
            )  # fmt: skip
        finally:
            for client in clients:
                client.close()
