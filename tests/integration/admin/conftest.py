"""Fixtures of the admin console: a live server on a seeded demo platform, and its operators."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import cast

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from exitright import bootstrap
from exitright.admin import operators
from exitright.admin.models import Role
from exitright.cancellation import services
from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.cancellation.model import Actor, RequestKind
from exitright.cancellation.ports import Identifiers
from exitright.clock import Clock, FixedClock, SystemClock
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.demo.schema import users
from exitright.demo.seed import seed_platform
from tests import servers
from tests.conftest import LiveServer

REDIS_DB = 4  # the demo map's Redis store; other suites use 5, 6, 9, 11 and 13
PASSWORD = "a long test passphrase"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def console_settings(tmp_path: Path, engine_url: str, settings: Settings) -> Settings:
    """Settings on SQLite or PostgreSQL with a small seeded demo shop and no in-process worker."""
    configured = settings.model_copy(
        update={
            "database_url": engine_url,
            "demo_database_url": f"sqlite:///{tmp_path / 'demo-platform.db'}",
            "redis_url": servers.redis_url(REDIS_DB),
            "worker_in_process": False,
        }
    )
    demo = make_engine(configured.demo_url)
    try:
        seed_platform(demo, users=12, seed=11, uploads_dir=configured.data_dir / "uploads")
    finally:
        demo.dispose()
    return configured


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = _CSRF.search(html)
    assert found is not None, "no form with a csrf_token on the page"
    return found.group(1)


@dataclass
class Console:
    """A live server, its engine and workflow, and one operator of each role."""

    url: str
    settings: Settings
    engine: Engine
    runtime: bootstrap.Runtime
    ids: dict[Role, str] = field(default_factory=dict)
    _phones: list[str] = field(default_factory=list)
    _clients: list[httpx.Client] = field(default_factory=list)

    def client(self) -> httpx.Client:
        """A fresh browser-like client (its own cookies), not following redirects."""
        client = httpx.Client(base_url=self.url, timeout=30, headers={"Accept": "text/html"})
        self._clients.append(client)  # closed when the test ends
        return client

    def sign_in(self, role: Role) -> httpx.Client:
        """A client signed in as the operator of ``role``."""
        client = self.client()
        page = client.get("/admin/sign-in")
        response = client.post(
            "/admin/sign-in",
            data={"name": role.value, "password": PASSWORD, "csrf_token": csrf_of(page.text)},
        )
        assert response.status_code == 303, response.text
        return client

    def submit(self, *, clock: Clock | None = None) -> str:
        """A cancellation of the next seeded account, received at ``clock``'s time."""
        phone = self._phones.pop(0)
        rt = self.runtime
        if clock is not None:
            rt = bootstrap.build(
                self.settings, engine=self.engine, clock=clock, cooling_off=CoolingOffPolicy(0)
            )
        command = services.OpenRequest(
            RequestKind.CANCEL, Identifiers("phone", phone), Actor.user()
        )
        return services.submit(command, rt.uow(), rt.ports).record.request.id

    def submit_at(self, at: datetime) -> str:
        """A cancellation received at ``at``."""
        return self.submit(clock=FixedClock(at))


def _phones(settings: Settings) -> list[str]:
    demo = make_engine(settings.demo_url)
    try:
        with demo.connect() as conn:
            rows = conn.execute(
                select(users.c.phone).where(users.c.phone.is_not(None)).order_by(users.c.id)
            ).scalars()
            return list(dict.fromkeys(rows))
    finally:
        demo.dispose()


@pytest.fixture
def console(console_settings: Settings) -> Iterator[Console]:
    """The console over real HTTP, with operators named viewer, operator and admin."""
    server = LiveServer(console_settings)
    app = cast(FastAPI, server.server.config.app)
    runtime = bootstrap.build(
        console_settings, engine=app.state.engine, cooling_off=CoolingOffPolicy(0)
    )
    app.state.requests_runtime = runtime
    handle = Console(server.url, console_settings, app.state.engine, runtime)
    handle._phones = _phones(console_settings)
    for role in Role:
        created = operators.create_operator(
            app.state.engine, SystemClock(), role.value, role, PASSWORD
        )
        handle.ids[role] = created.id
    with server:
        try:
            yield handle
        finally:
            for client in handle._clients:
                client.close()
