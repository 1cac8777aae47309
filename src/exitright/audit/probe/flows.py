"""What the probe does on a platform's pages: sign in with a code, find links, fill forms.

The probe reads pages the way a tester does — by what links and fields *say* — so it works on
platforms it has never seen, in Chinese or English. The words it looks for are listed here, in
one place; the docs (``docs/audit.md``, "Live probe") describe them.
"""

from __future__ import annotations

import re
import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urldefrag

from exitright.audit.probe.client import Browser
from exitright.audit.probe.codes import CodeSource, wait_for_new_code
from exitright.audit.probe.html import Field, Form, Link, Page
from exitright.audit.vocabulary import DataKind, VerificationKind

SIGN_IN = re.compile(r"登录|注册|sign ?in|log ?in|sign ?up", re.I)
SIGN_OUT = re.compile(r"退出|登出|sign ?out|log ?out", re.I)
CANCEL = re.compile(
    r"注销|销户|删除账号|删除帐号|(delete|close|cancel|remove|deactivate|terminate)\s+(my\s+)?account",
    re.I,
)
ORDERS = re.compile(r"订单|\borders?\b", re.I)
ACCOUNT = re.compile(r"账号|帐号|账户|我的|\baccount\b|\bprofile\b", re.I)
BUY = re.compile(r"购买|下单|\bbuy\b|place order|order now", re.I)
CUSTOMER_SERVICE = re.compile(r"客服|customer service|人工审核|人工处理|工单|support ticket", re.I)
PHONE_FIELD = re.compile(r"phone|mobile|\btel\b|手机|电话|contact", re.I)
CODE_FIELD = re.compile(r"\bcode\b|\botp\b|验证码|one-time", re.I)
PAYMENT_FIELD = re.compile(r"支付|付款|转账|汇款|借款|贷款|\bpay|transfer|loan", re.I)
LANGUAGE_SWITCH = re.compile(r"[?&](lang|locale|hl)=", re.I)
CERTIFICATE = re.compile(r"certificate|证明", re.I)
PROMISE = (
    re.compile(r"(\d{1,3})\s*个?\s*工作日"),
    re.compile(r"(\d{1,3})\s*(?:-\s*)?working[- ]days?", re.I),
)
ORDER_NO = re.compile(r"\b[A-Z]{0,4}\d{10,}\b")
STATES_DONE = ("completed",)
STATES_ENDED = ("completed", "rejected", "revoked", "failed")
DONE_WORDS = re.compile(
    r"已注销|注销成功|已完成|account (has been )?(cancell?ed|deleted|closed)", re.I
)

# What a verification field asks for, by its words; the first match wins.
_VERIFY: tuple[tuple[re.Pattern[str], VerificationKind, bool], ...] = (
    (re.compile(r"手持|hand-?held|holding", re.I), VerificationKind.HANDHELD_ID_PHOTO, True),
    (re.compile(r"人脸|face|selfie", re.I), VerificationKind.FACE_SCAN, True),
    (
        re.compile(r"身份证|证件|id card|identity|passport|\bid\b", re.I),
        VerificationKind.ID_PHOTO,
        True,
    ),
    (re.compile(r"身份证号|证件号|id number", re.I), VerificationKind.ID_NUMBER, False),
    (re.compile(r"姓名|real name|full name", re.I), VerificationKind.REAL_NAME, False),
    (re.compile(r"银行卡|bank card|card number", re.I), VerificationKind.BANK_CARD, False),
    (re.compile(r"支付密码|payment password", re.I), VerificationKind.PAYMENT_PASSWORD, False),
    (re.compile(r"密码|password", re.I), VerificationKind.PASSWORD, False),
)
# What a registration field collects, by its words.
_COLLECT: tuple[tuple[re.Pattern[str], DataKind], ...] = (
    (re.compile(r"身份证号|证件号|id number", re.I), DataKind.ID_NUMBER),
    (re.compile(r"身份证|证件|id card|passport", re.I), DataKind.ID_PHOTO),
    (re.compile(r"姓名|real name|full name", re.I), DataKind.REAL_NAME),
    (re.compile(r"邮箱|e-?mail", re.I), DataKind.EMAIL),
    (re.compile(r"密码|password", re.I), DataKind.PASSWORD),
    (re.compile(r"银行卡|bank card", re.I), DataKind.BANK_CARD),
    (re.compile(r"地址|address", re.I), DataKind.ADDRESS),
    (PHONE_FIELD, DataKind.PHONE),
)
PLACEHOLDER_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)
MESSAGE = "请注销我的账号。Please cancel my account. (ExitRight audit probe test account)"


def is_code_field(f: Field) -> bool:
    """A one-time code field."""
    return f.kind not in ("hidden", "checkbox", "file") and bool(CODE_FIELD.search(f.words))


def is_phone_field(f: Field) -> bool:
    """A phone number field (and not the code field)."""
    return (
        f.kind in ("tel", "text", "") and not is_code_field(f) and bool(PHONE_FIELD.search(f.words))
    )


def code_form(page: Page) -> Form | None:
    """The form on ``page`` that asks for a one-time code."""
    return next((f for f in page.forms if any(is_code_field(x) for x in f.fields)), None)


def phone_form(page: Page) -> Form | None:
    """The form on ``page`` that asks for a phone number (and no code)."""
    return next(
        (
            f
            for f in page.forms
            if any(is_phone_field(x) for x in f.fields)
            and not any(is_code_field(x) for x in f.fields)
        ),
        None,
    )


def find_link(
    page: Page,
    pattern: re.Pattern[str],
    browser: Browser,
    *,
    unless: re.Pattern[str] | None = None,
) -> Link | None:
    """The first link on the platform whose text matches ``pattern`` (and not ``unless``).

    Never a sign-out link.
    """
    for link in page.links:
        if not browser.same_origin(link.url) or SIGN_OUT.search(link.text):
            continue
        if pattern.search(link.text) and not (unless and unless.search(link.text)):
            return link
    return None


def crawl(
    browser: Browser,
    start: Page,
    pattern: re.Pattern[str],
    *,
    max_depth: int = 7,
    max_pages: int = 60,
) -> tuple[list[Link], Page] | None:
    """Breadth-first from ``start``: the shortest path of clicks to a link matching ``pattern``.

    Returns the links clicked (the last one is the match) and the page it opens, or None.
    """
    seen = {urldefrag(start.url)[0]}
    queue: deque[tuple[Page, list[Link]]] = deque([(start, [])])
    fetched = 0
    while queue:
        page, path = queue.popleft()
        hit = find_link(page, pattern, browser)
        if hit is not None:
            return [*path, hit], browser.get(hit.url)
        if len(path) + 1 >= max_depth:
            continue
        for link in page.links:
            url = urldefrag(link.url)[0]
            if url in seen or not browser.same_origin(url) or SIGN_OUT.search(link.text):
                continue
            if LANGUAGE_SWITCH.search(url):
                continue  # switching the language is not a step towards anything
            seen.add(url)
            if fetched >= max_pages:
                return None
            fetched += 1
            nxt = browser.get(url)
            if nxt.status < 400:
                queue.append((nxt, [*path, link]))
    return None


def collected(form: Form) -> list[DataKind]:
    """What a sign-up form collects, by its visible fields (a code form collects the phone)."""
    kinds: list[DataKind] = []
    for f in form.visible():
        for pattern, kind in _COLLECT:
            if pattern.search(f.words) and kind not in kinds:
                kinds.append(kind)
                break
    return kinds


def asked(form: Form) -> list[VerificationKind]:
    """What a cancellation form asks for to verify the person, by its visible fields."""
    kinds: list[VerificationKind] = []
    for f in form.visible():
        if is_phone_field(f) or is_code_field(f) or f.kind in ("checkbox", "textarea", "select"):
            continue
        for pattern, kind, needs_file in _VERIFY:
            if pattern.search(f.words) and (f.kind == "file") == needs_file:
                if kind not in kinds:
                    kinds.append(kind)
                break
    return kinds


def asks_payment(form: Form) -> bool:
    """A field asks for a payment, a transfer, a loan or a payment code."""
    return any(PAYMENT_FIELD.search(f.words) for f in form.visible())


def fill(form: Form, phone: str) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """Values for a cancellation or customer-service form: the phone, a message, ticked boxes.

    A file field gets a 1×1 placeholder image: the probe never holds real documents; it sends
    the placeholder to see what the platform does next.
    """
    values: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    for f in form.visible():
        if f.kind == "file":
            files[f.name] = ("probe-placeholder.png", PLACEHOLDER_PNG, "image/png")
        elif f.kind == "checkbox":
            values[f.name] = f.checkbox_value or "on"
        elif f.kind == "textarea":
            values[f.name] = MESSAGE
        elif is_phone_field(f):
            values[f.name] = phone
        elif f.kind in ("text", "") and not is_code_field(f):
            values[f.name] = f.value or "probe"
    return values, files


def promise(*pages: Page) -> int | None:
    """The working days a page promises (the first page that states any)."""
    for page in pages:
        for pattern in PROMISE:
            m = pattern.search(page.text)
            if m:
                return int(m.group(1))
    return None


def state_of(page: Page) -> str | None:
    """A request status page's state: its ``data-state``, or "completed" by its words."""
    state = page.attrs.get("data-state")
    if state:
        return state
    return "completed" if DONE_WORDS.search(page.text) else None


def order_marks(page: Page) -> set[str]:
    """Order numbers (or, failing those, the rows) listed on an orders page."""
    marks = {m for row in page.rows for m in ORDER_NO.findall(row)}
    return marks or set(page.rows)


@dataclass
class SignIn:
    """How a sign-in with a code went."""

    ok: bool
    page: Page | None = None
    form: Form | None = None
    note: str = ""
    urls: list[str] = field(default_factory=list)


def sign_in(
    browser: Browser, home: Page, phone: str, codes: CodeSource, *, timeout: float
) -> SignIn:
    """Sign in (or up) with ``phone`` and a one-time code, waiting out a resend limit."""
    start = home if phone_form(home) else None
    if start is None:
        link = find_link(home, SIGN_IN, browser)
        if link is None:
            return SignIn(False, note="no sign-in link on the home page")
        start = browser.get(link.url)
    form = phone_form(start)
    if form is None:
        return SignIn(False, page=start, note="no phone field on the sign-in page")
    phone_field = next(f.name for f in form.visible() if is_phone_field(f))
    deadline = time.monotonic() + timeout
    while True:
        before = codes.codes(phone)
        sent = browser.submit(form, {phone_field: phone})
        if sent.status != 429 or time.monotonic() >= deadline:
            break
        time.sleep(2.0)  # a resend limit: wait, bounded, then ask again
        start = browser.get(start.url)
        form = phone_form(start) or form
    entry = code_form(sent)
    if entry is None:
        return SignIn(False, page=sent, form=form, note=f"no code form (HTTP {sent.status})")
    code = wait_for_new_code(codes, phone, before, timeout=max(1.0, deadline - time.monotonic()))
    if code is None:
        return SignIn(False, page=sent, form=form, note="no code arrived")
    values = {f.name: code for f in entry.visible() if is_code_field(f)}
    values |= {f.name: f.checkbox_value for f in entry.visible() if f.kind == "checkbox"}
    done = browser.submit(entry, values)
    ok = done.status < 400 and code_form(done) is None and phone_form(done) is None
    return SignIn(ok, page=done, form=form, note=f"HTTP {done.status}", urls=[start.url, done.url])
