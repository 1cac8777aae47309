"""The demo shop's pages under ``/shop``: sign in or up with a one-time code, orders, account.

Thin routes: read the form, call :mod:`exitright.demo.shop`, render. The session holds ids only
(the signed-in user's id, the id of the pending code's SMS row), never a phone number. Sign-in
goes through the app's recycled-number guard (``identity_for(app.state).guard``): a code to a
number that changed hands opens nothing of the old account; the pages say so and offer a fresh
account. In demo
mode the code is printed to the console and listed on a clearly marked developer page, because
no SMS gateway is connected; in production that page does not exist.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Engine

from exitright.clock import SystemClock
from exitright.db.engine import make_engine
from exitright.demo import shop
from exitright.demo.order_actions import OrderActionError, cancel_order, confirm_receipt
from exitright.demo.prechecks import OPEN_ORDER_STATUSES
from exitright.demo.seed import create_schema, is_seeded
from exitright.errors import ErrorCode, ExitRightError
from exitright.identity import identity_for
from exitright.web.middleware import require_csrf
from exitright.web.templating import render

router = APIRouter(prefix="/shop", include_in_schema=False)
log = logging.getLogger("exitright.demo")
_engine_lock = threading.Lock()

USER = "shop_user"
PENDING = "shop_pending"
FRESH = "shop_fresh"  # the SMS row whose code proved a changed-hands number: a fresh account


def demo_engine(request: Request) -> Engine:
    """The demo platform's engine, created once per app (tables made if missing)."""
    state = request.app.state
    with _engine_lock:
        engine: Engine | None = getattr(state, "demo_engine", None)
        if engine is None:
            engine = make_engine(state.settings.demo_url)
            # The shop is the platform's own front end: it may create the platform's tables.
            create_schema(engine)
            state.demo_engine = engine
            state.on_shutdown.append(engine.dispose)
    return engine


def number_guard(request: Request) -> shop.NumberGuard:
    """The app's recycled-number guard (the identity service's)."""
    guard = identity_for(request.app.state).guard
    if guard is None:  # build_service always gives one
        raise ExitRightError(ErrorCode.INTERNAL_ERROR)
    return guard


def _now() -> datetime:
    # The platform's tables hold naive UTC, like the seeded rows.
    return SystemClock().now().replace(tzinfo=None)


def _user(request: Request, engine: Engine) -> dict[str, Any] | None:
    user_id = request.session.get(USER)
    if not isinstance(user_id, int):
        return None
    account = shop.profile(engine, user_id)
    if account is None:
        request.session.pop(USER, None)  # the account is gone (erased): sign out
    return account


def _page(
    request: Request,
    template: str,
    user: dict[str, Any] | None,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a shop page with the signed-in user's account (or None) and the dev flag."""
    return render(
        request,
        f"demo/{template}",
        {"user": user, "dev": _is_dev(request), **context},
        status_code=status_code,
    )


def _is_dev(request: Request) -> bool:
    return bool(request.app.state.settings.environment == "development")


def _see_other(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, engine: Engine = Depends(demo_engine)) -> HTMLResponse:
    """The shop's front page: products, and the way to orders and Account & privacy."""
    user = _user(request, engine)
    return _page(
        request, "home.html", user, seeded=is_seeded(engine), products=shop.featured(engine)
    )


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, engine: Engine = Depends(demo_engine)) -> HTMLResponse:
    """Phone number form: sign in, or sign up when the number is new."""
    return _page(request, "signin.html", _user(request, engine), error=None, phone="")


@router.post("/signin", response_model=None, dependencies=[Depends(require_csrf)])
def signin_send(
    request: Request, phone: str = Form(""), engine: Engine = Depends(demo_engine)
) -> Response:
    """Send a one-time code to the number (here: the outbox, the console, the dev page)."""
    try:
        sent = shop.send_code(engine, phone, _now())
    except shop.ShopError as exc:
        status = 429 if exc.reason == "too_soon" else 422
        return _page(
            request, "signin.html", None, status_code=status, error=exc.reason, phone=phone[:20]
        )
    request.session[PENDING] = sent.sms_id
    if _is_dev(request):
        # Demo mode has no SMS gateway: the code goes to the console. The number stays masked.
        log.warning("demo sign-in code for %s: %s", shop.mask_phone(sent.phone), sent.code)
    return _see_other("/shop/signin/code")


@router.get("/signin/code", response_model=None)
def code_form(request: Request, engine: Engine = Depends(demo_engine)) -> Response:
    """Where the code is typed in."""
    if not isinstance(request.session.get(PENDING), int):
        return _see_other("/shop/signin")
    return _page(request, "code.html", _user(request, engine), error=None)


@router.post("/signin/code", response_model=None, dependencies=[Depends(require_csrf)])
def code_check(
    request: Request,
    code: str = Form(""),
    engine: Engine = Depends(demo_engine),
    guard: shop.NumberGuard = Depends(number_guard),
) -> Response:
    """Check the code; sign the visitor in (creating the account for a new number).

    A number that changed hands since its account last signed in opens nothing of that account:
    the visitor is told so and offered a fresh account.
    """
    pending = request.session.get(PENDING)
    if not isinstance(pending, int):
        return _see_other("/shop/signin")
    try:
        # Wrong codes are counted on the code's row (shop.verify_code), not in this session.
        host = request.client.host if request.client else ""
        done = shop.verify_code(engine, pending, code[:12], _now(), host, guard=guard)
    except shop.ShopError as exc:
        if exc.reason in ("code_used", "code_expired", "too_many_attempts", "account_frozen"):
            request.session.pop(PENDING, None)
        status = 429 if exc.reason == "too_many_attempts" else 422
        return _page(request, "code.html", None, status_code=status, error=exc.reason)
    request.session.pop(PENDING, None)
    if done.changed_hands:
        request.session.pop(USER, None)
        request.session[FRESH] = done.sms_id
        return _see_other("/shop/signin/changed-hands")
    request.session[USER] = done.user_id
    return _see_other("/shop/account?welcome=1" if done.created else "/shop/")


@router.get("/signin/changed-hands", response_model=None)
def changed_hands(request: Request) -> Response:
    """The number has changed hands: nothing of the old account opens; a fresh one is offered."""
    if not isinstance(request.session.get(FRESH), int):
        return _see_other("/shop/signin")
    return _page(request, "changed_hands.html", None, error=None)


@router.post("/signin/fresh", response_model=None, dependencies=[Depends(require_csrf)])
def fresh_account(request: Request, engine: Engine = Depends(demo_engine)) -> Response:
    """Open the fresh, empty account offered to the new holder of a changed-hands number."""
    offered = request.session.pop(FRESH, None)
    if not isinstance(offered, int):
        return _see_other("/shop/signin")
    host = request.client.host if request.client else ""
    try:
        user_id = shop.open_fresh_account(engine, offered, _now(), host)
    except shop.ShopError as exc:
        return _page(request, "signin.html", None, status_code=422, error=exc.reason, phone="")
    request.session[USER] = user_id
    return _see_other("/shop/account?welcome=1")


@router.post("/signout", dependencies=[Depends(require_csrf)])
def signout(request: Request) -> RedirectResponse:
    """Forget the signed-in user in this browser."""
    request.session.pop(USER, None)
    return _see_other("/shop/")


@router.get("/orders", response_model=None)
def my_orders(request: Request, engine: Engine = Depends(demo_engine)) -> Response:
    """The signed-in user's orders, newest first; ``?status=open``: every open one.

    A blocked cancellation links here (pre-check ``open_orders``): each open order can be
    received or cancelled on this page, and the cancellation then goes on by itself.
    """
    user_id, user = request.session.get(USER), _user(request, engine)
    if not isinstance(user_id, int) or user is None:
        return _see_other("/shop/signin")
    only_open = request.query_params.get("status") == "open"
    statuses = OPEN_ORDER_STATUSES if only_open else None
    total, rows = shop.recent_orders(engine, user_id, 500 if only_open else 50, statuses=statuses)
    done = request.query_params.get("done")
    return _page(
        request,
        "orders.html",
        user,
        total=total,
        orders=rows,
        only_open=only_open,
        done=done if done in ("received", "cancelled") else None,
        error=None,
    )


@router.post(
    "/orders/{order_no}/{action}", response_model=None, dependencies=[Depends(require_csrf)]
)
def order_action(
    request: Request, order_no: str, action: str, engine: Engine = Depends(demo_engine)
) -> Response:
    """Confirm receipt of an order on its way, or cancel one not yet shipped."""
    user_id, user = request.session.get(USER), _user(request, engine)
    if not isinstance(user_id, int) or user is None:
        return _see_other("/shop/signin")
    steps = {"receive": (confirm_receipt, "received"), "cancel": (cancel_order, "cancelled")}
    if action not in steps:
        raise ExitRightError(ErrorCode.NOT_FOUND)
    step, done = steps[action]
    try:
        step(engine, user_id, order_no, _now())
    except OrderActionError as exc:
        total, rows = shop.recent_orders(engine, user_id, 500, statuses=OPEN_ORDER_STATUSES)
        return _page(
            request,
            "orders.html",
            user,
            status_code=409,
            total=total,
            orders=rows,
            only_open=True,
            done=None,
            error=exc.reason,
        )
    return _see_other(f"/shop/orders?status=open&done={done}")


def signed_in_phone(request: Request) -> str:
    """The registered phone of the shop user signed in in this browser ("" if none).

    The privacy centre prefills its cancellation form with it; the user still submits.
    """
    user_id = request.session.get(USER)
    if not isinstance(user_id, int) or not request.app.state.settings.demo_enabled:
        return ""
    return shop.phone_of(demo_engine(request), user_id) or ""


@router.get("/account", response_model=None)
def account(request: Request, engine: Engine = Depends(demo_engine)) -> Response:
    """Account & privacy: the account, and what the platform holds about it."""
    user_id, user = request.session.get(USER), _user(request, engine)
    if not isinstance(user_id, int) or user is None:
        return _see_other("/shop/signin")
    return _page(
        request,
        "account.html",
        user,
        holdings=shop.holdings(engine, user_id),
        welcome=request.query_params.get("welcome") == "1",
    )


@router.get("/dev/codes", response_class=HTMLResponse)
def dev_codes(request: Request, engine: Engine = Depends(demo_engine)) -> HTMLResponse:
    """Developer page (demo mode only): the sign-in codes a real platform would text."""
    if not _is_dev(request):
        raise ExitRightError(ErrorCode.NOT_FOUND)
    codes = shop.recent_codes(engine)
    return _page(request, "dev_codes.html", _user(request, engine), codes=codes)
