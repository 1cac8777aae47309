"""A live ExitRight with the privacy centre over a seeded demo shop, and a browser-like client."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from exitright import bootstrap
from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.demo.schema import orders, users
from exitright.demo.seed import seed_platform
from tests import servers
from tests.conftest import LiveServer

REDIS_DB = 7  # the demo map's Redis store; other suites use 5, 6, 9, 11 and 13


@dataclass
class Centre:
    """The running app, its settings and the request workflow it was given."""

    url: str
    app: FastAPI
    settings: Settings
    runtime: bootstrap.Runtime


@contextmanager
def privacy_server(
    settings: Settings, *, cooling_off_days: int, worker: bool = True, redis_db: int = REDIS_DB
) -> Iterator[Centre]:
    """Seed a small demo shop, then serve ExitRight with the given cooling-off on loopback."""
    configured = settings.model_copy(
        update={"redis_url": servers.redis_url(redis_db), "worker_in_process": worker}
    )
    demo = make_engine(configured.demo_url)
    try:
        seed_platform(demo, users=30, seed=8, uploads_dir=configured.data_dir / "uploads")
    finally:
        demo.dispose()
    server = LiveServer(configured)
    app = cast(FastAPI, server.server.config.app)
    runtime = bootstrap.build(
        configured, engine=app.state.engine, cooling_off=CoolingOffPolicy(cooling_off_days)
    )
    app.state.requests_runtime = runtime
    app.state.on_shutdown.append(runtime.close)
    with server:
        yield Centre(server.url, app, configured, runtime)


def customer_phone(settings: Settings) -> str:
    """The phone number of a seeded, active customer who has orders."""
    demo = make_engine(settings.demo_url)
    try:
        with demo.connect() as conn:
            phone = conn.execute(
                select(users.c.phone)
                .join(orders, orders.c.user_id == users.c.id)
                .where(users.c.status == "active", users.c.phone.is_not(None))
                .order_by(users.c.id)
                .limit(1)
            ).scalar_one()
    finally:
        demo.dispose()
    return str(phone)


def csrf(client: httpx.Client, path: str = "/privacy/cancel") -> str:
    """The CSRF token of a page's form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, f"{path} has no form"
    return match.group(1)


def codes(client: httpx.Client) -> list[str]:
    """The codes on the developer page, newest first."""
    return re.findall(r'class="otp">(\d{6})<', client.get("/privacy/dev/codes").text)


def wait_for_code(client: httpx.Client, before: int = 0, timeout: float = 10.0) -> str:
    """The newest code once more than ``before`` were sent (delivery runs in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = codes(client)
        if len(found) > before:
            return found[0]
        time.sleep(0.05)
    raise AssertionError("no code was delivered")


def wait_for_state(
    client: httpx.Client, path: str, states: tuple[str, ...], timeout: float = 30.0
) -> str:
    """Reload the status page until it shows one of ``states``; returns the page."""
    deadline = time.monotonic() + timeout
    page = ""
    while time.monotonic() < deadline:
        page = client.get(path).text
        match = re.search(r'data-state="([a-z_]+)"', page)
        if match and match.group(1) in states:
            return page
        time.sleep(0.2)
    shown = re.findall(r'data-state="([a-z_]+)"', page)
    raise AssertionError(f"{path} never reached {states}: {shown}")
