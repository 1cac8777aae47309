"""``/v1/identifiers``: has a phone number changed hands (for other platforms); operator marks.

Thin: parse → call :class:`~exitright.identity.recycled.RecycledGuard` → render. Responses
never echo the number (only its masked form). Authentication is the /v1 API key
(:mod:`exitright.web.auth`): reading a status needs ``requests:read``, recording a mark ``admin``.
"""

from __future__ import annotations

import threading
from datetime import date

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from exitright.identity.identifiers import mask, parse_identifier
from exitright.identity.otp import Factor
from exitright.identity.recycled import RecycledGuard, Source
from exitright.identity.wiring import build_guard
from exitright.web.auth import Caller, require

router = APIRouter(prefix="/v1/identifiers", tags=["identifiers"])
_lock = threading.Lock()


def guard(request: Request) -> RecycledGuard:
    """The app's recycled-number guard (built once, on first use)."""
    state = request.app.state
    with _lock:
        existing: RecycledGuard | None = getattr(state, "identity_guard", None)
        if existing is None:
            clock = getattr(state, "clock", None)
            existing = build_guard(state.settings, state.engine, clock)
            state.identity_guard = existing
    return existing


class StatusOut(BaseModel):
    """Whether the number went to a new holder after ``since`` (``null``: nobody could tell)."""

    phone: str = Field(description="the number, masked")
    since: date
    recycled: bool | None
    recycled_on: date | None = Field(None, description="the day it changed hands, if known")
    source: Source | None = None
    checked: list[str] = Field(description="what was consulted: marks, lookup")


class MarkIn(BaseModel):
    """An operator's mark: this number went to a new holder on ``recycled_on``."""

    model_config = ConfigDict(extra="forbid")

    phone: str = Field(max_length=32, examples=["13800138000"])
    recycled_on: date
    reference: str | None = Field(None, max_length=200, description="e.g. a ticket id; no PI")


class MarkOut(BaseModel):
    """The mark as stored (the number masked)."""

    id: str
    phone: str
    recycled_on: date
    source: Source


@router.get("/{phone}/status", response_model=StatusOut)
def identifier_status(
    request: Request,
    phone: str = Path(max_length=32, description="the phone number, any common form"),
    since: date = Query(description="YYYY-MM-DD: the day your account last verified it"),
    _caller: Caller = require("requests:read"),
) -> StatusOut:
    """Has this number changed hands after ``since``? Local marks first, then a carrier look-up."""
    identifier = parse_identifier(Factor.PHONE, phone)
    found = guard(request).status(identifier, since)
    return StatusOut(
        phone=mask(identifier),
        since=found.since,
        recycled=found.recycled,
        recycled_on=found.recycled_on,
        source=found.source,
        checked=list(found.checked),
    )


@router.post("/recycled", response_model=MarkOut, status_code=201)
def mark_recycled(request: Request, body: MarkIn, caller: Caller = require("admin")) -> MarkOut:
    """Record that a number went to a new holder (idempotent); the ledger records it too."""
    identifier = parse_identifier(Factor.PHONE, body.phone)
    reference = body.reference or f"api:{caller.key_id}"
    mark = guard(request).mark_recycled(
        identifier, body.recycled_on, Source.OPERATOR, reference=reference
    )
    return MarkOut(
        id=mark.id, phone=mask(identifier), recycled_on=mark.recycled_on, source=mark.source
    )
