"""The admin console's pages under ``/admin``: sign-in, queue and health, request detail, actions.

Thin: parse → check the role → call a use case of :mod:`exitright.cancellation.services` (or a
read query of :mod:`exitright.admin.queries`) → render. Every action runs as
``Actor.operator(<operator id>)``, so the timeline and the ledger record it. Roles:

===================================  ======  ========  =====
route                                viewer  operator  admin
===================================  ======  ========  =====
GET  /admin/ (queue, health)         yes     yes       yes
GET  /admin/requests/{id}            yes     yes       yes
POST …/{id}/verify, /reject, /retry  no      yes       yes
GET, POST /admin/operators…          no      no        yes
===================================  ======  ========  =====
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from exitright import bootstrap
from exitright.admin import operators, queries
from exitright.admin.masking import mask
from exitright.admin.models import Role
from exitright.admin.operators import OperatorView
from exitright.admin.session import SESSION_KEY, AdminRoute, current, require_role
from exitright.cancellation import services
from exitright.cancellation.commands import RejectRequest, RetryRequest, VerifyRequest
from exitright.cancellation.deadlines import is_overdue
from exitright.cancellation.errors import DomainError
from exitright.cancellation.model import Action, Actor, ActorKind, RequestKind, State
from exitright.cancellation.outcomes import APPEAL_ROUTES, RejectionReason
from exitright.errors import ErrorCode, ExitRightError
from exitright.keys import load_key
from exitright.pii.detect import kinds
from exitright.web.middleware import require_csrf
from exitright.web.templating import render

__all__ = ["router"]

router = APIRouter(prefix="/admin", include_in_schema=False, route_class=AdminRoute)

Viewer = Annotated[OperatorView, require_role(Role.VIEWER)]
Worker = Annotated[OperatorView, require_role(Role.OPERATOR)]
Admin = Annotated[OperatorView, require_role(Role.ADMIN)]
CSRF = [Depends(require_csrf)]
NOTE_MAX: Final = 500
# A note is free text kept in the timeline: refuse what looks like a subject's identifiers.
_NOTE_FORBIDDEN: Final = frozenset({"phone", "email", "id_number", "bank_card"})
_FLASHES: Final = frozenset({"verified", "rejected", "retried", "created", "disabled"})


def _runtime(request: Request) -> bootstrap.Runtime:
    return bootstrap.runtime_for(request.app.state)


@contextmanager
def _domain_errors() -> Iterator[None]:
    try:
        yield
    except DomainError as exc:
        raise exc.to_exitright_error() from exc


def _fmt(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


def _page(
    request: Request, template: str, operator: OperatorView | None, status_code: int = 200,
    **context: Any,
) -> HTMLResponse:  # fmt: skip
    flash = request.query_params.get("done", "")
    return render(
        request,
        template,
        {
            "operator": operator,
            "fmt": _fmt,
            "Role": Role,
            "flash": flash if flash in _FLASHES else "",
            **context,
        },
        status_code=status_code,
    )


def _safe_next(target: str) -> str:
    # Only our own console: never an absolute or scheme-relative URL (no open redirect).
    if target.startswith("/admin") and not target.startswith("//") and "\\" not in target:
        return target
    return "/admin/"


# Signing in and out -----------------------------------------------------------------------------


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(
    request: Request, next_url: Annotated[str, Query(alias="next", max_length=500)] = "/admin/"
) -> Response:
    """The sign-in form (a signed-in operator goes straight to the queue)."""
    if current(request) is not None:
        return RedirectResponse(_safe_next(next_url), status_code=303)
    return _page(
        request, "admin/sign_in.html", None, next=_safe_next(next_url), error=None, name=""
    )


@router.post("/sign-in", response_class=HTMLResponse, dependencies=CSRF)
def sign_in(
    request: Request,
    name: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=500)] = "/admin/",
) -> Response:
    """Check the name and password under the rate limits; start a session."""
    rt = _runtime(request)
    guard = operators.SignInGuard(
        request.app.state.engine, rt.clock, load_key(request.app.state.settings, "secret")
    )
    address = request.client.host if request.client else "unknown"
    try:
        found = guard.sign_in(name, password, address)
    except ExitRightError as exc:
        headers = (
            {"Retry-After": str(exc.details["retry_after"])}
            if "retry_after" in exc.details
            else None
        )
        response = _page(
            request,
            "admin/sign_in.html",
            None,
            status_code=exc.http_status,
            next=_safe_next(next_url),
            error=exc,
            name=name.strip()[:64],
        )
        if headers:
            response.headers.update(headers)
        return response
    # A fresh CSRF token for the new privilege level; the session holds ids only.
    request.session["csrf"] = secrets.token_urlsafe(32)
    issued = int(rt.clock.now().timestamp())
    request.session[SESSION_KEY] = [found.id, found.session_epoch, issued]
    return RedirectResponse(_safe_next(next_url), status_code=303)


@router.post("/sign-out", dependencies=CSRF)
def sign_out(request: Request) -> Response:
    """End this operator's sessions everywhere and go back to the sign-in page."""
    found = current(request)
    if found is not None:
        operators.sign_out(request.app.state.engine, found.id)
    request.session.pop(SESSION_KEY, None)
    request.session["csrf"] = secrets.token_urlsafe(32)
    return RedirectResponse("/admin/sign-in", status_code=303)


# The queue and the health strip -----------------------------------------------------------------

_STATE_CHOICES: Final = ("open", "all", *(s.value for s in State))
_KIND_CHOICES: Final = ("", *(k.value for k in RequestKind))


@router.get("/", response_class=HTMLResponse)
def queue_page(
    request: Request,
    operator: Viewer,
    state: Annotated[str, Query(max_length=20)] = "open",
    kind: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The queue (overdue first, then soonest due) under the health strip."""
    if state not in _STATE_CHOICES or kind not in _KIND_CHOICES:
        raise ExitRightError(
            ErrorCode.INVALID_REQUEST,
            details={"field": "state" if state not in _STATE_CHOICES else "kind"},
            message_id="admin.error.bad_filter",
        )
    rt = _runtime(request)
    now = rt.clock.now()
    flt = queries.QueueFilter(state=state, kind=kind, q=q, page=page)
    engine = request.app.state.engine
    return _page(
        request,
        "admin/queue.html",
        operator,
        queue=queries.queue(engine, now, flt),
        health=queries.health(engine, now),
        flt=flt,
        states=_STATE_CHOICES,
        kinds=_KIND_CHOICES,
    )


# One request ------------------------------------------------------------------------------------


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_page(request_id: str, request: Request, operator: Viewer) -> HTMLResponse:
    """A request's timeline, deadline, erasure plan, third parties told and ledger entries."""
    rt = _runtime(request)
    with _domain_errors():
        record = services.get_request(request_id, rt.uow(readonly=True))
    r = record.request
    acting = Actor.operator(operator.id)
    may_act = operator.role.includes(Role.OPERATOR)
    # Identifiers exist only while the request is open; a viewer never sees them, an operator
    # sees them masked (enough to match a phone call).
    masked = mask(record.identifiers) if may_act and record.identifiers is not None else None
    operator_ids = {
        s.actor.id for s in r.history if s.actor.kind is ActorKind.OPERATOR and s.actor.id
    }
    return _page(
        request,
        "admin/request.html",
        operator,
        record=record,
        r=r,
        overdue=is_overdue(r, rt.clock.now()),
        masked=masked,
        names=operators.names_by_id(request.app.state.engine, operator_ids),
        around=queries.detail(request.app.state.engine, r.id),
        can_verify=may_act and r.can(Action.VERIFY, acting),
        can_reject=may_act and r.can(Action.REJECT, acting),
        can_retry=may_act and r.can(Action.RETRY, acting),
        reasons=list(RejectionReason),
        appeal=APPEAL_ROUTES[r.regime],
    )


@router.post("/requests/{request_id}/verify", dependencies=CSRF)
def verify(request_id: str, request: Request, operator: Worker) -> Response:
    """The operator checked the requester's identity themselves."""
    rt = _runtime(request)
    with _domain_errors():
        services.verify(VerifyRequest(request_id, Actor.operator(operator.id)), rt.uow(), rt.ports)
    return RedirectResponse(f"/admin/requests/{request_id}?done=verified", status_code=303)


@router.post("/requests/{request_id}/reject", dependencies=CSRF)
def reject(
    request_id: str,
    request: Request,
    operator: Worker,
    reason: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=NOTE_MAX)] = "",
) -> Response:
    """Refuse the request with a reason code and a note; the appeal route is recorded with it."""
    try:
        code = RejectionReason(reason)
    except ValueError:
        raise ExitRightError(
            ErrorCode.INVALID_REQUEST,
            details={"field": "reason"},
            message_id="admin.error.bad_reason",
        ) from None
    text = note.strip() or None
    if text is not None and kinds(text) & _NOTE_FORBIDDEN:
        raise ExitRightError(
            ErrorCode.INVALID_REQUEST,
            details={"field": "note"},
            message_id="admin.error.note_personal_data",
        )
    rt = _runtime(request)
    command = RejectRequest(request_id, Actor.operator(operator.id), code, text)
    with _domain_errors():
        services.reject(command, rt.uow(), rt.ports)
    return RedirectResponse(f"/admin/requests/{request_id}?done=rejected", status_code=303)


@router.post("/requests/{request_id}/retry", dependencies=CSRF)
def retry(request_id: str, request: Request, operator: Worker) -> Response:
    """Send a failed request back to execution now (the next worker round resumes its plan)."""
    rt = _runtime(request)
    with _domain_errors():
        services.retry(RetryRequest(request_id, Actor.operator(operator.id)), rt.uow(), rt.ports)
    return RedirectResponse(f"/admin/requests/{request_id}?done=retried", status_code=303)


# Operators (admin only) -------------------------------------------------------------------------


def _operators_page(
    request: Request, operator: OperatorView, *, error: ExitRightError | None = None
) -> HTMLResponse:
    return _page(
        request,
        "admin/operators.html",
        operator,
        status_code=error.http_status if error else 200,
        operators=operators.list_operators(request.app.state.engine),
        roles=list(Role),
        error=error,
        now=_runtime(request).clock.now(),
    )


@router.get("/operators", response_class=HTMLResponse)
def operators_page(request: Request, operator: Admin) -> HTMLResponse:
    """Every operator, and a form to add one."""
    return _operators_page(request, operator)


@router.post("/operators", dependencies=CSRF)
def create_operator(
    request: Request,
    operator: Admin,
    name: Annotated[str, Form(max_length=64)] = "",
    role: Annotated[str, Form(max_length=16)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Add an operator with a role and an initial password."""
    rt = _runtime(request)
    try:
        operators.create_operator(
            request.app.state.engine, rt.clock, name, operators.parse_role(role), password
        )
    except ExitRightError as exc:
        return _operators_page(request, operator, error=exc)
    return RedirectResponse("/admin/operators?done=created", status_code=303)


@router.post("/operators/{operator_id}/disable", dependencies=CSRF)
def disable_operator(operator_id: str, request: Request, operator: Admin) -> Response:
    """Disable an operator; their sessions end at once (never one's own account)."""
    if operator_id == operator.id:
        return _operators_page(
            request,
            operator,
            error=ExitRightError(ErrorCode.CONFLICT, message_id="admin.error.disable_self"),
        )
    operators.disable_operator(
        request.app.state.engine, _runtime(request).clock, operator_id=operator_id
    )
    return RedirectResponse("/admin/operators?done=disabled", status_code=303)
