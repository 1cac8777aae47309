"""Shared fixtures: settings on a temporary data dir, real databases, a live server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from exitright.config import Settings
from tests import servers

# The whole run logs exitright at DEBUG and fails on personal data in any record (see the module).
pytest_plugins = ("tests.pi_log_guard",)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Development settings on a fresh data dir, untouched by the caller's environment."""
    monkeypatch.chdir(tmp_path)
    for name in list(__import__("os").environ):
        if name.startswith("EXITRIGHT_"):
            monkeypatch.delenv(name)
    return Settings(data_dir=tmp_path / "var", default_language="zh-CN")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test."""
    with servers.postgres_database() as url:
        yield url


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh MariaDB database for this test."""
    with servers.mariadb_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The engine database on SQLite and on PostgreSQL: the same tests run on both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'engine.db'}"
    else:
        with servers.postgres_database() as url:
            yield url


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """ExitRight served by uvicorn in a thread, reached over real HTTP on loopback."""

    def __init__(self, settings: Settings) -> None:
        from exitright.db import migrate
        from exitright.web import create_app

        migrate.upgrade(settings.engine_url)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            access_log=False,  # raw paths can hold phone numbers; exitright serve turns it off too
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    """A running ExitRight on SQLite in a temporary data dir."""
    with LiveServer(settings) as server:
        yield server
