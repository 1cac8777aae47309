"""``/healthz``: liveness and whether the engine database is reachable and migrated."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from exitright import __version__
from exitright.db import migrate

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Service health."""

    status: Literal["ok", "degraded"]
    version: str
    database: Literal["ok", "unreachable", "not_migrated"]


@router.get("/healthz", response_model=Health)
def healthz(request: Request) -> JSONResponse:
    """200 when the engine database is reachable and migrated, else 503 with the reason."""
    url = request.app.state.settings.engine_url
    try:
        database = "ok" if migrate.is_current(url) else "not_migrated"
    except Exception:  # any driver error means "unreachable" to a load balancer
        database = "unreachable"
    body = Health(
        status="ok" if database == "ok" else "degraded", version=__version__, database=database
    )
    return JSONResponse(body.model_dump(), status_code=200 if database == "ok" else 503)
