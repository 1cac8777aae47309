"""A demo platform seeded once on SQLite, shared by the read-only tests of this folder."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from exitright.db.engine import make_engine
from exitright.demo.seed import SeedSummary, seed_platform

SEEDED_USERS = 300


@dataclass
class Seeded:
    """An engine on a seeded SQLite demo platform, its uploads folder and the seed's summary."""

    engine: Engine
    uploads: Path
    summary: SeedSummary


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """300 users seeded with seed 1 into a fresh SQLite file, with uploads."""
    root = tmp_path_factory.mktemp("demo")
    engine = make_engine(f"sqlite:///{root / 'demo-platform.db'}")
    uploads = root / "uploads"
    summary = seed_platform(engine, users=SEEDED_USERS, seed=1, uploads_dir=uploads)
    yield Seeded(engine, uploads, summary)
    engine.dispose()
