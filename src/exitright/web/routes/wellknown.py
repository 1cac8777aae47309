"""``/.well-known/…``: the public keys that verify our certificates and events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from exitright.ledger import signing

router = APIRouter(prefix="/.well-known", tags=["well-known"])


@router.get("/jwks.json")
def jwks(request: Request) -> JSONResponse:
    """Every signing key ever used (current and retired), so old certificates stay verifiable."""
    engine = request.app.state.engine
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        document: dict[str, Any] = signing.jwks(conn)
    return JSONResponse(
        document,
        media_type="application/jwk-set+json",
        headers={"Cache-Control": "public, max-age=300"},
    )
