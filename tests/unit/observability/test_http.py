"""The request-id and HTTP-metrics middleware, on a tiny ASGI app."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, generate_latest

from exitright.observability import logs
from exitright.observability.http import (
    HttpMetrics,
    HttpMetricsMiddleware,
    RequestIdMiddleware,
    sane_id,
)


@pytest.mark.parametrize("value", ["abc", "lb-7f3a:42", "a.b_c", "x" * 64])
def test_plain_short_request_ids_are_kept(value: str) -> None:
    """Letters, digits and . _ : - up to 64 characters."""
    assert sane_id(value) == value


@pytest.mark.parametrize(
    "value", [None, "", "x" * 65, "a b", "a\nb", "13800138000", "11010519491231002X", "<script>"]
)
def test_other_request_ids_are_refused(value: str | None) -> None:
    """Too long, odd characters, or personal data: refused (a fresh id is made instead)."""
    assert sane_id(value) is None


def call(app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> tuple[int, dict[str, str]]:
    """One GET through ``app``; the status and response headers."""
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}


def build() -> tuple[FastAPI, CollectorRegistry, list[str | None]]:
    """An app with one route under both middlewares; the route notes the log context."""
    app = FastAPI()
    seen: list[str | None] = []

    @app.get("/v1/identifiers/{phone}/status")
    def status(phone: str) -> dict[str, str]:
        seen.append(logs.current_context().get("request_id"))
        return {"ok": "yes"}

    registry = CollectorRegistry()
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(registry))
    app.add_middleware(RequestIdMiddleware)
    return app, registry, seen


def test_the_request_id_is_echoed_and_bound_to_the_log_context() -> None:
    """A given sane id comes back and is what the route's logs carry."""
    app, _registry, seen = build()
    status, headers = call(
        app, "/v1/identifiers/13800138000/status", [(b"x-request-id", b"edge-1")]
    )
    assert status == 200 and headers["x-request-id"] == "edge-1"
    assert seen == ["edge-1"]
    assert "request_id" not in logs.current_context()


def test_metrics_use_the_route_template_never_the_path() -> None:
    """The phone in the path never reaches a label; unknown paths are <unmatched>."""
    app, registry, _seen = build()
    call(app, "/v1/identifiers/13800138000/status", [])
    call(app, "/v1/identifiers/13900139000/status", [])
    status, headers = call(app, "/v1/13700137000", [])
    assert status == 404 and len(headers["x-request-id"]) == 26
    text = generate_latest(registry).decode()
    assert "13800138000" not in text and "13700137000" not in text
    assert (
        'exitright_http_requests_total{method="GET",route="/v1/identifiers/{phone}/status",'
        'status="200"} 2.0'
    ) in text
    assert 'route="<unmatched>",status="404"' in text
    logging.getLogger(__name__).debug("done")
