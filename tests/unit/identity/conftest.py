"""Fixtures of the identity tests: an engine database on SQLite, a fixed clock, fakes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

import exitright.db.tables  # noqa: F401  # registers every table
from exitright.clock import FixedClock
from exitright.db.base import Base
from exitright.db.engine import make_engine
from exitright.identity.otp import Channel
from exitright.identity.providers import ConsoleProvider
from exitright.identity.recycled import RecycledGuard
from exitright.identity.service import IdentityService

from .fakes import FakeDirectory, FakeRequests

CODE_KEY = b"c" * 32
ID_KEY = b"i" * 32
T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh engine database (SQLite file) with every table."""
    eng = make_engine(f"sqlite:///{tmp_path / 'engine.db'}")
    Base.metadata.create_all(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def clock() -> FixedClock:
    """A clock standing at T0 until a test moves it."""
    return FixedClock(T0)


@pytest.fixture
def console() -> ConsoleProvider:
    """The console provider: tests read the codes it 'sent'."""
    return ConsoleProvider()


@pytest.fixture
def directory() -> FakeDirectory:
    """An empty platform."""
    return FakeDirectory()


@pytest.fixture
def requests_link() -> FakeRequests:
    """No open requests."""
    return FakeRequests()


@pytest.fixture
def guard(engine: Engine, clock: FixedClock) -> RecycledGuard:
    """The recycled-number guard with no look-up."""
    return RecycledGuard(engine, clock, ID_KEY)


@pytest.fixture
def service(
    engine: Engine,
    clock: FixedClock,
    console: ConsoleProvider,
    directory: FakeDirectory,
    guard: RecycledGuard,
    requests_link: FakeRequests,
) -> IdentityService:
    """The identity service on those, delivering inline to the console provider."""
    return IdentityService(
        engine,
        clock,
        code_key=CODE_KEY,
        identifier_key=ID_KEY,
        senders={Channel.SMS: console, Channel.EMAIL: console},
        directory=directory,
        guard=guard,
        requests=requests_link,
    )
