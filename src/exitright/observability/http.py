"""HTTP middleware: a request id on every request and response, and HTTP metrics by route.

Both are plain ASGI middleware (no response buffering). The request id comes from the
``X-Request-ID`` header when it is sane — 1 to 64 characters of ``A-Z a-z 0-9 . _ : -`` that
the PI detectors find nothing in (a caller could send a phone number) — else a fresh random id.
It is echoed in the response and bound to the log context for the whole request.

Metrics are labelled with the route *template* (``/v1/requests/{request_id}``), never the raw
path: a path can hold a phone number (``/v1/identifiers/{phone}/status``).
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from typing import Final

from prometheus_client import Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from exitright.observability import logs
from exitright.pii.detect import find

__all__ = ["HEADER", "HttpMetrics", "HttpMetricsMiddleware", "RequestIdMiddleware", "sane_id"]

HEADER: Final = "X-Request-ID"
_SANE: Final = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
UNMATCHED: Final = "<unmatched>"
_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def sane_id(value: str | None) -> str | None:
    """``value`` if it may serve as a request id (short, plain, no personal data), else None."""
    if not value or not _SANE.fullmatch(value):
        return None
    if next(iter(find(value)), None) is not None:
        return None
    return value


def new_id() -> str:
    """A fresh request id: 16 random bytes in lower-case base32 (26 characters).

    Not hex: a hex id holds a run of 11 digits starting 13–19 about once in twenty, which the PI
    detectors rightly read as a mobile number, so logs would be redacted (or flagged) at random.
    Base32 has no 0, 1, 8 or 9.
    """
    return base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()


class RequestIdMiddleware:
    """Accept or create the request id, echo it, and bind it to the log context."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap one HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope.get("headers", []):
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        request_id = sane_id(given) or new_id()
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        token = logs.set_field("request_id", request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            logs.reset(token)


class HttpMetrics:
    """The HTTP counters and latency histogram of one app (registered in its registry)."""

    def __init__(self, registry: object) -> None:
        self.requests = Counter(
            "exitright_http_requests",
            "HTTP requests served, by method, route template and status code.",
            ["method", "route", "status"],
            registry=registry,  # type: ignore[arg-type]  # a CollectorRegistry
        )
        self.latency = Histogram(
            "exitright_http_request_duration_seconds",
            "Time to serve an HTTP request, by method and route template.",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=registry,  # type: ignore[arg-type]  # a CollectorRegistry
        )


def route_template(scope: Scope) -> str:
    """The matched route's path template, or ``<unmatched>`` (never the raw path)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class HttpMetricsMiddleware:
    """Count every HTTP request and time it, labelled by route template and status."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap one HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            method = scope.get("method", "GET")
            method = method if method in _METHODS else "OTHER"
            route = route_template(scope)
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - start)
