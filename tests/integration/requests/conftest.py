"""Fixtures of the request workflow: a seeded demo platform, a live server, API keys."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from exitright import bootstrap
from exitright.cancellation import services
from exitright.cancellation.commands import VerifyRequest
from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.cancellation.model import Actor, RequestKind
from exitright.cancellation.ports import Identifiers
from exitright.clock import SystemClock
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.demo.schema import users
from exitright.demo.seed import seed_platform
from exitright.web import auth
from tests import servers
from tests.conftest import LiveServer

REDIS_DB = 9  # the demo map's Redis store; other suites use 11 and 13


@pytest.fixture
def platform_settings(tmp_path: Path, engine_url: str, settings: Settings) -> Settings:
    """Settings whose engine database is SQLite or PostgreSQL, with a small seeded demo shop."""
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
        seed_platform(demo, users=25, seed=7, uploads_dir=configured.data_dir / "uploads")
    finally:
        demo.dispose()
    return configured


def platform_phones(settings: Settings, n: int) -> list[str]:
    """Phone numbers of ``n`` distinct seeded accounts."""
    demo: Engine = make_engine(settings.demo_url)
    try:
        with demo.connect() as conn:
            rows = conn.execute(
                select(users.c.phone).where(users.c.phone.is_not(None)).order_by(users.c.id)
            ).scalars()
            phones = list(dict.fromkeys(rows))
    finally:
        demo.dispose()
    assert len(phones) >= n
    return phones[:n]


def verified_cancellation(rt: bootstrap.Runtime, phone: str) -> str:
    """A cancellation of the account with ``phone``, opened by the user and verified (by OTP)."""
    command = services.OpenRequest(RequestKind.CANCEL, Identifiers("phone", phone), Actor.user())
    request_id = services.submit(command, rt.uow(), rt.ports).record.request.id
    services.verify(VerifyRequest(request_id, Actor.system("otp")), rt.uow(), rt.ports)
    return request_id


@dataclass
class Api:
    """A live server with tokens of each kind of key."""

    url: str
    settings: Settings
    engine: Engine
    writer: str  # requests:write + requests:read + requests:verify (a platform back end)
    verifier: str  # requests:verify
    admin: str
    other: str  # requests:write + requests:read, another key
    runtime: bootstrap.Runtime

    def auth(self, token: str) -> dict[str, str]:
        """The Authorization header for ``token``."""
        return {"Authorization": f"Bearer {token}"}


def start_api(settings: Settings) -> tuple[LiveServer, Api]:
    """A live server whose workflow has no cooling-off, and four API keys."""
    server = LiveServer(settings)
    app = cast(FastAPI, server.server.config.app)
    runtime = bootstrap.build(settings, engine=app.state.engine, cooling_off=CoolingOffPolicy(0))
    app.state.requests_runtime = runtime
    engine = app.state.engine
    clock = SystemClock()
    scopes = ["requests:write", "requests:read"]
    api = Api(
        url=server.url,
        settings=settings,
        engine=engine,
        writer=auth.create_key(engine, clock, "shop", [*scopes, "requests:verify"])[1],
        verifier=auth.create_key(engine, clock, "sign-in", ["requests:verify"])[1],
        admin=auth.create_key(engine, clock, "ops", ["admin"])[1],
        other=auth.create_key(engine, clock, "other shop", scopes)[1],
        runtime=runtime,
    )
    return server, api


@pytest.fixture
def api(platform_settings: Settings) -> Iterator[Api]:
    """The API over real HTTP, no worker running (tests drive it)."""
    server, handle = start_api(platform_settings)
    with server:
        yield handle


@pytest.fixture
def api_with_worker(platform_settings: Settings) -> Iterator[Api]:
    """The API over real HTTP with the in-process worker, as ``exitright serve`` runs it."""
    server, handle = start_api(platform_settings.model_copy(update={"worker_in_process": True}))
    with server:
        yield handle
