"""``/v1/requests``: platform back ends submit, follow, verify, revoke and reject requests.

Thin: parse → build a command → call a use case of :mod:`exitright.cancellation.services` →
render. Authentication and scopes come from :mod:`exitright.web.auth`; a key sees only the
requests it created (``admin`` sees all) and gets 404 for any other, never a hint it exists.
Responses never carry the subject's identifiers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from exitright import bootstrap
from exitright.cancellation import kinds, services
from exitright.cancellation.commands import RejectRequest, RevokeRequest, VerifyRequest
from exitright.cancellation.deadlines import Regime, is_overdue
from exitright.cancellation.errors import DomainError
from exitright.cancellation.model import Actor, RequestKind, State
from exitright.cancellation.outcomes import RejectionReason
from exitright.cancellation.ports import Identifiers, RequestRecord
from exitright.errors import ErrorCode, ExitRightError
from exitright.i18n import both
from exitright.identity.ratelimit import api_limits, submission_limiter
from exitright.protocols import notices as recipient_notices
from exitright.web.auth import Caller, require
from exitright.web.blockers import BlockerOut, blockers_out

router = APIRouter(prefix="/v1/requests", tags=["requests"])


def runtime(request: Request) -> bootstrap.Runtime:
    """The app's request workflow, wired once on first use (tests may set it beforehand)."""
    return bootstrap.runtime_for(request.app.state)


@contextmanager
def domain_errors() -> Iterator[None]:
    """The one place where workflow errors become the error model."""
    try:
        yield
    except DomainError as exc:
        raise exc.to_exitright_error() from exc


# Bodies -----------------------------------------------------------------------------------------


class IdentifiersIn(BaseModel):
    """Exactly one way to name the account: as the platform registered it."""

    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(None, max_length=32, examples=["13800138000"])
    email: str | None = Field(None, max_length=254)
    user_id: str | None = Field(None, max_length=64)

    def one(self) -> Identifiers:
        """The single identifier given, or 422."""
        given = [(k, v.strip()) for k, v in self.model_dump().items() if v and v.strip()]
        if len(given) != 1:
            raise ExitRightError(
                ErrorCode.INVALID_REQUEST,
                details={"field": "identifiers", "given": len(given)},
                message_id="api.error.one_identifier",
            )
        return Identifiers.from_dict({"kind": given[0][0], "value": given[0][1]})


class SubmitBody(BaseModel):
    """A new request: ``cancel`` and ``access`` name nothing more; ``delete`` names its items in
    ``scope``; ``correct`` gives its fields' new values in ``values``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "cancel", "identifiers": {"phone": "13800138000"}},
                {"kind": "access", "identifiers": {"phone": "13800138000"}},
                {
                    "kind": "delete",
                    "identifiers": {"user_id": "42"},
                    "scope": ["platform.search_history", "platform.addresses:7"],
                },
                {
                    "kind": "correct",
                    "identifiers": {"user_id": "42"},
                    "values": {
                        "platform.users.nickname": "小王",
                        "platform.addresses:7.detail": "上海市徐汇区漕溪北路 88 号",
                    },
                },
            ]
        },
    )

    kind: RequestKind
    identifiers: IdentifiersIn
    scope: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list,
        max_length=50,
        description="delete: the items, each `store.table` (all of the subject's rows) or "
        "`store.table:key` (one row), as the data map's `items` offer them; correct: the "
        "fields of `values` (optional)",
    )
    values: dict[
        Annotated[str, Field(min_length=1, max_length=200)],
        Annotated[str, Field(max_length=500)],
    ] = Field(
        default_factory=dict,
        max_length=20,
        description="correct: field → new value; a field is `store.table.column` (the account "
        "row) or `store.table:key.column` (one row), as the data map's `correctable` columns "
        "offer them. Each value is checked for its column's category and length; it is kept "
        "encrypted while the request is open and never appears in responses or the ledger",
    )
    regime: Regime | None = None


class RejectBody(BaseModel):
    """Why the request is refused (a reason code; the note is for operators only)."""

    model_config = ConfigDict(extra="forbid")

    reason: RejectionReason
    note: str | None = Field(None, max_length=500)


# Responses --------------------------------------------------------------------------------------


class ActorOut(BaseModel):
    """Who took a step."""

    kind: str
    id: str | None


class StepOut(BaseModel):
    """One step of the timeline."""

    at: datetime
    action: str
    from_state: str | None = Field(serialization_alias="from")
    to_state: str = Field(serialization_alias="to")
    actor: ActorOut
    reason: str | None


class FailureOut(BaseModel):
    """The last failed attempt (the request is being retried)."""

    reason: str
    at: datetime
    attempt: int
    next_attempt_at: datetime | None


class RejectionOut(BaseModel):
    """Why the request was refused, and where to appeal."""

    reason: str
    message: dict[str, str]
    appeal: dict[str, str]
    appeal_citation: str
    at: datetime


class RecipientNoticeOut(BaseModel):
    """A third party told about the request (a SET), with its answer as the outbox has it now."""

    recipient: str
    event: str = Field(description="account-purged, account-disabled or account-enabled")
    jti: str = Field(description="the SET's id; its answer is in the ledger under it")
    delivery: str = Field(description="push (RFC 8935) or poll (RFC 8936)")
    state: Literal["pending", "acknowledged", "rejected", "failed", "escalated"]
    at: datetime = Field(description="when it reached this state (queued, answered, escalated)")
    err: str | None = Field(None, description="the recipient's RFC 8935 err code, if it refused")


class RequestOut(BaseModel):
    """A request as the API shows it: state, deadline, timeline — never identifiers."""

    id: str
    kind: RequestKind
    state: State
    regime: Regime
    subject: str = Field(description="the subject's keyed pseudonym")
    scope: list[str]
    received_at: datetime
    due_at: datetime
    due_last_day: str
    provisional: bool = Field(description="the due date was counted without official data")
    overdue: bool
    cooling_off_until: datetime | None
    attempts: int
    failure: FailureOut | None
    rejection: RejectionOut | None
    certificate_url: str | None
    export_url: str | None = Field(
        None, description="an access request's zip, while it can be downloaded"
    )
    timeline: list[StepOut]
    blockers: list[BlockerOut] = Field(
        default_factory=list,
        description="while blocked: each pre-check with its explanation, resolution and link",
    )
    recipients: list[RecipientNoticeOut] = Field(
        default_factory=list,
        description="third parties told (the certificate keeps their state when it was signed)",
    )


class RequestList(BaseModel):
    """A page of requests, newest first."""

    items: list[RequestOut]
    next_cursor: str | None


def _render(record: RequestRecord, now: datetime, *, export_ready: bool = False) -> RequestOut:
    r = record.request
    failure = None
    if r.failure is not None and r.state is State.FAILED:
        failure = FailureOut(
            reason=r.failure.reason,
            at=r.failure.at,
            attempt=r.failure.attempt,
            next_attempt_at=record.next_run_at,
        )
    rejection = None
    if r.rejection is not None:
        rejection = RejectionOut(
            reason=r.rejection.reason.value,
            message=both(r.rejection.reason.message_key),
            appeal=both(r.rejection.appeal.key),
            appeal_citation=r.rejection.appeal.citation,
            at=r.rejection.at,
        )
    return RequestOut(
        id=r.id,
        kind=r.kind,
        state=r.state,
        regime=r.regime,
        subject=r.subject_ref,
        scope=list(r.scope),
        received_at=r.received_at,
        due_at=r.deadline.final_due_at,
        due_last_day=r.deadline.final_last_day.isoformat(),
        provisional=r.deadline.provisional,
        overdue=is_overdue(r, now),
        cooling_off_until=r.cooling_off_until,
        attempts=r.attempts,
        failure=failure,
        rejection=rejection,
        certificate_url=f"/v1/requests/{r.id}/certificate" if record.certificate else None,
        export_url=f"/v1/requests/{r.id}/export" if export_ready else None,
        timeline=[
            StepOut(
                at=s.at,
                action=s.action.value,
                from_state=s.source.value if s.source else None,
                to_state=s.target.value,
                actor=ActorOut(kind=s.actor.kind.value, id=s.actor.id),
                reason=s.reason,
            )
            for s in r.history
        ],
    )


def _out(rt: bootstrap.Runtime, record: RequestRecord) -> RequestOut:
    r = record.request
    ready = (
        r.kind is RequestKind.ACCESS
        and r.state is State.COMPLETED
        and rt.ports.exports is not None
        and rt.ports.exports.ready(r.id)
    )
    out = _render(record, rt.clock.now(), export_ready=ready)
    out.blockers = blockers_out(rt, r)
    out.recipients = [
        RecipientNoticeOut(
            recipient=n.recipient,
            event=n.event,
            jti=n.jti,
            delivery=n.delivery,
            state=n.shown_state,  # one of notices.SHOWN_STATES
            at=n.shown_at,
            err=n.err,
        )
        for n in recipient_notices.for_request(rt.engine, r.id)
    ]
    return out


# Endpoints --------------------------------------------------------------------------------------

Writer = Annotated[Caller, require("requests:write")]
Reader = Annotated[Caller, require("requests:read")]
Verifier = Annotated[Caller, require("requests:verify")]
Admin = Annotated[Caller, require("admin")]


@router.post(
    "",
    response_model=RequestOut,
    response_model_by_alias=True,
    status_code=201,
    responses={200: {"model": RequestOut, "description": "a repeat of an idempotent submission"}},
)
def submit(
    body: SubmitBody,
    request: Request,
    response: Response,
    caller: Writer,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> RequestOut:
    """Submit a request; repeating it with the same ``Idempotency-Key`` returns the first one."""
    rt = runtime(request)
    command = services.OpenRequest(
        kind=body.kind,
        identifiers=body.identifiers.one(),
        actor=Actor.api_key(caller.key_id),
        scope=tuple(body.scope),
        regime=body.regime,
        idempotency_key=idempotency_key or None,
        values=dict(body.values),
    )
    # Per API key: 429 rate_limited (Retry-After) past settings.submit_limit_per_key.
    limiter = submission_limiter(rt.settings, rt.engine, rt.clock)
    limiter.hit(api_limits(rt.settings, caller.key_id))
    with domain_errors():
        opened = services.submit(command, rt.uow(), rt.ports, owner=caller.key_id)
    if not opened.created:
        response.status_code = 200
    response.headers["Location"] = f"/v1/requests/{opened.record.request.id}"
    return _out(rt, opened.record)


@router.get("", response_model=RequestList, response_model_by_alias=True)
def list_requests(
    request: Request,
    caller: Reader,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> RequestList:
    """The caller's requests (every request for ``admin``), newest first."""
    rt = runtime(request)
    with domain_errors():
        page = services.list_requests(
            rt.uow(readonly=True), owner=caller.owner_filter, cursor=cursor, limit=limit
        )
    return RequestList(items=[_out(rt, r) for r in page.records], next_cursor=page.cursor)


@router.get("/{request_id}", response_model=RequestOut, response_model_by_alias=True)
def get_request(request_id: str, request: Request, caller: Reader) -> RequestOut:
    """One request: state, timeline, due date, overdue and provisional flags."""
    rt = runtime(request)
    with domain_errors():
        record = services.get_request(request_id, rt.uow(readonly=True), owner=caller.owner_filter)
    return _out(rt, record)


@router.post("/{request_id}/verify", response_model=RequestOut, response_model_by_alias=True)
def verify(request_id: str, request: Request, caller: Verifier) -> RequestOut:
    """The platform has verified the user itself (signed in): no one-time code is sent."""
    rt = runtime(request)
    command = VerifyRequest(request_id, Actor.api_key(caller.key_id))
    with domain_errors():
        record = services.verify(command, rt.uow(), rt.ports, owner=caller.owner_filter)
    return _out(rt, record)


@router.post("/{request_id}/revoke", response_model=RequestOut, response_model_by_alias=True)
def revoke(request_id: str, request: Request, caller: Writer) -> RequestOut:
    """Withdraw the request on the user's behalf (possible until execution starts)."""
    rt = runtime(request)
    command = RevokeRequest(request_id, Actor.api_key(caller.key_id))
    with domain_errors():
        record = services.revoke(command, rt.uow(), rt.ports, owner=caller.owner_filter)
    return _out(rt, record)


@router.post("/{request_id}/reject", response_model=RequestOut, response_model_by_alias=True)
def reject(request_id: str, body: RejectBody, request: Request, caller: Admin) -> RequestOut:
    """Refuse the request with a reason code; the regime's appeal route is stated."""
    rt = runtime(request)
    command = RejectRequest(request_id, Actor.operator(caller.key_id), body.reason, body.note)
    with domain_errors():
        record = services.reject(command, rt.uow(), rt.ports, owner=caller.owner_filter)
    return _out(rt, record)


CERTIFICATE_MEDIA_TYPE: Literal["application/jose"] = "application/jose"


@router.get(
    "/{request_id}/certificate",
    response_class=Response,
    responses={200: {"content": {CERTIFICATE_MEDIA_TYPE: {}}, "description": "a compact JWS"}},
)
def certificate(request_id: str, request: Request, caller: Reader) -> Response:
    """The signed deletion certificate (JWS, verifiable with ``/.well-known/jwks.json``)."""
    rt = runtime(request)
    with domain_errors():
        token = services.certificate(request_id, rt.uow(readonly=True), owner=caller.owner_filter)
    return Response(token, media_type=CERTIFICATE_MEDIA_TYPE)


ZIP_MEDIA_TYPE: Literal["application/zip"] = "application/zip"


@router.get(
    "/{request_id}/export",
    response_class=Response,
    responses={
        200: {"content": {ZIP_MEDIA_TYPE: {}}, "description": "the access export (JSON + CSV)"},
        409: {"description": "not a completed access request, or its download period is over"},
    },
)
def export(request_id: str, request: Request, caller: Reader) -> Response:
    """A completed access request's zip: per table JSON and CSV, and a labelled manifest.

    Only the key that created the request gets it (``admin`` cannot: the file is the subject's
    data). Each download is recorded in the ledger with its counts.
    """
    rt = runtime(request)
    with domain_errors():
        found = kinds.download_export(request_id, rt.uow(), rt.ports, owner=caller.key_id)
    return Response(
        found.data,
        media_type=ZIP_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{request_id}.zip"',
            "Cache-Control": "no-store",
        },
    )
