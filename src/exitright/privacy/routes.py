"""The privacy centre's pages: cancel an account (signed in or not), follow the request, undo it.

Thin: read the form → call :mod:`exitright.cancellation.services` and the identity service →
render. The flow:

1. ``GET /privacy/cancel`` — what will be deleted, kept (how long, why) and who is told,
   generated from the data map (:mod:`exitright.privacy.consequences`); the cooling-off; the
   registered phone number or e-mail address.
2. ``POST /privacy/cancel`` — a cancellation request is submitted and a one-time code goes to
   the number, but only if the number is an account's (the page answers the same either way).
3. ``POST /privacy/cancel/verify`` — the person confirms and types the code; a match verifies the
   request (through the identity service's request link) and opens its status page.
4. ``GET /privacy/requests/{id}`` — the timeline; withdraw while allowed; the certificate.

The session holds ids only: the pending request and challenge, and the requests this browser
verified. Only those are shown; any other id is "not found", exactly like one that does not exist.
The phone number or address travels in the form (the engine keeps it only inside the encrypted
request).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from exitright import bootstrap
from exitright.cancellation import kinds, services
from exitright.cancellation.commands import RevokeRequest
from exitright.cancellation.deadlines import Regime
from exitright.cancellation.errors import DomainError
from exitright.cancellation.model import Actor, RequestKind, State
from exitright.cancellation.ports import ConcurrentUpdateError, Identifiers
from exitright.clock import as_utc
from exitright.datamap.model import DataMap
from exitright.errors import ErrorCode, ExitRightError
from exitright.identity import CheckStatus, Purpose, identity_for, parse_identifier
from exitright.identity.ports import Started
from exitright.identity.ratelimit import page_limits, submission_limiter
from exitright.privacy.consequences import Consequences, consequences
from exitright.privacy.status import status_view
from exitright.protocols import notices as recipient_notices
from exitright.web.blockers import blockers
from exitright.web.middleware import require_csrf
from exitright.web.templating import language, render

router = APIRouter(include_in_schema=False)

PENDING: Final = "privacy_pending"  # {"request", "challenge", "flow"} while a code is awaited
MINE: Final = "privacy_requests"  # ids of the requests this browser verified, newest last
MAX_MINE: Final = 20
CERTIFICATE_MEDIA_TYPE: Final = "application/jose"
# The flows that verify with a one-time code: the page each starts from, and its wording.
FLOWS: Final = ("cancel", "access", "delete", "correct")


def runtime(request: Request) -> bootstrap.Runtime:
    """The app's request workflow (the same one the API and the worker use)."""
    return bootstrap.runtime_for(request.app.state)


def datamap_of(rt: bootstrap.Runtime) -> DataMap | None:
    """The data map the workflow runs on (None: this deployment has none)."""
    eraser = rt.ports.eraser
    return eraser.dm if isinstance(eraser, bootstrap.EngineEraser) else None


def _consequences(rt: bootstrap.Runtime) -> Consequences | None:
    dm = datamap_of(rt)
    # No data map: this deployment cannot carry out a cancellation.
    return consequences(dm) if dm is not None else None


def _is_dev(request: Request) -> bool:
    return bool(request.app.state.settings.environment == "development")


def _page(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    rt = runtime(request)
    policy = rt.ports.deadlines.get(rt.ports.default_regime)
    deployment = {
        "cooling_off_days": rt.ports.cooling_off.days,
        # The promised working days (cn); other regimes count calendar time and say so.
        "deadline_days": policy.working_days if policy and policy.regime is Regime.CN else None,
        "dev": _is_dev(request),
    }
    ctx = {**deployment, **context}
    return render(request, f"privacy/{template}", ctx, status_code=status_code)


def _see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _mine(request: Request) -> list[str]:
    ids = request.session.get(MINE)
    return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []


def _pending(request: Request, flow: str | None = None) -> tuple[str, str] | None:
    """The request and challenge awaiting a code (of ``flow``, when given)."""
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    req, challenge = pending.get("request"), pending.get("challenge")
    if flow is not None and pending.get("flow", "cancel") != flow:
        return None
    if isinstance(req, str) and isinstance(challenge, str):
        return req, challenge
    return None


def _flow(flow: str) -> str:
    """404 for a path that names no flow."""
    if flow not in FLOWS:
        raise ExitRightError(ErrorCode.NOT_FOUND)
    return flow


def _withdraw(rt: bootstrap.Runtime, request_id: str) -> None:
    """Withdraw a request that was never verified (the person left, or started again)."""
    try:
        record = services.get_request(request_id, rt.uow(readonly=True))
        if record.request.state is State.SUBMITTED:
            services.revoke(RevokeRequest(request_id, Actor.user()), rt.uow(), rt.ports)
    except DomainError:
        pass  # already moved on (verified elsewhere, or gone): nothing to withdraw


def _drop_pending(request: Request, rt: bootstrap.Runtime) -> None:
    pending = _pending(request)
    request.session.pop(PENDING, None)
    if pending is not None:
        _withdraw(rt, pending[0])


def _own(request: Request, request_id: str) -> None:
    """404 unless this browser verified the request (never a hint that it exists)."""
    if request_id not in _mine(request):
        raise ExitRightError(ErrorCode.NOT_FOUND, details={"request": request_id[:40]})


def _domain(exc: DomainError) -> ExitRightError:
    return exc.to_exitright_error()


# The privacy centre --------------------------------------------------------------------------


@router.get("/privacy", response_class=HTMLResponse)
def centre(request: Request) -> HTMLResponse:
    """The privacy centre: the rights on offer and this browser's requests."""
    rt = runtime(request)
    rows = []
    for request_id in reversed(_mine(request)):
        try:
            record = services.get_request(request_id, rt.uow(readonly=True))
        except DomainError:
            continue
        rows.append({"id": request_id, "state_key": f"requests.state.{record.request.state.value}"})
    return _page(request, "centre.html", requests=rows)


@router.get("/.well-known/delete-account", response_class=RedirectResponse, status_code=302)
def well_known_delete_account() -> RedirectResponse:
    """The store-listing address of the account-deletion page (Google Play's web link)."""
    return RedirectResponse("/privacy/cancel", status_code=302)


# Cancel: consequences → code → confirm ------------------------------------------------------


def _cancel_page(request: Request, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    rt = runtime(request)
    ctx: dict[str, Any] = {"error": None, "contact": "", "params": {}}
    ctx.update(context)
    return _page(request, "cancel.html", status_code=status_code, c=_consequences(rt), **ctx)


@router.get("/privacy/cancel", response_class=HTMLResponse)
def cancel_form(request: Request) -> HTMLResponse:
    """What cancelling does, generated from the data map; the registered phone or e-mail.

    A user signed in to the demo shop finds their phone already filled in (not submitted).
    """
    from exitright.demo.web import signed_in_phone  # the demo shop's session, when it runs

    return _cancel_page(request, contact=signed_in_phone(request))


def _code_page(
    request: Request,
    started: Started | None,
    contact: str,
    *,
    status_code: int = 200,
    flow: str = "cancel",
    **ctx: Any,
) -> HTMLResponse:
    context: dict[str, Any] = {"error": None, "params": {}, "notice": None, "confirmed": False}
    context.update(ctx)
    context["flow"] = flow
    return _page(
        request,
        "verify.html",
        status_code=status_code,
        started=started,
        contact=contact,
        **context,
    )


def _factor(contact: str) -> str:
    """Which registered identifier the person typed: an e-mail address has an @."""
    return "email" if "@" in contact else "phone"


def start_flow(
    request: Request,
    flow: str,
    contact: str,
    form: Callable[..., HTMLResponse],
    *,
    kind: RequestKind,
    scope: tuple[str, ...] = (),
    values: Mapping[str, str] | None = None,
) -> Response:
    """Submit a request of ``kind`` and send a code to the phone or address (if an account's).

    ``form`` re-renders the flow's first page with an error (status, error key, params).
    """
    rt = runtime(request)
    contact = contact.strip()[:254]
    factor = _factor(contact)
    try:
        identifier = parse_identifier(factor, contact)
    except ExitRightError as exc:
        return form(request, status_code=422, error=exc.msgid, contact=contact)
    _drop_pending(request, rt)
    named = Identifiers(
        "email" if factor == "email" else "phone", identifier.national_mobile or identifier.value
    )
    settings = request.app.state.settings
    address = request.client.host if request.client else ""
    try:  # per client address and per identifier (keyed hashes): 429 past the limit
        limiter = submission_limiter(settings, rt.engine, rt.clock)
        limiter.hit(page_limits(settings, address, named.kind, named.value))
    except ExitRightError as exc:
        status, msgid, params = exc.http_status, exc.msgid, exc.params
        limited = form(request, status_code=status, error=msgid, params=params, contact=contact)
        limited.headers["Retry-After"] = str(exc.details.get("retry_after", 60))
        return limited
    command = services.OpenRequest(
        kind=kind, identifiers=named, actor=Actor.user(), scope=scope, values=dict(values or {})
    )
    try:
        opened = services.submit(command, rt.uow(), rt.ports)
    except DomainError as exc:
        error = exc.to_exitright_error()
        if error.http_status >= 500 or error.code is not ErrorCode.INVALID_REQUEST:
            raise error from exc
        return form(
            request, status_code=422, error=error.msgid, params=error.params, contact=contact
        )
    request_id = opened.record.request.id
    try:
        started = identity_for(request.app.state).start(
            Purpose.REQUEST, factor, contact, request_id=request_id, lang=language(request)
        )
    except ExitRightError as exc:
        _withdraw(rt, request_id)  # no code went out: the request cannot be verified
        return form(
            request,
            status_code=exc.http_status,
            error=exc.msgid,
            params=exc.params,
            contact=contact,
        )
    request.session[PENDING] = {
        "request": request_id,
        "challenge": started.challenge_id,
        "flow": flow,
    }
    return _code_page(request, started, contact, notice=started.message_id, flow=flow)


@router.post("/privacy/cancel", response_model=None, dependencies=[Depends(require_csrf)])
def cancel_start(request: Request, contact: str = Form("")) -> Response:
    """Submit the cancellation and send a code to the phone or address (if it is an account's)."""
    return start_flow(request, "cancel", contact, _cancel_page, kind=RequestKind.CANCEL)


@router.get("/privacy/{flow}/verify", response_class=RedirectResponse)
def verify_again(flow: str) -> RedirectResponse:
    """A reloaded or bookmarked code page: the number is not kept, so start from the page."""
    return _see_other(f"/privacy/{_flow(flow)}")


@router.post("/privacy/{flow}/verify", response_model=None, dependencies=[Depends(require_csrf)])
def verify(
    request: Request,
    flow: str,
    contact: str = Form(""),
    code: str = Form(""),
    confirm: str = Form(""),
) -> Response:
    """Confirm and check the code: a match verifies the request and opens its status page."""
    rt = runtime(request)
    pending = _pending(request, _flow(flow))
    if pending is None:
        return _see_other(f"/privacy/{flow}")
    request_id, challenge_id = pending
    contact = contact.strip()[:254]
    if confirm != "yes":
        return _code_page(
            request, None, contact, status_code=422, error="privacy.error.confirm", flow=flow
        )
    checked = identity_for(request.app.state).check(challenge_id, contact, code.strip()[:12])
    if checked.status is CheckStatus.VERIFIED and checked.request_verified:
        request.session.pop(PENDING, None)
        request.session[MINE] = [*_mine(request), request_id][-MAX_MINE:]
        return _see_other(f"/privacy/requests/{request_id}")
    if checked.status is CheckStatus.CHANGED_HANDS:
        _drop_pending(request, rt)
        return _page(request, "changed_hands.html", status_code=409)
    params: dict[str, Any] = {"attempts_left": checked.attempts_left}
    if checked.locked_until is not None:
        wait = as_utc(checked.locked_until) - as_utc(rt.clock.now())
        params["retry_after"] = max(1, int(wait.total_seconds()))
    key = checked.message_id if checked.status is not CheckStatus.VERIFIED else "identity.otp.error"
    locked = checked.status is CheckStatus.LOCKED  # the limit of wrong codes: 429, like the API
    page = _code_page(
        request,
        None,
        contact,
        status_code=429 if locked else 422,
        error=key,
        params=params,
        confirmed=True,
        flow=flow,
    )
    if locked and "retry_after" in params:
        page.headers["Retry-After"] = str(params["retry_after"])
    return page


@router.post("/privacy/{flow}/resend", response_model=None, dependencies=[Depends(require_csrf)])
def resend(request: Request, flow: str, contact: str = Form("")) -> Response:
    """A new code for the same request (the identity service's limits apply)."""
    pending = _pending(request, _flow(flow))
    if pending is None:
        return _see_other(f"/privacy/{flow}")
    contact = contact.strip()[:254]
    try:
        identity = identity_for(request.app.state)
        started = identity.resend(pending[1], contact, lang=language(request))
    except ExitRightError as exc:
        return _code_page(
            request,
            None,
            contact,
            status_code=exc.http_status,
            error=exc.msgid,
            params=exc.params,
            flow=flow,
        )
    return _code_page(request, started, contact, notice=started.message_id, flow=flow)


@router.post("/privacy/{flow}/abandon", dependencies=[Depends(require_csrf)])
def abandon(request: Request, flow: str) -> RedirectResponse:
    """Not now: the unverified request is withdrawn, nothing else happened."""
    target = f"/privacy/{_flow(flow)}"
    _drop_pending(request, runtime(request))
    return _see_other(target)


# A request's status -------------------------------------------------------------------------


@router.get("/privacy/requests/{request_id}", response_class=HTMLResponse)
def status(request: Request, request_id: str) -> HTMLResponse:
    """The timeline, the due date, the cooling-off and what can be done now."""
    _own(request, request_id)
    rt = runtime(request)
    try:
        record = services.get_request(request_id, rt.uow(readonly=True))
    except DomainError as exc:
        raise _domain(exc) from exc
    zone = rt.ports.deadlines[record.request.regime].timezone
    told = recipient_notices.for_request(rt.engine, request_id)  # acknowledgements, live
    view = status_view(record, zone, as_utc(rt.clock.now()), told)
    ready = record.request.kind is RequestKind.ACCESS and kinds.export_ready(
        request_id, rt.uow(readonly=True), rt.ports, owner=None
    )
    held = blockers(rt, record.request)  # each with its texts, link and resolution kind
    return _page(request, "status.html", r=view, export_ready=ready, held=held)


@router.post("/privacy/requests/{request_id}/recheck", dependencies=[Depends(require_csrf)])
def recheck(request: Request, request_id: str) -> RedirectResponse:
    """Check again, now: run a blocked request's pre-checks (the worker does the rest)."""
    _own(request, request_id)
    rt = runtime(request)
    command = services.AdvanceRequest(request_id, "recheck", recheck=True)
    try:
        services.advance(command, rt.uow(), rt.ports)
    except DomainError as exc:
        if not isinstance(exc, ConcurrentUpdateError):  # the worker moved it meanwhile: fine
            raise _domain(exc) from exc
    return _see_other(f"/privacy/requests/{request_id}")


@router.post("/privacy/requests/{request_id}/revoke", dependencies=[Depends(require_csrf)])
def revoke(request: Request, request_id: str) -> RedirectResponse:
    """Withdraw the request (possible until processing starts)."""
    _own(request, request_id)
    rt = runtime(request)
    try:
        services.revoke(RevokeRequest(request_id, Actor.user()), rt.uow(), rt.ports)
    except DomainError as exc:
        raise _domain(exc) from exc
    return _see_other(f"/privacy/requests/{request_id}")


@router.get("/privacy/requests/{request_id}/certificate", response_class=Response)
def certificate(request: Request, request_id: str) -> Response:
    """The signed deletion certificate as a file (check it at /certificates/verify)."""
    _own(request, request_id)
    rt = runtime(request)
    try:
        token = services.certificate(request_id, rt.uow(readonly=True))
    except DomainError as exc:
        raise _domain(exc) from exc
    return Response(
        token,
        media_type=CERTIFICATE_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{request_id}.jws"'},
    )


# Development only ---------------------------------------------------------------------------


@router.get("/privacy/dev/codes", response_class=HTMLResponse)
def dev_codes(request: Request) -> HTMLResponse:
    """Developer page: the codes the console provider "sent" (no SMS gateway in development)."""
    if not _is_dev(request):
        raise ExitRightError(ErrorCode.NOT_FOUND)
    identity_for(request.app.state)  # builds the console provider on first use
    console = getattr(request.app.state, "identity_console", None)
    codes = console.recent() if console is not None else []
    return _page(request, "dev_codes.html", codes=codes)
