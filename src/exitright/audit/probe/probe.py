"""The live probe: a black-box test of a running platform's cancellation, written as a profile.

With a test account it signs in with a code, creates or finds data (places an order where the
home page offers one, reads the orders page), finds the cancellation entry from the home page
counting clicks, submits a cancellation (filling the form, reading the code), measures how long
it takes (bounded), checks that the old session no longer reaches the account and that the same
phone signs up to an empty account, and — where the platform lets an operator mark a number as
reassigned (``POST /v1/identifiers/recycled`` with an admin key) — that a recycled number does
not open the old account. Then it writes what it **observed** as a profile: every field it did
not observe stays absent, so the rules say "not assessed" rather than guess.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx

from exitright.audit.probe import flows
from exitright.audit.probe.client import MAX_REQUESTS, Browser, ProbeBudgetError
from exitright.audit.probe.codes import CodeSource, masked, wait_for_new_code
from exitright.audit.probe.html import Form, Link, Page
from exitright.audit.profile import (
    Cancellation,
    Channel,
    Evaluation,
    Evidence,
    Outcome,
    Platform,
    Precondition,
    PreconditionKind,
    Preconditions,
    Profile,
    RecycledBehaviour,
    RecycledNumber,
    Result,
    Timing,
    Verification,
)
from exitright.audit.vocabulary import DataKind, VerificationKind
from exitright.audit.workdays import working_days_between

CST = ZoneInfo("Asia/Shanghai")
SOURCE = "exitright audit probe"


@dataclass(frozen=True)
class ProbeConfig:
    """What the evaluator tells the probe."""

    base_url: str  # the platform's home page
    phone: str  # the test account's phone number (its data will be cancelled)
    codes: CodeSource
    api_key: str | None = None  # an admin key, to simulate a reassigned number
    recycled_phone: str | None = None  # a second test account with orders, never signed in today
    platform_name: str | None = None
    sector: str | None = None
    evaluator: str | None = None
    lang: str = "zh-CN"
    wait_seconds: float = 120.0  # how long to wait for completion, and for a code or resend limit
    poll_seconds: float = 0.5
    timeout: float = 10.0  # per HTTP request


@dataclass
class Observations:
    """Everything the probe saw, before it becomes a profile. None: not observed."""

    home_url: str = ""
    registration: list[DataKind] | None = None
    signed_in: bool = False
    order_placed: bool = False
    orders_url: str | None = None
    order_marks: set[str] = field(default_factory=set)
    account_url: str | None = None
    phone_shown_before: bool | None = None
    entry: list[Link] | None = None
    entry_url: str | None = None
    channels: list[Channel] | None = None
    asked: list[VerificationKind] | None = None
    asks_payment: bool | None = None
    steps: int | None = None
    web_logged_out: bool | None = None
    promised: int | None = None
    submitted_at: datetime | None = None
    status_url: str | None = None
    states: list[str] = field(default_factory=list)
    completed_at: datetime | None = None
    old_login_fails: bool | None = None
    old_phone_shown: bool | None = None
    same_phone_empty: bool | None = None
    certificate: dict[str, Any] | None = None
    certificate_url: str | None = None
    recycled: RecycledBehaviour | None = None
    recycled_url: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def completed(self) -> bool:
        """The platform reported the cancellation complete within the wait."""
        return self.completed_at is not None


@dataclass(frozen=True)
class ProbeResult:
    """The profile written from the observations, and the observations themselves."""

    profile: Profile
    observations: Observations


def _now() -> datetime:
    return datetime.now(UTC)


def _cancel_form(page: Page) -> Form | None:
    """The form that starts a cancellation: it asks for a phone, a message or a file."""
    for form in page.forms:
        if any(flows.SIGN_OUT.search(b) for b in form.buttons):
            continue
        fields = form.visible()
        if any(flows.is_phone_field(f) or f.kind in ("textarea", "file") for f in fields):
            return form
    return None


def _marks(browser: Browser, url: str | None) -> set[str] | None:
    """Order numbers on the orders page as this browser sees it (None: page not reachable)."""
    if url is None:
        return None
    page = browser.get(url)
    return flows.order_marks(page) if page.status < 400 else set()


def _jws_claims(token: str) -> dict[str, Any] | None:
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


class Probe:
    """One run of the probe against one platform."""

    def __init__(self, config: ProbeConfig, *, clock: Callable[[], datetime] = _now) -> None:
        self.config = config
        self.clock = clock
        self.budget = [MAX_REQUESTS]
        self.obs = Observations(home_url=config.base_url)

    def browser(self) -> Browser:
        """A new browser (its own cookies) sharing the probe's request budget."""
        c = self.config
        return Browser(c.base_url, lang=c.lang, timeout=c.timeout, budget=self.budget)

    def run(self) -> ProbeResult:
        """Run every step the platform allows; a failing step is noted, never guessed around."""
        try:
            with self.browser() as user:
                self._cancel(user)
        except ProbeBudgetError:
            self.obs.notes.append("The probe used up its request budget and stopped.")
        except httpx.TransportError as exc:
            self.obs.notes.append(f"The platform stopped answering ({type(exc).__name__}).")
        return ProbeResult(build_profile(self.config, self.obs, self.clock()), self.obs)

    # -- steps -----------------------------------------------------------------------------

    def _cancel(self, user: Browser) -> None:
        c, o = self.config, self.obs
        home = user.get(c.base_url)
        if home.status >= 400:
            o.notes.append(f"The home page answered HTTP {home.status}.")
            return
        signed = flows.sign_in(user, home, c.phone, c.codes, timeout=c.wait_seconds)
        if signed.form is not None:
            o.registration = flows.collected(signed.form)
        o.signed_in = signed.ok
        if not signed.ok:
            o.notes.append(f"Signing in with the test phone failed: {signed.note}.")
            return
        home = user.get(c.base_url)
        self._create_data(user, home)
        self._find_and_submit(user, home)
        if o.status_url is None:
            return
        self._wait(user)
        if o.completed:
            self._after(user)
        self._recycled()

    def _create_data(self, user: Browser, home: Page) -> None:
        o = self.obs
        buy = next((f for f in home.forms if any(flows.BUY.search(b) for b in f.buttons)), None)
        if buy is not None:
            placed = user.submit(buy, {})
            o.order_placed = placed.status < 400
        link = flows.find_link(home, flows.ORDERS, user)
        if link is not None:
            page = user.get(link.url)
            if page.status < 400:
                o.orders_url = page.url
                o.order_marks = flows.order_marks(page)
        account = flows.find_link(home, flows.ACCOUNT, user, unless=flows.ORDERS)
        if account is not None:
            page = user.get(account.url)
            if page.status < 400:
                o.account_url = page.url
                o.phone_shown_before = self._shows_phone(page)
        if not o.order_marks:
            o.notes.append("No order could be placed or found for the test account.")

    def _shows_phone(self, page: Page) -> bool:
        phone = self.config.phone
        return phone in page.text or masked(phone) in page.text

    def _find_and_submit(self, user: Browser, home: Page) -> None:
        c, o = self.config, self.obs
        found = flows.crawl(user, home, flows.CANCEL)
        if found is None:
            o.notes.append("No cancellation entry was found from the home page.")
            return
        o.entry, page = found
        o.entry_url = page.url
        steps = len(o.entry)
        form = _cancel_form(page)
        if form is None:
            more = flows.find_link(page, flows.CANCEL, user)
            if more is not None and more.url != page.url:
                page, steps = user.get(more.url), steps + 1
                form = _cancel_form(page)
        if form is None:
            offline = [
                ch
                for prefix, ch in (("mailto:", Channel.EMAIL), ("tel:", Channel.PHONE))
                if any(link.url.startswith(prefix) for link in page.links)
            ]
            o.channels = offline or None
            o.notes.append("The cancellation entry has no form to submit.")
            return
        assisted = any(f.kind == "textarea" for f in form.visible()) and bool(
            flows.CUSTOMER_SERVICE.search(page.text)
        )
        o.channels = [Channel.CUSTOMER_SERVICE if assisted else Channel.WEB_PAGE]
        o.asked = flows.asked(form)
        o.asks_payment = flows.asks_payment(form)
        o.web_logged_out = self._logged_out_form(page.url)
        values, files = flows.fill(form, c.phone)
        before = c.codes.codes(c.phone)
        result = user.submit(form, values, files)
        steps += 1
        seen = [page, result]
        verify = flows.code_form(result)
        if verify is not None:
            code = wait_for_new_code(c.codes, c.phone, before, timeout=c.wait_seconds)
            if code is None:
                o.notes.append("The cancellation asked for a code, but none arrived.")
                return
            o.asked = [VerificationKind.SMS_CODE, *o.asked, *flows.asked(verify)]
            o.asks_payment = o.asks_payment or flows.asks_payment(verify)
            values = {f.name: code for f in verify.visible() if flows.is_code_field(f)}
            values |= {f.name: f.checkbox_value for f in verify.visible() if f.kind == "checkbox"}
            result = user.submit(verify, values)
            steps += 1
            seen.append(result)
        if result.status >= 400:
            o.notes.append(f"Submitting the cancellation answered HTTP {result.status}.")
            return
        o.submitted_at = self.clock()
        o.steps = steps
        o.status_url = result.url
        o.promised = flows.promise(*reversed(seen))

    def _logged_out_form(self, url: str) -> bool | None:
        with self.browser() as stranger:
            page = stranger.get(url)
            if page.status >= 400:
                return None
            return _cancel_form(page) is not None

    def _wait(self, user: Browser) -> None:
        c, o = self.config, self.obs
        assert o.status_url is not None
        deadline = time.monotonic() + c.wait_seconds
        page = user.get(o.status_url)
        while True:
            state = flows.state_of(page)
            if state and (not o.states or o.states[-1] != state):
                o.states.append(state)
            if state in flows.STATES_DONE:
                o.completed_at = self.clock()
                self._certificate(user, page)
                return
            if state in flows.STATES_ENDED or time.monotonic() >= deadline:
                o.notes.append(
                    f"Not completed within the probe's wait of {c.wait_seconds:g} s "
                    f"(last state: {state or 'unknown'})."
                )
                return
            time.sleep(c.poll_seconds)
            page = user.get(o.status_url)

    def _certificate(self, user: Browser, page: Page) -> None:
        o = self.obs
        link = next(
            (
                x
                for x in page.links
                if user.same_origin(x.url)
                and flows.CERTIFICATE.search(f"{x.url} {x.text}")
                and not x.url.rstrip("/").endswith("/verify")
            ),
            None,
        )
        if link is None:
            return
        r = user.raw(link.url)
        claims = _jws_claims(r.text) if r.status_code == 200 else None
        if claims is not None:
            o.certificate, o.certificate_url = claims, link.url

    def _after(self, user: Browser) -> None:
        c, o = self.config, self.obs
        marks = _marks(user, o.orders_url)
        if marks is not None and o.order_marks:
            o.old_login_fails = not (marks & o.order_marks)
        if o.account_url is not None and o.phone_shown_before:
            page = user.get(o.account_url)
            if page.status < 400 and page.url == o.account_url:
                o.old_phone_shown = self._shows_phone(page)
        with self.browser() as again:
            home = again.get(c.base_url)
            signed = flows.sign_in(again, home, c.phone, c.codes, timeout=c.wait_seconds)
            if not signed.ok:
                o.notes.append(f"Signing up again with the same phone failed: {signed.note}.")
                return
            after = _marks(again, o.orders_url)
            if after is not None and o.order_marks:
                o.same_phone_empty = not (after & o.order_marks)

    def _recycled(self) -> None:
        c, o = self.config, self.obs
        if not (c.api_key and c.recycled_phone):
            return
        today = self.clock().astimezone(CST).date().isoformat()
        with self.browser() as operator:
            r = operator.post_json(
                f"{operator.origin}/v1/identifiers/recycled",
                {"phone": c.recycled_phone, "recycled_on": today, "reference": SOURCE},
                c.api_key,
            )
        if r.status_code not in (200, 201):
            o.notes.append(f"Marking a number as reassigned answered HTTP {r.status_code}.")
            return
        o.recycled_url = f"{operator.origin}/v1/identifiers/recycled"
        with self.browser() as newcomer:
            home = newcomer.get(c.base_url)
            signed = flows.sign_in(
                newcomer, home, c.recycled_phone, c.codes, timeout=c.wait_seconds
            )
            if not signed.ok:
                o.notes.append(f"A code to the reassigned number opened nothing ({signed.note}).")
                return
            orders = flows.find_link(newcomer.get(c.base_url), flows.ORDERS, newcomer)
            url = orders.url if orders is not None else o.orders_url
            marks = _marks(newcomer, url)
            if marks is None:
                return
            o.recycled = (
                RecycledBehaviour.OLD_ORDERS_VISIBLE if marks else RecycledBehaviour.FRESH_ACCOUNT
            )


def run_probe(config: ProbeConfig, *, clock: Callable[[], datetime] = _now) -> ProbeResult:
    """Probe the platform at ``config.base_url`` and write what was observed as a profile."""
    return Probe(config, clock=clock).run()


# -- the profile -----------------------------------------------------------------------------


def _url(ref: str, text: str | None = None) -> Evidence:
    return Evidence(kind="url", ref=ref, text=text, source=SOURCE)


def _note(text: str) -> Evidence:
    return Evidence(kind="note", text=text, source=SOURCE)


def _cst(moment: datetime) -> date:
    return moment.astimezone(CST).date()


def _certificate_result(claims: dict[str, Any]) -> tuple[Result | None, bool | None]:
    entries = [e for e in claims.get("erasure", []) if isinstance(e, dict)]
    if not entries:
        return None, None
    deleted = sum(int(e.get("deleted", 0)) for e in entries)
    anonymized = sum(int(e.get("anonymized", 0)) for e in entries)
    result = Result.DELETED if deleted else Result.ANONYMIZED if anonymized else None
    retained = [e for e in entries if int(e.get("retained", 0))]
    return result, all(e.get("legal_basis") for e in retained)


def _outcome(o: Observations) -> Outcome | None:
    if not o.completed or o.status_url is None:
        return None
    result: Result | None = None
    listed: bool | None = None
    evidence = [_url(o.status_url, f"reported complete; states seen: {', '.join(o.states)}")]
    if o.old_login_fails is False:
        if o.phone_shown_before and o.old_phone_shown is False:
            result = Result.PHONE_UNBOUND_ONLY
        elif o.old_phone_shown:
            result = Result.NOTHING
        evidence.append(_note("After completion the old session still lists the old orders."))
    elif o.old_login_fails and o.same_phone_empty and o.certificate is not None:
        result, listed = _certificate_result(o.certificate)
        evidence.append(
            _url(
                o.certificate_url or o.status_url,
                "deletion certificate: per-table counts and the legal basis of retained rows",
            )
        )
    if o.old_login_fails:
        evidence.append(_note("After completion the old session no longer shows the old orders."))
    if o.same_phone_empty is not None:
        evidence.append(
            _note(
                "Signing up again with the same phone shows "
                + ("no old order." if o.same_phone_empty else "the old orders.")
            )
        )
    return Outcome(
        result=result,
        old_login_fails=o.old_login_fails,
        same_phone_empty_account=o.same_phone_empty,
        retained_listed_with_basis=listed,
        evidence=evidence,
    )


def _recycled(o: Observations) -> RecycledNumber | None:
    evidence: list[Evidence] = []
    behaviour = o.recycled
    if o.recycled is not None and o.recycled_url is not None:
        evidence.append(
            _url(
                o.recycled_url,
                f"number marked reassigned today; its code opened: {o.recycled.value}",
            )
        )
    if o.same_phone_empty is False:
        # Whoever gets the number next signs up exactly as the probe did.
        behaviour = RecycledBehaviour.OLD_ORDERS_VISIBLE
        evidence.append(
            _note("After cancellation, a new sign-up with the same number shows the old orders.")
        )
    if behaviour is None:
        return None
    return RecycledNumber(behaviour=behaviour, evidence=evidence)


def _timing(o: Observations) -> Timing | None:
    if o.submitted_at is None or o.status_url is None:
        return None
    submitted = _cst(o.submitted_at)
    completed = _cst(o.completed_at) if o.completed_at else None
    observed, provisional = (
        working_days_between(submitted, completed) if completed else (None, None)
    )
    text = f"submitted {o.submitted_at.isoformat(timespec='seconds')}"
    if o.completed_at:
        seconds = (o.completed_at - o.submitted_at).total_seconds()
        text += f"; completed {o.completed_at.isoformat(timespec='seconds')} ({seconds:.0f} s)"
    return Timing(
        manual=True if o.channels and Channel.CUSTOMER_SERVICE in o.channels else None,
        promise_stated=o.promised is not None if o.completed else (True if o.promised else None),
        promised_working_days=o.promised,
        submitted_on=submitted,
        completed_on=completed,
        observed_working_days=observed,
        working_days_provisional=provisional if provisional else None,
        observed_calendar_days=(completed - submitted).days if completed else None,
        evidence=[_url(o.status_url, text)],
    )


_CONDITION = {
    VerificationKind.ID_PHOTO: PreconditionKind.DOCUMENTS,
    VerificationKind.ID_NUMBER: PreconditionKind.DOCUMENTS,
    VerificationKind.HANDHELD_ID_PHOTO: PreconditionKind.BIOMETRICS,
    VerificationKind.FACE_SCAN: PreconditionKind.BIOMETRICS,
}


def build_profile(config: ProbeConfig, o: Observations, now: datetime) -> Profile:
    """The profile of what was observed; everything else absent."""
    host = urlsplit(config.base_url).netloc
    cancellation = None
    if o.entry is not None or o.channels is not None:
        evidence = [_url(o.home_url, "home page: the clicks are counted from here")]
        evidence += [_url(link.url, f"click: {link.text}") for link in o.entry or []]
        cancellation = Cancellation(
            channels=o.channels,
            taps=len(o.entry) if o.entry is not None else None,
            steps=o.steps,
            label=o.entry[-1].text if o.entry else None,
            same_client=True if o.status_url is not None else None,
            web_logged_out=o.web_logged_out,
            asks_payment=o.asks_payment,
            evidence=evidence,
        )
    verification = None
    if o.asked is not None and o.entry_url is not None:
        collected = list(o.registration or [])
        if o.signed_in and DataKind.PHONE not in collected:
            collected.append(DataKind.PHONE)  # the sign-in code went to the phone
        verification = Verification(
            asked=o.asked,
            registration_collected=collected if o.registration is not None else None,
            evidence=[
                _url(o.entry_url, "fields of the cancellation form"),
                _note(
                    "sign-up asked for: "
                    + (", ".join(k.value for k in collected) if o.registration is not None else "?")
                ),
            ],
        )
    preconditions = None
    if o.completed and "blocked" not in o.states and o.status_url:
        # Documents or biometrics asked for are a condition too (the rule lists them).
        items = [
            Precondition(kind=kind, text=f"the cancellation form asks for: {asked.value}")
            for asked in o.asked or []
            if (kind := _CONDITION.get(asked)) is not None
        ]
        text = "completed; conditions: " + (", ".join(i.kind.value for i in items) or "none")
        preconditions = Preconditions(items=items, evidence=[_url(o.status_url, text)])
    notes = [_note(n) for n in o.notes] or None
    return Profile(
        platform=Platform(name=config.platform_name or host, url=config.base_url),
        sector=config.sector,
        evaluation=Evaluation(
            date=_cst(now),
            evaluator=config.evaluator or SOURCE,
            method="probe",
            source=config.base_url,
        ),
        cancellation=cancellation,
        verification=verification,
        preconditions=preconditions,
        timing=_timing(o),
        outcome=_outcome(o),
        recycled_number=_recycled(o),
        notes=notes,
    )
