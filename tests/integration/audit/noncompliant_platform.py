"""A deliberately non-compliant reference platform, for the live probe to fail.

A small shop (FastAPI, in memory) that does everything the 2019 study and later reports found
wrong with cancellation:

- cancellation only through a **customer-service form** under "帮助与客服" (no self-service page);
- the form asks for an **ID photo**, though signing up took only a phone number;
- it promises a **30-working-day "audit"** (the limit is 15);
- "cancelling" **only unbinds the phone**: the account and its orders stay;
- orders are filed under the phone number, so **whoever signs in with the number next sees
  them**.

Sign-in is by phone and a code, shown on a developer page (``/dev/sms``). The customer-service
"audit" is carried out ``handle_after`` seconds after the ticket is filed (at the next look at
the ticket), so a test can watch it finish.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape
from typing import Any

import uvicorn
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tests.conftest import free_port

PRODUCTS = ("无线耳机", "保温杯", "帆布包")


@dataclass
class User:
    id: int
    phone: str | None
    nickname: str


@dataclass
class Order:
    no: str
    user_id: int
    phone: str  # the flaw: filed under the number, not the account
    item: str


@dataclass
class Ticket:
    id: str
    phone: str
    filed: float
    done: bool = False


@dataclass
class State:
    handle_after: float
    users: list[User] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    tickets: dict[str, Ticket] = field(default_factory=dict)
    texts: list[tuple[str, str, str]] = field(default_factory=list)  # masked phone, code, time
    codes: dict[str, str] = field(default_factory=dict)  # phone → code
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)


def _mask(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


def create_app(handle_after: float = 1.0) -> FastAPI:
    """The non-compliant shop."""
    app = FastAPI()
    state = State(handle_after)
    lock = threading.Lock()

    def session(request: Request) -> dict[str, Any]:
        sid = request.cookies.get("sid", "")
        return state.sessions.get(sid, {})

    def page(request: Request, title: str, body: str, status: int = 200) -> HTMLResponse:
        sid = request.cookies.get("sid", "")
        if sid not in state.sessions:
            sid = secrets.token_urlsafe(16)
            state.sessions[sid] = {"csrf": secrets.token_urlsafe(16)}
        s = state.sessions[sid]
        body = body.replace("{csrf}", f'<input type="hidden" name="csrf" value="{s["csrf"]}">')
        html = (
            f"<!doctype html><html lang='zh-CN'><head><title>{title}</title></head><body>"
            f"<nav><a href='/'>首页</a> <a href='/help'>帮助与客服</a></nav>"
            f"<h1>{title}</h1>{body}</body></html>"
        )
        r = HTMLResponse(html, status_code=status)
        r.set_cookie("sid", sid, httponly=True)
        return r

    def csrf_ok(request: Request, token: str) -> bool:
        return bool(token) and session(request).get("csrf") == token

    def me(request: Request) -> User | None:
        uid = session(request).get("uid")
        return next((u for u in state.users if u.id == uid), None)

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> HTMLResponse:
        user = me(request)
        if user is None:
            return page(request, "反面教材商城", "<p><a href='/login'>登录 / 注册</a></p>")
        buy = "".join(
            f"<form method='post' action='/buy'>{{csrf}}<input type='hidden' name='item' "
            f"value='{p}'><span>{p}</span> <button type='submit'>立即购买</button></form>"
            for p in PRODUCTS
        )
        links = "<p><a href='/me'>我的账号</a> <a href='/orders'>我的订单</a></p>"
        return page(request, "反面教材商城", f"<p>你好，{escape(user.nickname)}</p>{links}{buy}")

    @app.get("/login", response_class=HTMLResponse)
    def login(request: Request) -> HTMLResponse:
        form = (
            "<form method='post' action='/login'>{csrf}<label>手机号 <input type='tel' "
            "name='mobile'></label><button type='submit'>获取验证码</button></form>"
        )
        return page(request, "登录 / 注册", form)

    @app.post("/login", response_model=None)
    def send(request: Request, mobile: str = Form(""), csrf: str = Form("")) -> Response:
        if not csrf_ok(request, csrf) or len(mobile) != 11 or not mobile.isdigit():
            return page(request, "登录 / 注册", "<p>手机号无效</p>", 422)
        code = f"{secrets.randbelow(10**6):06d}"
        with lock:
            state.codes[mobile] = code
            state.texts.insert(0, (_mask(mobile), code, time.strftime("%H:%M:%S")))
            session(request)["pending"] = mobile
        return RedirectResponse("/login/code", status_code=303)

    @app.get("/login/code", response_class=HTMLResponse)
    def code_form(request: Request) -> HTMLResponse:
        form = (
            "<form method='post' action='/login/code'>{csrf}<label>验证码 <input name='code' "
            "inputmode='numeric'></label><button type='submit'>登录</button></form>"
        )
        return page(request, "输入验证码", form)

    @app.post("/login/code", response_model=None)
    def check(request: Request, code: str = Form(""), csrf: str = Form("")) -> Response:
        s = session(request)
        phone = s.get("pending")
        if not csrf_ok(request, csrf) or not phone or state.codes.get(phone) != code:
            return page(request, "输入验证码", "<p>验证码错误</p>", 422)
        with lock:
            del state.codes[phone]
            user = next((u for u in state.users if u.phone == phone), None)
            if user is None:  # a number no account holds (any more): a new account
                user = User(len(state.users) + 1, phone, f"用户{phone[-4:]}")
                state.users.append(user)
            s.update(uid=user.id, phone=phone)
            s.pop("pending", None)
        return RedirectResponse("/", status_code=303)

    @app.post("/buy", response_model=None)
    def buy(request: Request, item: str = Form(""), csrf: str = Form("")) -> Response:
        user, s = me(request), session(request)
        if user is None or not csrf_ok(request, csrf):
            return RedirectResponse("/login", status_code=303)
        with lock:
            no = f"NC{int(time.time() * 1000):013d}{len(state.orders):03d}"
            state.orders.append(Order(no, user.id, s["phone"], item[:20]))
        return RedirectResponse("/orders", status_code=303)

    @app.get("/orders", response_model=None)
    def orders(request: Request) -> Response:
        s = session(request)
        if me(request) is None:
            return RedirectResponse("/login", status_code=303)
        # The flaw: orders are looked up by the number signed in with, not by the account.
        rows = "".join(
            f"<tr><td>{o.no}</td><td>{escape(o.item)}</td></tr>"
            for o in state.orders
            if o.phone == s.get("phone")
        )
        table = f"<table><tbody>{rows}</tbody></table>" if rows else "<p>暂无订单</p>"
        return page(request, "我的订单", table)

    @app.get("/me", response_model=None)
    def account(request: Request) -> Response:
        user = me(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        phone = _mask(user.phone) if user.phone else "未绑定"
        return page(
            request, "我的账号", f"<p>昵称：{escape(user.nickname)}</p><p>手机号：{phone}</p>"
        )

    @app.get("/help", response_class=HTMLResponse)
    def help_page(request: Request) -> HTMLResponse:
        body = (
            "<p>常见问题：如何修改收货地址？如何申请退款？</p>"
            "<p><a href='/help/cancel'>账号注销申请</a></p>"
        )
        return page(request, "帮助与客服", body)

    @app.get("/help/cancel", response_class=HTMLResponse)
    def cancel_form(request: Request) -> HTMLResponse:
        body = (
            "<p>注销账号须经客服人工审核。请填写下表并上传身份证照片，客服将在30个工作日内完成审核。</p>"
            "<form method='post' action='/help/cancel' enctype='multipart/form-data'>{csrf}"
            "<label>注册手机号 <input type='tel' name='mobile'></label>"
            "<label>注销原因 <textarea name='reason'></textarea></label>"
            "<label>身份证照片（正面） <input type='file' name='id_photo' accept='image/*'></label>"
            "<button type='submit'>提交给客服</button></form>"
        )
        return page(request, "账号注销申请（客服）", body)

    @app.post("/help/cancel", response_model=None)
    async def file_ticket(
        request: Request,
        mobile: str = Form(""),
        reason: str = Form(""),
        csrf: str = Form(""),
        id_photo: UploadFile | None = File(None),
    ) -> Response:
        photo = await id_photo.read() if id_photo is not None else b""
        if not csrf_ok(request, csrf) or not mobile or not photo:
            return page(request, "账号注销申请（客服）", "<p>请填写手机号并上传身份证照片</p>", 422)
        ticket = Ticket(f"T{secrets.randbelow(10**8):08d}", mobile, time.monotonic())
        state.tickets[ticket.id] = ticket
        return RedirectResponse(f"/help/tickets/{ticket.id}", status_code=303)

    @app.get("/help/tickets/{ticket_id}", response_class=HTMLResponse)
    def ticket_page(request: Request, ticket_id: str) -> HTMLResponse:
        ticket = state.tickets.get(ticket_id)
        if ticket is None:
            return page(request, "工单不存在", "", 404)
        with lock:
            if not ticket.done and time.monotonic() - ticket.filed >= state.handle_after:
                # The "audit": the phone is unbound; the account and its orders stay.
                for user in state.users:
                    if user.phone == ticket.phone:
                        user.phone = None
                ticket.done = True
        status = "已注销" if ticket.done else "审核中"
        body = (
            f"<p>工单号：{ticket.id}</p><p>状态：{status}</p><p>客服将在30个工作日内完成审核。</p>"
        )
        return page(request, "注销申请进度", body)

    @app.get("/dev/sms", response_class=HTMLResponse)
    def texts(request: Request) -> HTMLResponse:
        rows = "".join(f"<tr><td>{m}</td><td>{c}</td><td>{t}</td></tr>" for m, c, t in state.texts)
        return page(request, "开发者：短信", f"<table><tbody>{rows}</tbody></table>")

    return app


@contextmanager
def serve_noncompliant(handle_after: float = 1.0) -> Iterator[str]:
    """Serve the non-compliant shop on loopback; yields its home URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(handle_after), host="127.0.0.1", port=port, log_level="warning",
        access_log=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the non-compliant platform did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
