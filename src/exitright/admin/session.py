"""Who is signed in to the console, and whether their role allows the route.

The session cookie (signed, HttpOnly, SameSite=Lax) holds the operator's id, the
``session_epoch`` it was issued under and when it was issued. Each request reloads the operator,
so a disabled operator or one who signed out elsewhere is anonymous at once; a console session
ends after :data:`SESSION_MAX` whatever the cookie's own lifetime. Anonymous browsers are sent to
the sign-in page; JSON clients get 401 in the error model; a role too low gets 403.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any, Final
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from exitright import bootstrap
from exitright.admin import operators
from exitright.admin.models import Role
from exitright.admin.operators import OperatorView
from exitright.errors import ErrorCode, ExitRightError
from exitright.web.errors import wants_json

__all__ = [
    "SESSION_KEY",
    "SESSION_MAX",
    "AdminRoute",
    "SignInRequiredError",
    "current",
    "require_role",
]

SESSION_KEY = "admin"  # [operator id, session epoch, issued at (Unix seconds)]
SESSION_MAX: Final = timedelta(hours=12)  # one working day; then sign in again


class SignInRequiredError(Exception):
    """Nobody (or nobody still valid) is signed in."""


class AdminRoute(APIRoute):
    """The console's routes: an anonymous browser is redirected to the sign-in page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap the handler so SignInRequiredError becomes a redirect or a 401."""
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequiredError:
                if wants_json(request) or request.method != "GET":
                    raise ExitRightError(
                        ErrorCode.UNAUTHENTICATED, message_id="admin.error.sign_in_required"
                    ) from None
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                return RedirectResponse(
                    f"/admin/sign-in?next={quote(target, safe='')}", status_code=303
                )

        return route


def current(request: Request) -> OperatorView | None:
    """The signed-in operator, if the session names a live one."""
    stored = request.session.get(SESSION_KEY)
    if not isinstance(stored, list) or len(stored) != 3:
        return None
    operator_id, epoch, issued = stored
    if (
        not isinstance(operator_id, str)
        or not isinstance(epoch, int)
        or not isinstance(issued, int)
    ):
        return None
    now = bootstrap.runtime_for(request.app.state).clock.now()
    expired = now.timestamp() - issued > SESSION_MAX.total_seconds()
    found = operators.get_operator(request.app.state.engine, operator_id)
    if found is None or not found.active or found.session_epoch != epoch or expired:
        request.session.pop(SESSION_KEY, None)
        return None
    return found


def require_role(role: Role) -> Any:
    """A dependency: the signed-in operator, if their role includes ``role``."""

    def dependency(request: Request) -> OperatorView:
        found = current(request)
        if found is None:
            raise SignInRequiredError
        if not found.role.includes(role):
            raise ExitRightError(
                ErrorCode.FORBIDDEN,
                details={"required_role": role.value},
                message_id="admin.error.role",
                params={"role": role.value},
            )
        request.state.operator = found
        return found

    return Depends(dependency)
