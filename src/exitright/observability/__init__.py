"""Observability: structured JSON logs, request ids, Prometheus metrics (see docs/deploy.md).

``install(app, settings)`` is the one call the app factory makes: it configures logging from
``settings.log_level``, adds the request-id and HTTP-metrics middleware, and keeps the app's
metrics registry on ``app.state.metrics_registry`` for ``GET /metrics``.
"""

from __future__ import annotations

from typing import Any

from exitright.config import Settings
from exitright.observability import logs
from exitright.observability.http import HttpMetrics, HttpMetricsMiddleware, RequestIdMiddleware
from exitright.observability.metrics import make_registry

__all__ = ["install"]


def install(app: Any, settings: Settings) -> None:
    """Wire logging, request ids and metrics into ``app`` (a FastAPI app with ``state.engine``)."""
    logs.configure(settings.log_level)
    exposed, http_registry = make_registry(app.state.engine)
    app.state.metrics_registry = exposed
    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(http_registry))
    # The request id wraps the whole stack, Starlette's error middleware included, so that a
    # 500 response carries it too and the unhandled error is logged with it.
    build = app.build_middleware_stack

    def build_with_request_id() -> Any:
        return RequestIdMiddleware(build())

    setattr(app, "build_middleware_stack", build_with_request_id)  # noqa: B010  # mypy: method
