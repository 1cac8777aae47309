"""Security Event Tokens over HTTP: SSF discovery, the RFC 8935 receiver, the RFC 8936 poll.

``GET /.well-known/ssf-configuration`` describes us as a transmitter. ``POST
/v1/events/receive`` accepts SETs from trusted issuers. ``POST /v1/events/poll`` hands our SETs
to recipients that poll. Thin: parse → call :mod:`exitright.protocols` → render. The error
bodies of the two event endpoints are ``{"err", "description"}`` because RFC 8935 §2.3 and
RFC 8936 §2.4 prescribe them; authentication failures and outages use the error model.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from exitright.clock import SystemClock
from exitright.errors import ErrorCode, ExitRightError
from exitright.i18n import gettext
from exitright.protocols import poll, receiver
from exitright.protocols import set as sets
from exitright.protocols.runtime import ProtocolsRuntime, runtime_for

router = APIRouter(tags=["security events"])

DELIVERY_METHODS = ["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"]
MAX_BODY = 64 * 1024  # a SET or a poll body is a few kilobytes


def _runtime(request: Request) -> ProtocolsRuntime:
    return runtime_for(request.app.state)


def _set_error(err: sets.SetError) -> JSONResponse:
    body = {"err": err.err, "description": err.description}
    return JSONResponse(body, status_code=400)


def _invalid(key: str) -> JSONResponse:
    return _set_error(sets.SetError("invalid_request", gettext("en", key)))


@router.get("/.well-known/ssf-configuration", include_in_schema=True)
def ssf_configuration(request: Request) -> JSONResponse:
    """Transmitter metadata (SSF 1.0); ``poll_endpoint`` and ``receiver_endpoint`` extend it."""
    rt = _runtime(request)
    base = rt.public_url.rstrip("/")
    document: dict[str, Any] = {
        "spec_version": "1_0",
        "issuer": rt.transmitter.issuer,
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "delivery_methods_supported": DELIVERY_METHODS,
        "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6750"}],
        "poll_endpoint": f"{base}/v1/events/poll",
        "receiver_endpoint": f"{base}/v1/events/receive",
        "events_supported": [
            sets.RISC + "account-purged",
            sets.RISC + "account-disabled",
            sets.RISC + "account-enabled",
        ],
        "events_accepted": sorted(receiver.HANDLERS),
    }
    return JSONResponse(document, headers={"Cache-Control": "public, max-age=300"})


@router.post("/v1/events/receive", status_code=202, response_class=Response)
async def receive(request: Request) -> Response:
    """Accept one SET (RFC 8935): 202, or 400 with ``{"err", "description"}``."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != sets.MEDIA_TYPE:
        return _invalid("protocols.receive.media_type")
    body = await request.body()
    if len(body) > MAX_BODY:
        return _invalid("protocols.receive.too_large")
    try:
        token = body.decode("ascii")
    except UnicodeDecodeError:
        return _invalid("protocols.receive.not_jws")
    rt = _runtime(request)
    engine = request.app.state.engine
    try:
        await run_in_threadpool(
            receiver.receive, engine, SystemClock(), token, rt.trusted, rt.handlers
        )
    except sets.SetError as exc:
        return _set_error(exc)
    return Response(status_code=202)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _has_pending(request: Request, token: str | None) -> bool:
    engine = request.app.state.engine
    with engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        digest = poll.digest(token or "")
        row = conn.execute(
            poll.select_recipient_by_digest(digest)  # read-only: no last_used_at write
        ).first()
        return row is not None and poll.has_pending(conn, str(row.recipient))


def _poll_once(
    request: Request, rt: ProtocolsRuntime, token: str | None, body: poll.PollRequest
) -> poll.PollResult:
    clock = SystemClock()
    with request.app.state.engine.begin() as conn:
        recipient = poll.authenticate(conn, clock, token)
        if recipient is None:
            raise ExitRightError(ErrorCode.UNAUTHENTICATED, message_id="protocols.poll.token")
        return poll.poll(conn, clock, recipient, body, rt.transmitter)


@router.post("/v1/events/poll")
async def poll_events(request: Request) -> JSONResponse:
    """Hand out pending SETs and settle acknowledgements (RFC 8936)."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return _invalid("protocols.receive.too_large")
    try:
        body = poll.PollRequest.model_validate(json.loads(raw or b"{}"))
    except (ValueError, ValidationError):
        return _invalid("protocols.poll.body")
    rt = _runtime(request)
    token = _bearer(request)
    result = await run_in_threadpool(_poll_once, request, rt, token, body)
    wants = body.max_events is None or body.max_events > 0
    if result.sets or body.return_immediately or not wants:
        return JSONResponse(result.body())
    # Long poll: hold the request until something is queued for this recipient, or time is up.
    deadline = time.monotonic() + rt.long_poll_seconds
    follow_up = poll.PollRequest(maxEvents=body.max_events, returnImmediately=True)
    while time.monotonic() < deadline and not await request.is_disconnected():
        await asyncio.sleep(0.5)
        if not await run_in_threadpool(_has_pending, request, token):
            continue
        later = await run_in_threadpool(_poll_once, request, rt, token, follow_up)
        if later.sets:
            later.acknowledged, later.rejected = result.acknowledged, result.rejected
            return JSONResponse(later.body())
    return JSONResponse(result.body())
