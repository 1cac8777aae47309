"""The privacy centre over real HTTP: consequences, code, confirm, status, withdraw, certificate."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select

from exitright import bootstrap
from exitright.cancellation import services
from exitright.cancellation.commands import RejectRequest
from exitright.cancellation.model import Actor
from exitright.cancellation.outcomes import RejectionReason
from exitright.config import Settings
from exitright.datamap.legal import LEGAL_BASES
from exitright.db.engine import make_engine
from exitright.demo.schema import users
from exitright.i18n import gettext
from exitright.identity import build_guard, parse_identifier
from exitright.privacy.consequences import consequences
from tests.integration.privacy.conftest import (
    Centre,
    codes,
    csrf,
    customer_phone,
    privacy_server,
    wait_for_code,
    wait_for_state,
)

STATUS = re.compile(r"^/privacy/requests/(req_[a-z2-7]+)$")


@pytest.fixture
def centre(settings: Settings) -> Iterator[Centre]:
    """The privacy centre with the default seven-day cooling-off and the in-process worker."""
    with privacy_server(settings, cooling_off_days=7) as live:
        yield live


@pytest.fixture
def client(centre: Centre) -> Iterator[httpx.Client]:
    """A browser-like client in Chinese: keeps cookies, does not follow redirects."""
    with httpx.Client(base_url=centre.url, headers={"Accept-Language": "zh-CN"}) as c:
        yield c


def start(client: httpx.Client, phone: str) -> httpx.Response:
    """Ask to cancel the account with ``phone`` (the code page, or the form with an error)."""
    return client.post("/privacy/cancel", data={"csrf_token": csrf(client), "contact": phone})


def confirm(client: httpx.Client, phone: str, code: str, *, tick: bool = True) -> httpx.Response:
    """Type ``code`` on the code page, ticking the confirmation box unless told not to."""
    data = {"csrf_token": csrf(client), "contact": phone, "code": code}
    if tick:
        data["confirm"] = "yes"
    return client.post("/privacy/cancel/verify", data=data)


def cancel(client: httpx.Client, phone: str) -> str:
    """The whole flow up to the status page; returns its path."""
    before = len(codes(client))
    assert start(client, phone).status_code == 200
    done = confirm(client, phone, wait_for_code(client, before))
    assert done.status_code == 303, done.text
    assert STATUS.match(done.headers["location"])
    return done.headers["location"]


def test_the_cancellation_page_states_consequences_generated_from_the_data_map(
    client: httpx.Client, centre: Centre
) -> None:
    """Every retained basis with its citation and period, every deleted place, the safety notes."""
    page = client.get("/privacy/cancel")
    assert page.status_code == 200
    eraser = centre.runtime.ports.eraser
    assert isinstance(eraser, bootstrap.EngineEraser)  # the demo platform's map
    c = consequences(eraser.dm)
    assert c.kept and c.deleted
    for group in c.kept:
        assert group.basis.citation in page.text
        assert group.basis.title_zh in page.text
        for kept in group.holdings:
            assert f"{kept.holding.store}.{kept.holding.name}" in page.text
    for holding in c.deleted:
        assert f"{holding.store}.{holding.name}" in page.text
    assert "3 年" in page.text and "6 个月" in page.text
    assert "7 天内不会删除任何信息" in page.text  # the deployment's cooling-off
    promised = centre.runtime.ports.deadlines[centre.runtime.ports.default_regime].working_days
    assert f"法定期限 {promised} 个工作日内完成" in page.text  # the deployment's deadline
    assert "平台绝不会要求您付款" in page.text
    assert f"{centre.settings.public_url}/privacy/cancel" in page.text  # the official channel
    english = client.get("/privacy/cancel?lang=en").text
    assert LEGAL_BASES["cn-ecl-31"].title_en in english
    assert "never ask you to pay" in english and "3 years" in english


def test_a_customer_cancels_with_a_code_and_can_withdraw_during_cooling_off(
    client: httpx.Client, centre: Centre
) -> None:
    """Code → confirm → status page in cooling-off with its end date → withdrawn."""
    path = cancel(client, customer_phone(centre.settings))
    page = wait_for_state(client, path, ("cooling_off",))
    assert "冷静期" in page and "撤回我的申请" in page
    assert "受理时间" in page and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d CST", page)
    assert re.search(r"将于\d{4}-\d\d-\d\d前处理完毕", page)  # the due date
    token = csrf(client, path)
    withdrawn = client.post(f"{path}/revoke", data={"csrf_token": token})
    assert withdrawn.status_code == 303 and withdrawn.headers["location"] == path
    page = client.get(path).text
    assert 'data-state="revoked"' in page and "撤回我的申请" not in page
    timeline = page[page.index('id="timeline"') :]
    steps = [gettext("zh-CN", f"requests.action.{a}") for a in ("submit", "verify", "revoke")]
    assert timeline.index(steps[0]) < timeline.index(steps[1]) < timeline.index(steps[2])


def test_the_status_page_is_not_found_in_another_browser(
    client: httpx.Client, centre: Centre
) -> None:
    """Another session gets the same 404 for a real request id as for a made-up one."""
    path = cancel(client, customer_phone(centre.settings))
    with httpx.Client(base_url=centre.url) as other:
        real = other.get(path)
        made_up = other.get("/privacy/requests/req_aaaaaaaaaaaaaaaaaaaaaaaa")
        cert = other.get(f"{path}/certificate")
        assert real.status_code == made_up.status_code == cert.status_code == 404
        revoke = other.post(f"{path}/revoke", data={"csrf_token": csrf(other)})
        assert revoke.status_code == 404
    assert client.get(path).status_code == 200


def test_confirmation_is_required_and_a_wrong_code_says_how_many_tries_are_left(
    client: httpx.Client, centre: Centre
) -> None:
    """Unticked: 422 and the code is not spent; wrong code: 422 with the tries left."""
    phone = customer_phone(centre.settings)
    before = len(codes(client))
    start(client, phone)
    code = wait_for_code(client, before)
    unticked = confirm(client, phone, code, tick=False)
    assert unticked.status_code == 422 and "请勾选确认框" in unticked.text
    wrong = confirm(client, phone, "000000" if code != "000000" else "111111")
    left = gettext("zh-CN", "identity.otp.wrong_code", attempts_left=4)
    assert wrong.status_code == 422 and left in wrong.text
    assert confirm(client, phone, code).status_code == 303


def test_a_number_without_an_account_gets_the_same_answer_and_no_code(
    client: httpx.Client, centre: Centre
) -> None:
    """No enumeration: the same page, the number masked, and nothing delivered."""
    known = start(client, customer_phone(centre.settings))
    wait_for_code(client, 0)
    sent = len(codes(client))
    unknown = start(client, "199 1234 0000")
    assert unknown.status_code == known.status_code == 200
    assert "199****0000" in unknown.text and "19912340000" not in unknown.text
    strip = re.compile(r'value="[^"]*"|\d{3}\*{4}\d{4}')
    assert strip.sub("", unknown.text) == strip.sub("", known.text)
    assert len(codes(client)) == sent


def test_an_invalid_number_gets_the_form_back_with_the_reason(client: httpx.Client) -> None:
    """A malformed number: 422, the consequences page again with a message."""
    page = start(client, "12345")
    assert page.status_code == 422 and 'role="alert"' in page.text
    assert gettext("zh-CN", "identity.error.invalid_phone") in page.text


def test_a_number_that_changed_hands_does_not_cancel_the_old_account(
    client: httpx.Client, centre: Centre
) -> None:
    """Recycled after the owner last proved it: the code opens nothing, nothing is cancelled."""
    phone = customer_phone(centre.settings)
    guard = build_guard(centre.settings, centre.app.state.engine)
    guard.mark_recycled(parse_identifier("phone", phone), guard.clock.now().date())
    before = len(codes(client))
    start(client, phone)
    page = confirm(client, phone, wait_for_code(client, before))
    assert page.status_code == 409
    assert gettext("zh-CN", "identity.recycled.changed_hands") in page.text
    assert 'href="/privacy/requests/' not in page.text


def test_the_well_known_address_redirects_to_the_logged_out_page(client: httpx.Client) -> None:
    """/.well-known/delete-account → the cancellation page, which works without signing in."""
    moved = client.get("/.well-known/delete-account")
    assert moved.status_code in (302, 303)
    assert moved.headers["location"] == "/privacy/cancel"
    page = client.get(moved.headers["location"])
    assert page.status_code == 200 and 'action="/privacy/cancel"' in page.text


def test_with_no_cooling_off_the_request_completes_with_a_certificate(
    settings: Settings,
) -> None:
    """The worker erases the account; the certificate downloads; the public checker accepts it."""
    with (
        privacy_server(settings, cooling_off_days=0) as live,
        httpx.Client(base_url=live.url, headers={"Accept-Language": "zh-CN"}) as client,
    ):
        phone = customer_phone(live.settings)
        path = cancel(client, phone)
        page = wait_for_state(client, path, ("completed",), timeout=60)
        assert "下载删除证明" in page and 'href="/certificates/verify"' in page
        cert = client.get(f"{path}/certificate")
        assert cert.status_code == 200
        assert cert.headers["content-type"].startswith("application/jose")
        assert "attachment" in cert.headers["content-disposition"]
        checked = client.post(
            "/certificates/verify",
            data={"csrf_token": csrf(client, "/certificates/verify"), "token": cert.text},
        )
        assert gettext("zh-CN", "cert.result.valid") in checked.text
        demo = make_engine(live.settings.demo_url)
        try:
            with demo.connect() as conn:
                assert (
                    conn.execute(select(users.c.id).where(users.c.phone == phone)).first() is None
                )
        finally:
            demo.dispose()


def newest_state(centre: Centre) -> str:
    """The state of the request submitted last."""
    rt = centre.runtime
    page = services.list_requests(rt.uow(readonly=True), owner=None, cursor=None, limit=1)
    return page.records[0].request.state.value


def test_not_now_withdraws_the_unverified_request(client: httpx.Client, centre: Centre) -> None:
    """Leaving at the code step withdraws the request: nothing stays open in the queue."""
    start(client, customer_phone(centre.settings))
    assert newest_state(centre) == "submitted"
    left = client.post("/privacy/cancel/abandon", data={"csrf_token": csrf(client)})
    assert left.status_code == 303 and left.headers["location"] == "/privacy/cancel"
    assert newest_state(centre) == "revoked"
    again = client.post("/privacy/cancel/verify", data={"csrf_token": csrf(client), "code": "1"})
    assert again.status_code == 303 and again.headers["location"] == "/privacy/cancel"


def test_a_new_code_too_soon_says_how_long_to_wait(client: httpx.Client, centre: Centre) -> None:
    """The identity service's resend limit shows as 429 with the seconds to wait."""
    phone = customer_phone(centre.settings)
    start(client, phone)
    form = {"csrf_token": csrf(client), "contact": phone}
    again = client.post("/privacy/cancel/resend", data=form)
    assert again.status_code == 429
    assert re.search(r"请在\d+秒后再获取验证码", again.text)
    assert 'name="code"' in again.text  # the code form is still there


def test_a_refusal_shows_its_reason_and_the_route_to_court(settings: Settings) -> None:
    """PIPL Art. 50: a refused request names the specific reason and where to appeal."""
    with (
        privacy_server(settings, cooling_off_days=7, worker=False) as live,
        httpx.Client(base_url=live.url, headers={"Accept-Language": "zh-CN"}) as client,
    ):
        path = cancel(client, customer_phone(live.settings))
        page = client.get(path).text
        assert 'data-state="verified"' in page and "撤回我的申请" in page
        request_id = path.rsplit("/", 1)[1]
        rt = live.runtime
        reason = RejectionReason.LEGAL_CLAIMS
        services.reject(
            RejectRequest(request_id, Actor.operator("op-1"), reason), rt.uow(), rt.ports
        )
        page = client.get(path).text
        assert 'data-state="rejected"' in page and "撤回我的申请" not in page
        assert gettext("zh-CN", reason.message_key) in page
        assert gettext("zh-CN", "requests.appeal.cn") in page
        assert "PIPL Art. 50" in page


def test_an_account_can_be_cancelled_with_its_registered_e_mail_address(
    client: httpx.Client, centre: Centre
) -> None:
    """The code goes to the address the account registered; the request is verified with it."""
    demo = make_engine(centre.settings.demo_url)
    try:
        with demo.connect() as conn:
            email = conn.execute(
                select(users.c.email)
                .where(users.c.email.is_not(None), users.c.status == "active")
                .order_by(users.c.id)
                .limit(1)
            ).scalar_one()
    finally:
        demo.dispose()
    path = cancel(client, str(email).upper())  # any case, as people type it
    assert 'data-state="' in client.get(path).text
