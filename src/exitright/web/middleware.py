"""Cross-cutting HTTP behaviour: the visitor's language, CSRF tokens and security headers."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Form, Request, Response

from exitright.errors import ErrorCode, ExitRightError
from exitright.i18n import normalize_language, pick_language
from exitright.web.errors import wants_json

LANG_COOKIE = "lang"

# No inline script or style anywhere: pages work without JavaScript, and CSP can stay strict.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
# Swagger UI at /docs loads its own script and styles; it gets a policy of its own.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data: https://fastapi.tiangolo.com; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; frame-ancestors 'none'"
)

Next = Callable[[Request], Awaitable[Response]]


def install(app: FastAPI, default_language: str, secure_cookies: bool) -> None:
    """Add the language, CSRF and header middleware to ``app``."""

    @app.middleware("http")
    async def _language_and_headers(request: Request, call_next: Next) -> Response:
        chosen = request.query_params.get("lang")
        if chosen:
            lang = normalize_language(chosen, default_language)
        elif request.cookies.get(LANG_COOKIE):
            lang = normalize_language(request.cookies[LANG_COOKIE], default_language)
        else:
            lang = pick_language(request.headers.get("accept-language"), default_language)
        request.state.lang = lang
        # Only pages carry forms; API calls must not get a session cookie they never use.
        if "session" in request.scope and not wants_json(request):
            token = request.session.get("csrf")
            if not token:
                token = secrets.token_urlsafe(32)
                request.session["csrf"] = token
            request.state.csrf_token = token
        response = await call_next(request)
        if chosen:
            response.set_cookie(
                LANG_COOKIE,
                lang,
                max_age=365 * 86400,
                samesite="lax",
                secure=secure_cookies,
                httponly=True,
            )
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path in ("/docs", "/docs/oauth2-redirect", "/redoc"):
            response.headers["Content-Security-Policy"] = DOCS_CSP
        return response


async def require_csrf(request: Request, csrf_token: str = Form("")) -> None:
    """Dependency for every form POST: the token must match the one in the session."""
    expected = request.session.get("csrf", "") if "session" in request.scope else ""
    if not expected or not secrets.compare_digest(expected, csrf_token):
        raise ExitRightError(
            ErrorCode.FORBIDDEN, message_id="error.csrf", details={"reason": "csrf"}
        )
