"""A live ExitRight with the demo shop, on a seeded SQLite demo platform."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from exitright.config import Settings
from exitright.db.engine import make_engine
from exitright.demo.seed import seed_platform
from tests.conftest import LiveServer


@contextmanager
def shop_server(settings: Settings, users: int = 60) -> Iterator[LiveServer]:
    """Seed ``users`` users into the settings' demo database, then serve the app on loopback."""
    engine = make_engine(settings.demo_url)
    seed_platform(engine, users=users, seed=8, uploads_dir=settings.data_dir / "uploads")
    engine.dispose()
    with LiveServer(settings) as server:
        yield server
