"""The privacy centre's "Download my data" (an access request) and the download itself.

Thin, like :mod:`exitright.privacy.routes` (whose one-time-code flow it shares):

1. ``GET /privacy/access`` — what the download holds (every table linked to the account, with
   its personal-data categories, generated from the data map), its formats and how long it can
   be fetched; the registered phone number or e-mail address.
2. ``POST /privacy/access`` — an access request is submitted and a code is sent; the code page
   and its ``/privacy/access/verify`` are the cancellation's, worded for a download.
3. ``GET /privacy/requests/{id}/export`` — the zip, for the browser that verified the request
   (the status page links to it once it is ready); the ledger records the download.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from exitright.cancellation import kinds
from exitright.cancellation.errors import DomainError
from exitright.cancellation.model import RequestKind
from exitright.privacy.export import exported_tables
from exitright.privacy.routes import _own, _page, datamap_of, runtime, start_flow
from exitright.web.middleware import require_csrf

__all__ = ["access_page", "export_filename", "router"]

router = APIRouter(include_in_schema=False)

ZIP_MEDIA_TYPE = "application/zip"


def export_filename(request_id: str) -> str:
    """The download's file name."""
    return f"my-data-{request_id}.zip"


def access_page(request: Request, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The "Download my data" page (again, with an error, when the form was refused)."""
    rt = runtime(request)
    dm = datamap_of(rt)
    ctx: dict[str, Any] = {"error": None, "contact": "", "params": {}}
    ctx.update(context)
    return _page(
        request,
        "access.html",
        status_code=status_code,
        tables=exported_tables(dm) if dm is not None else [],
        expiry_days=rt.settings.export_expiry_days,
        **ctx,
    )


@router.get("/privacy/access", response_class=HTMLResponse)
def access_form(request: Request) -> HTMLResponse:
    """What the download holds, generated from the data map; the registered phone or e-mail."""
    return access_page(request)


@router.post("/privacy/access", response_model=None, dependencies=[Depends(require_csrf)])
def access_start(request: Request, contact: str = Form("")) -> Response:
    """Submit the access request and send a code to the phone or address (if an account's)."""
    return start_flow(request, "access", contact, access_page, kind=RequestKind.ACCESS)


@router.get("/privacy/requests/{request_id}/export", response_class=Response)
def download(request: Request, request_id: str) -> Response:
    """The zip of a completed access request, to the browser that verified it."""
    _own(request, request_id)
    rt = runtime(request)
    try:
        found = kinds.download_export(request_id, rt.uow(), rt.ports, owner=None)
    except DomainError as exc:
        raise exc.to_exitright_error() from exc
    return Response(
        found.data,
        media_type=ZIP_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{export_filename(request_id)}"',
            "Cache-Control": "no-store",
        },
    )
