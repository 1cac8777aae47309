"""No personal data in logs: representative flows at DEBUG, every record scanned for PI.

The capture handler sits *before* the product's redacting handler and formats records with the
JSON formatter but without the redaction filter, so it sees what the code logged, not what the
filter made of it: a hit here is a leak in the code, even though production would mask it.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from exitright import bootstrap, worker
from exitright.cancellation.cooling_off import CoolingOffPolicy
from exitright.clock import SystemClock
from exitright.config import Settings
from exitright.db import migrate
from exitright.observability.logs import JsonFormatter
from exitright.pii.detect import find
from exitright.web import auth, create_app
from tests.conftest import free_port
from tests.integration.requests.conftest import platform_phones

# exitright.*, the server and the database layer: everything our flows can make speak.
# uvicorn.access is left as `exitright serve` sets it: off (see observability/logs.py).
LOGGERS = ("exitright", "uvicorn", "uvicorn.error", "sqlalchemy")
# The test's own HTTP client (httpx) logs the URLs it calls; only the server's side counts.
CAPTURED = ("exitright", "uvicorn", "sqlalchemy")


class Capture(logging.Handler):
    """Keeps every record as the JSON line the product would write, before any redaction."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.names: set[str] = set()
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        """Format and keep ``record`` if one of the server's loggers emitted it."""
        if not record.name.startswith(CAPTURED):
            return
        self.names.add(record.name)
        self.lines.append(self.format(record))


@pytest.fixture
def capture() -> Iterator[Capture]:
    """Every listed logger at DEBUG into a capture handler that runs first."""
    handler = Capture()
    root = logging.getLogger()
    saved = {
        name: (logging.getLogger(name).level, logging.getLogger(name).propagate) for name in LOGGERS
    }
    root_level = root.level
    root.handlers.insert(0, handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(root_level)
        for name, (level, propagate) in saved.items():
            logging.getLogger(name).setLevel(level)
            logging.getLogger(name).propagate = propagate


def debug_everywhere() -> None:
    """Root and every listed logger at DEBUG, uvicorn's records propagating to the root.

    ``sqlalchemy.engine`` keeps the level the product's configuration pins it to (WARNING:
    its INFO and DEBUG records are statement parameters and result rows); the rest of
    SQLAlchemy (pool, ORM) logs at DEBUG.
    """
    logging.getLogger().setLevel(logging.DEBUG)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.propagate = True


class Served:
    """The app as ``exitright serve`` runs it (no access log: query strings are not logged)."""

    def __init__(self, settings: Settings) -> None:
        migrate.upgrade(settings.engine_url)
        self.app = create_app(settings.model_copy(update={"log_level": "DEBUG"}))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="debug",
            access_log=False,
            lifespan="on",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        debug_everywhere()  # after uvicorn.Config configured its loggers
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def boom(value: str) -> None:
    """A route that fails (the value stays out of the message: see the next test for that)."""
    raise RuntimeError(f"test failure ({len(value)} characters)")


def leaky_boom(value: str) -> None:
    """A route whose exception message carries the path parameter, as a driver error may."""
    raise RuntimeError(f"test failure about {value}")


def hits(lines: list[str]) -> list[tuple[str, str]]:
    """(kind, line) for every PI finding in the captured lines."""
    return [(f.kind, line) for line in lines for f in find(line)]


def test_representative_flows_at_debug_log_no_personal_data(
    demo_settings: Settings, capture: Capture
) -> None:
    """Submit, verify, revoke, erase through the worker, an error page, a 422 with a phone."""
    phones = platform_phones(demo_settings, 3)
    # The carrier look-up fails (nothing listens there): the guard logs why, not the number.
    lookup = f"http://127.0.0.1:{free_port()}"
    configured = demo_settings.model_copy(update={"recycling_lookup_url": lookup})
    with Served(configured) as served:
        app = served.app
        app.add_api_route("/v1/test-boom/{value}", boom)  # an unhandled error, value in the path
        runtime = bootstrap.build(
            demo_settings, engine=app.state.engine, cooling_off=CoolingOffPolicy(0)
        )
        app.state.requests_runtime = runtime
        token = auth.create_key(
            app.state.engine,
            SystemClock(),
            "shop",
            ["requests:write", "requests:read", "requests:verify"],
        )[1]
        admin = auth.create_key(app.state.engine, SystemClock(), "ops", ["admin"])[1]
        h = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=served.url, timeout=30) as client:
            ids = []
            for phone in phones:
                r = client.post(
                    "/v1/requests",
                    headers=h,
                    json={"kind": "cancel", "identifiers": {"phone": phone}},
                )
                assert r.status_code == 201, r.text
                ids.append(r.json()["id"])
            assert client.post(f"/v1/requests/{ids[0]}/verify", headers=h).status_code == 200
            assert client.post(f"/v1/requests/{ids[1]}/verify", headers=h).status_code == 200
            assert client.post(f"/v1/requests/{ids[2]}/revoke", headers=h).status_code == 200
            for _ in range(10):
                if worker.run_once(runtime, "logs-test") == 0:
                    break
            r = client.get(f"/v1/requests/{ids[0]}", headers=h)
            assert r.json()["state"] == "completed"
            # A validation error whose body carries a phone and an e-mail.
            r = client.post(
                "/v1/requests",
                headers=h,
                json={
                    "kind": "cancel",
                    "identifiers": {"phone": phones[0], "email": "li.wei@example.cn"},
                    "unexpected": phones[1],
                },
            )
            assert r.status_code == 422
            r = client.post("/v1/requests", headers=h, json={"kind": "nope", "identifiers": {}})
            assert r.status_code == 422
            # A phone in a path, an unknown page, a 401.
            r = client.get(
                f"/v1/identifiers/{phones[0]}/status?since=2024-01-01",
                headers={"Authorization": f"Bearer {admin}"},
            )
            assert r.status_code == 200
            r = client.get(f"/no-such-page/{phones[0]}", headers={"Accept": "text/html"})
            assert r.status_code == 404 and "text/html" in r.headers["content-type"]
            r = client.get("/v1/requests", headers={"Authorization": "Bearer er_wrong"})
            assert r.status_code == 401
            r = client.get(f"/v1/test-boom/{phones[1]}")
            assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    # The flows did log, through each family of loggers.
    assert any(n.startswith("sqlalchemy") for n in capture.names), capture.names
    assert any(n.startswith("uvicorn") for n in capture.names), capture.names
    assert {"exitright.web", "exitright.identity.lookup"} <= capture.names, capture.names
    assert len(capture.lines) > 20
    found = hits(capture.lines)
    assert not found, "\n".join(f"{kind}: {line[:300]}" for kind, line in found[:10])


@pytest.mark.allow_pi_in_logs  # the leak is planted: this test checks the handler masks it
def test_the_configured_handler_masks_pi_in_an_unhandled_errors_traceback(
    demo_settings: Settings,
    capture: Capture,  # restores the loggers' levels afterwards
) -> None:
    """An exception message holding a phone is logged (twice: app and server) with [phone].

    This is the last line of defence: web/errors.py logs the exception's message with its
    traceback, and uvicorn logs it again, so a message quoting a value reaches the handler.
    """
    phone = platform_phones(demo_settings, 1)[0]
    with Served(demo_settings) as served:
        app = served.app
        app.add_api_route("/v1/test-leaky-boom/{value}", leaky_boom)
        ours = next(h for h in logging.getLogger().handlers if h.get_name() == "exitright-json")
        assert isinstance(ours, logging.StreamHandler)
        out = io.StringIO()
        previous = ours.setStream(out)
        try:
            r = httpx.get(f"{served.url}/v1/test-leaky-boom/{phone}", timeout=30)
        finally:
            ours.setStream(previous)
    assert r.status_code == 500
    written = [json.loads(line) for line in out.getvalue().splitlines() if line]
    failures = [w for w in written if "test failure about [phone]" in w.get("exception", "")]
    assert {w["logger"] for w in failures} >= {"exitright.web"}, written
    app_records = [w for w in failures if w["logger"] == "exitright.web"]
    assert [w["request_id"] for w in app_records] == [r.headers["x-request-id"]]
    assert phone not in out.getvalue()
    assert not [f for line in out.getvalue().splitlines() for f in find(line)]
