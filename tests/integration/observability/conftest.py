"""Fixtures of the observability tests: a seeded demo platform behind a live API on SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.demo.seed import seed_platform
from tests import servers
from tests.integration.requests.conftest import Api, start_api

REDIS_DB = 5  # the demo map's Redis store; other suites use 9, 11 and 13


@pytest.fixture
def demo_settings(tmp_path: Path, settings: Settings) -> Settings:
    """SQLite engine database and a small seeded demo shop; no in-process worker."""
    configured = settings.model_copy(
        update={
            "database_url": f"sqlite:///{tmp_path / 'engine.db'}",
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


@pytest.fixture
def demo_api(demo_settings: Settings) -> Iterator[Api]:
    """The API over real HTTP (no cooling-off; the test drives the worker)."""
    server, handle = start_api(demo_settings)
    with server:
        yield handle
