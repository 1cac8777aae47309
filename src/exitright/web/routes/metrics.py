"""``GET /metrics``: Prometheus text exposition (engine figures from the database, HTTP counters).

Not in the OpenAPI document: it is for the operator's scraper, not for API clients. Restrict it
at the reverse proxy (docs/deploy.md); it carries no personal data.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from exitright.observability.metrics import CONTENT_TYPE, exposition

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """The app's metrics in the text exposition format (version 0.0.4)."""
    body = await run_in_threadpool(exposition, request.app.state.metrics_registry)
    return Response(body, media_type=CONTENT_TYPE)
