"""Fixtures of the identity integration tests: the engine database migrated, loopback servers."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine

from exitright.db import migrate
from exitright.db.engine import make_engine
from tests.conftest import free_port


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve an ASGI app on 127.0.0.1 (never any other address); yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the loopback server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def engine(engine_url: str) -> Iterator[Engine]:
    """The engine database, migrated to head, on SQLite and on PostgreSQL."""
    migrate.upgrade(engine_url)
    eng = make_engine(engine_url)
    try:
        yield eng
    finally:
        eng.dispose()
