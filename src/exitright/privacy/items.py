"""The privacy centre's "Delete items": choose what goes, verify with a code, follow the request.

Thin, like :mod:`exitright.privacy.routes` (whose one-time-code flow it shares):

1. ``GET /privacy/delete`` — the item groups the data map offers (all of my search history, my
   favourites, my delivery addresses …), each a checkbox. A signed-in platform page can link
   here with ``?item=platform.addresses:42`` to preselect one row; the page shows only that it
   is one of the group (never its content: nobody has proven who they are yet).
2. ``POST /privacy/delete`` — a delete request for the ticked items is submitted and a code is
   sent; ``/privacy/delete/verify`` confirms. Execution deletes exactly those rows
   (:mod:`exitright.privacy.item_deletion`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from exitright.cancellation.model import RequestKind
from exitright.datamap.items import item_tables, parse_ref
from exitright.datamap.model import DataMap
from exitright.privacy.item_deletion import MAX_ITEMS
from exitright.privacy.routes import _page, datamap_of, runtime, start_flow
from exitright.web.middleware import require_csrf

__all__ = ["Choice", "choices", "router"]

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Choice:
    """One checkbox of the page: an item reference and how it is named."""

    ref: str
    label: dict[str, str]  # zh-CN / en, from the map
    one: str | None  # the row's key when a single row was preselected
    checked: bool


def choices(dm: DataMap, preselected: list[str]) -> list[Choice]:
    """Every item group the map offers, plus the single rows a platform page preselected."""
    out: list[Choice] = []
    wanted = set(preselected)
    for store, name, table in item_tables(dm):
        assert table.items is not None
        label = {str(k): v for k, v in table.items.label.items()}
        group = f"{store}.{name}"
        for text in preselected:
            ref = parse_ref(text)
            if (
                ref is not None
                and ref.key is not None
                and ref.column is None
                and (ref.store, ref.table) == (store, name)
                and table.items.one_by_one
            ):
                out.append(Choice(str(ref), label, ref.key, True))
        out.append(Choice(group, label, None, group in wanted))
    return out


def delete_page(
    request: Request,
    *,
    status_code: int = 200,
    chosen: list[str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """The "Delete items" page (again, with an error, when the form was refused)."""
    dm = datamap_of(runtime(request))
    ctx: dict[str, Any] = {"error": None, "contact": "", "params": {}}
    ctx.update(context)
    items = choices(dm, (chosen or [])[:MAX_ITEMS]) if dm is not None else []
    return _page(request, "delete.html", status_code=status_code, items=items, **ctx)


@router.get("/privacy/delete", response_class=HTMLResponse)
def delete_form(
    request: Request, item: Annotated[list[str] | None, Query(max_length=MAX_ITEMS)] = None
) -> HTMLResponse:
    """The item groups offered, generated from the data map (and rows a platform preselected)."""
    return delete_page(request, chosen=[i[:200] for i in item or []])


@router.post("/privacy/delete", response_model=None, dependencies=[Depends(require_csrf)])
def delete_start(
    request: Request,
    contact: Annotated[str, Form()] = "",
    items: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Submit the delete request for the ticked items and send a code (if it is an account's)."""
    chosen = [i[:200] for i in items or []][: MAX_ITEMS + 1]

    def form(request: Request, *, status_code: int = 200, **ctx: Any) -> HTMLResponse:
        return delete_page(request, status_code=status_code, chosen=chosen, **ctx)

    if not chosen:
        return form(request, status_code=422, error="kinds.delete.none_chosen", contact=contact)
    return start_flow(
        request, "delete", contact, form, kind=RequestKind.DELETE, scope=tuple(chosen)
    )
