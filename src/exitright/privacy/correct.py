"""The privacy centre's "Correct my data": new values, a code, the rows updated.

Thin, like :mod:`exitright.privacy.routes` (whose one-time-code flow it shares):

1. ``GET /privacy/correct`` — a field for each correctable column of the account (from the data
   map). A signed-in platform page can link here with ``?row=platform.addresses:42`` to add the
   fields of one of its rows. Current values are never shown: nobody has proven who they are.
2. ``POST /privacy/correct`` — the filled-in fields (each checked for its category) become a
   correct request; a code is sent; ``/privacy/correct/verify`` confirms. The new values are
   kept encrypted until the request ends (:mod:`exitright.privacy.corrections`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from exitright.cancellation.model import RequestKind
from exitright.datamap.items import parse_ref
from exitright.datamap.model import DataMap
from exitright.privacy.corrections import MAX_FIELDS, check_value, correctable_fields
from exitright.privacy.routes import _page, datamap_of, runtime, start_flow
from exitright.web.middleware import require_csrf

__all__ = ["Field", "fields", "router"]

router = APIRouter(include_in_schema=False)
PREFIX = "value:"  # form inputs are named value:<field reference>


@dataclass(frozen=True)
class Field:
    """One input of the page."""

    ref: str  # platform.users.nickname, platform.addresses:42.detail
    table: str
    column: str
    category: str
    row: str | None  # the row's key for a field of another table
    value: str = ""  # what the person typed (re-shown after an error), never the stored value


def fields(dm: DataMap, rows: list[str], typed: dict[str, str] | None = None) -> list[Field]:
    """The account's correctable fields, then those of each row a platform page named."""
    typed = typed or {}
    out: list[Field] = []
    wanted = [r for r in (parse_ref(x) for x in rows) if r is not None and r.key is not None]
    for store, table, column, category, is_subject in correctable_fields(dm):
        if is_subject:
            ref = f"{store}.{table}.{column}"
            out.append(Field(ref, table, column, category, None, typed.get(ref, "")))
    for row in dict.fromkeys(wanted):
        for store, table, column, category, is_subject in correctable_fields(dm):
            if not is_subject and (store, table) == (row.store, row.table):
                ref = f"{row}.{column}"
                out.append(Field(ref, table, column, category, row.key, typed.get(ref, "")))
    return out


def correct_page(
    request: Request,
    *,
    status_code: int = 200,
    rows: list[str] | None = None,
    typed: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The "Correct my data" page (again, with an error, when the form was refused)."""
    dm = datamap_of(runtime(request))
    ctx: dict[str, Any] = {"error": None, "contact": "", "params": {}}
    ctx.update(context)
    shown = fields(dm, rows or [], typed) if dm is not None else []
    return _page(
        request,
        "correct.html",
        status_code=status_code,
        fields=shown,
        rows=rows or [],
        prefix=PREFIX,
        **ctx,
    )


@router.get("/privacy/correct", response_class=HTMLResponse)
def correct_form(
    request: Request, row: Annotated[list[str] | None, Query(max_length=10)] = None
) -> HTMLResponse:
    """The correctable fields, generated from the data map (and rows a platform named)."""
    return correct_page(request, rows=[r[:200] for r in row or []])


def _typed(form: FormData) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in form.multi_items():
        if name.startswith(PREFIX) and isinstance(value, str) and value.strip():
            out[name.removeprefix(PREFIX)[:200]] = value[:500]
    return out


async def form_data(request: Request) -> FormData:
    """The posted form (read once; the CSRF check has already read it)."""
    return await request.form()


@router.post("/privacy/correct", response_model=None, dependencies=[Depends(require_csrf)])
def correct_start(request: Request, form: Annotated[FormData, Depends(form_data)]) -> Response:
    """Submit the correction of the filled-in fields and send a code (if an account's)."""
    contact = str(form.get("contact") or "")
    rows = [str(r)[:200] for r in form.getlist("rows")][:10]
    typed = _typed(form)

    def page(request: Request, *, status_code: int = 200, **ctx: Any) -> HTMLResponse:
        return correct_page(request, status_code=status_code, rows=rows, typed=typed, **ctx)

    dm = datamap_of(runtime(request))
    if not typed or len(typed) > MAX_FIELDS or dm is None:
        return page(request, status_code=422, error="kinds.correct.none_given", contact=contact)
    # Stored as the category reads it (a phone in its 11-digit form); a value that is not of
    # its category, or a field not offered, is refused by the workflow, which names the field.
    categories = {f.ref: f.category for f in fields(dm, rows)}
    values = {
        ref: (check_value(categories[ref], v) if ref in categories else None) or v
        for ref, v in typed.items()
    }
    return start_flow(
        request,
        "correct",
        contact,
        page,
        kind=RequestKind.CORRECT,
        scope=tuple(sorted(values)),
        values=values,
    )
