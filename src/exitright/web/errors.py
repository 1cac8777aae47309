"""Every failure leaves the app in the one error model; domain errors map here and nowhere else.

JSON (for ``/v1``, ``/.well-known`` and clients that ask for JSON)::

    {"error": {"code": "not_found", "message": {"zh-CN": "…", "en": "…"}, "details": {}}}

Pages get the same message in the visitor's language on the base layout. Details never carry
submitted values (they may be personal data), only where and what kind of problem.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from exitright.errors import ErrorCode, ExitRightError
from exitright.i18n import both

log = logging.getLogger("exitright.web")

_HTTP_CODES = {
    400: ErrorCode.INVALID_REQUEST,
    401: ErrorCode.UNAUTHENTICATED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    409: ErrorCode.CONFLICT,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.INVALID_REQUEST,
    429: ErrorCode.RATE_LIMITED,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


class ErrorMessage(BaseModel):
    """The message in every supported language."""

    zh_CN: str = Field(alias="zh-CN")  # noqa: N815  # mirrors the JSON key "zh-CN"
    en: str


class ErrorBody(BaseModel):
    """One failure: a stable ``code`` (see docs/errors.md), a bilingual message and details."""

    code: ErrorCode
    message: ErrorMessage
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    """The body of every non-2xx JSON response."""

    error: ErrorBody


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorResponse, "description": "Bad input; see `error.code`."},
    "5XX": {"model": ErrorResponse, "description": "Server-side failure; nothing was changed."},
}


def error_payload(exc: ExitRightError) -> dict[str, Any]:
    """The JSON body for ``exc``."""
    return {
        "error": {
            "code": exc.code.value,
            "message": both(exc.msgid, **exc.params),
            "details": exc.details,
        }
    }


def wants_json(request: Request) -> bool:
    """API paths and clients that prefer JSON get JSON; browsers get a page."""
    path = request.url.path
    if path.startswith(("/v1/", "/.well-known/")) or path == "/v1":
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def render_error(request: Request, exc: ExitRightError) -> Response:
    """A JSON error or an error page, by what the client asked for."""
    headers = (
        {"Retry-After": str(exc.details["retry_after"])} if "retry_after" in exc.details else None
    )
    if wants_json(request):
        return JSONResponse(error_payload(exc), status_code=exc.http_status, headers=headers)
    from exitright.web.templating import render  # the page renderer needs the app's templates

    try:
        return render(
            request,
            "core/error.html",
            {"error": exc, "status": exc.http_status},
            status_code=exc.http_status,
            headers=headers,
        )
    except Exception:  # an error page must never fail: fall back to the JSON model
        log.exception("error page failed to render")
        return JSONResponse(error_payload(exc), status_code=exc.http_status, headers=headers)


def _validation_details(exc: RequestValidationError) -> dict[str, Any]:
    fields = []
    for err in exc.errors()[:20]:
        fields.append({"loc": [str(p) for p in err.get("loc", ())], "type": err.get("type", "")})
    return {"fields": fields}


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into the error model."""

    @app.exception_handler(ExitRightError)
    async def _domain(request: Request, exc: ExitRightError) -> Response:
        return render_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return render_error(
            request, ExitRightError(ErrorCode.INVALID_REQUEST, details=_validation_details(exc))
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, ErrorCode.INVALID_REQUEST)
        status = exc.status_code if exc.status_code >= 400 else 400
        return render_error(request, ExitRightError(code, status=status))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # The traceback goes to the operator's log (no request body, so no personal data);
        # the user gets the error model without internals.
        log.exception(  # the route's template, not the path: a path can hold a phone number
            "unhandled error on %s %s",
            request.method,
            getattr(request.scope.get("route"), "path", "?"),
        )
        return render_error(request, ExitRightError(ErrorCode.INTERNAL_ERROR))
