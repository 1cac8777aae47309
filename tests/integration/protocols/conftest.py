"""Fixtures for SETs in and out: a migrated engine database, loopback servers you can stop."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine, inspect, select

from exitright.clock import FixedClock
from exitright.db import migrate
from exitright.db.engine import make_engine
from exitright.pii.detect import kinds
from exitright.protocols.config import Transmitter
from tests.conftest import free_port

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ISSUER = "http://127.0.0.1:9"  # our iss in these tests; nothing is ever sent there
TRANSMITTER = Transmitter.from_keys(ISSUER, b"s" * 32, b"p" * 32)


class Loopback:
    """An ASGI app served by uvicorn on a fixed loopback port; stop and start it at will."""

    def __init__(self, app: Any, port: int | None = None, *, lifespan: str = "off") -> None:
        self.app = app
        self.lifespan = lifespan  # "on" runs the app's start-up (keys, in-process worker)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Loopback:
        """Listen until :meth:`stop`."""
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan=self.lifespan,  # type: ignore[arg-type]  # uvicorn types it as a Literal
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the loopback server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop listening (the port is refused until the next start)."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = None

    def __enter__(self) -> Loopback:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture
def clock() -> FixedClock:
    """A clock the test moves by hand."""
    return FixedClock(NOW)


@pytest.fixture
def engine(engine_url: str) -> Iterator[Engine]:
    """The engine database, migrated, on SQLite and on PostgreSQL."""
    migrate.upgrade(engine_url)
    eng = make_engine(engine_url)
    yield eng
    eng.dispose()


SCANNED = (
    "security_event_outbox",
    "security_event_attempts",
    "security_events_received",
    "recycled_identifier_notices",
    "recycled_marks",
    "recipient_poll_tokens",
    "ledger_entries",
)
# A SHA-256 hex digest (a ledger hash, a keyed hash) can hold eleven digits in a row that the
# phone detector would flag about once in four hundred digests: such values are checked against
# the subjects' exact identifiers only. That they are digests is what `ledger verify` checks.
HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def leaves(value: Any) -> Iterator[str]:
    """Every scalar inside a JSON value (or a plain value), as text."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from leaves(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from leaves(v)
    elif isinstance(value, memoryview | bytes):
        yield bytes(value).decode("latin-1")
    elif value is not None:
        yield str(value)


def personal_data_hits(
    value: Any, needles: tuple[str, ...] = (), *, names: bool = False
) -> set[str]:
    """The personal-data kinds (``datamap check``'s detectors) and needles found in ``value``.

    Each scalar is scanned on its own, so the name detector (a whole value of two or three CJK
    characters starting with a common family name) is meaningful when ``names`` is set.
    """
    hits: set[str] = set()
    for text in leaves(value):
        if not HEX_DIGEST.fullmatch(text):
            hits |= set(kinds(text)) - (set() if names else {"name"})
        hits |= {f"needle:{n}" for n in needles if n and n in text}
    return hits


def personal_data_in(engine: Engine, needles: tuple[str, ...] = ()) -> list[str]:
    """Every stored value (text, JSON, bytes) that looks like personal data, or holds a needle."""
    from sqlalchemy import MetaData

    found: list[str] = []
    meta = MetaData()
    meta.reflect(engine, only=[t for t in SCANNED if t in inspect(engine).get_table_names()])
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    hits = personal_data_hits(value, needles)
                    if hits:
                        found.append(f"{table.name}.{column}: {sorted(hits)}")
    return found
