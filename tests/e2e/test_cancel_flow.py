"""A shop customer cancels in a real browser, gets a certificate, then signs up anew."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from exitright.config import Settings
from exitright.i18n import gettext
from tests.integration.privacy.conftest import customer_phone, privacy_server

REDIS_DB = 8  # the demo map's Redis store for this test; other suites use 5, 6, 7, 9, 11 and 13


def zh(key: str, **params: object) -> str:
    """A message as the Chinese pages show it."""
    return gettext("zh-CN", key, **params)


def shop_sign_in(page: Any, base: str, phone: str) -> None:
    """Sign in (or up) on the demo shop with the code from its developer page."""
    page.goto(f"{base}/shop/")
    page.get_by_role("link", name=zh("shop.nav.signin")).first.click()
    page.get_by_label(zh("shop.signin.phone")).fill(phone)
    page.get_by_role("button", name=zh("shop.signin.send")).click()
    page.wait_for_url("**/shop/signin/code")
    page.get_by_role("link", name=zh("shop.dev.link")).click()
    code = page.locator("code.otp").first.inner_text()
    page.get_by_role("link", name=zh("shop.dev.back")).click()
    page.get_by_label(zh("shop.code.label")).fill(code)
    page.get_by_role("button", name=zh("shop.code.submit")).click()


def privacy_codes(page: Any, base: str) -> list[str]:
    """The codes on the privacy centre's developer page (newest first), read in a second tab."""
    tab = page.context.new_page()
    try:
        tab.goto(f"{base}/privacy/dev/codes")
        return [str(c) for c in tab.locator("code.otp").all_inner_texts()]
    finally:
        tab.close()


def privacy_code(page: Any, base: str, before: int) -> str:
    """The newest code, once more than ``before`` were sent (delivery runs in the background)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = privacy_codes(page, base)
        if len(found) > before:
            return found[0]
        time.sleep(0.1)
    raise AssertionError("no code was delivered")


@pytest.mark.browser
@pytest.mark.slow
def test_a_customer_cancels_in_two_clicks_and_the_certificate_checks_out(
    settings: Settings, browser_page: Any, tmp_path: Any
) -> None:
    """Shop home → Account & privacy → Cancel my account; code; confirm; completed; certificate."""
    page = browser_page
    with privacy_server(settings, cooling_off_days=0, redis_db=REDIS_DB) as live:
        base = live.url
        phone = customer_phone(live.settings)
        shop_sign_in(page, base, phone)
        page.wait_for_url("**/shop/")

        # Two clicks from the shop's home page to the cancellation page.
        page.get_by_role("link", name=zh("shop.nav.account")).first.click()  # 1
        page.get_by_role("link", name=zh("shop.account.cancel")).click()  # 2
        page.wait_for_url("**/privacy/cancel")

        # The consequences, generated from the data map, before anything is asked.
        assert page.get_by_role("heading", name=zh("privacy.cancel.deleted.title")).is_visible()
        kept = page.get_by_role("heading", name=zh("privacy.cancel.kept.title"))
        assert kept.is_visible()
        assert page.get_by_text("中华人民共和国电子商务法 第三十一条").first.is_visible()
        assert page.locator("#no-payment").is_visible()
        assert zh("privacy.cancel.steps.no_cooling_off") in page.content()

        # Verify with a code to the registered number, and confirm.
        before = len(privacy_codes(page, base))
        page.get_by_label(zh("privacy.cancel.form.contact")).fill(phone)
        page.get_by_role("button", name=zh("privacy.cancel.form.submit")).click()
        assert page.get_by_text(zh("identity.otp.sent")).is_visible()
        assert page.locator("#no-payment").is_visible()
        page.get_by_label(zh("privacy.verify.code")).fill(privacy_code(page, base, before))
        page.get_by_label(zh("privacy.verify.confirm")).check()
        page.get_by_role("button", name=zh("privacy.verify.submit")).click()
        page.wait_for_url(re.compile(r".*/privacy/requests/req_[a-z2-7]+$"))
        status_url = page.url

        # With no cooling-off the in-process worker carries it out; the page says so.
        deadline = time.monotonic() + 60
        while page.locator("#state").get_attribute("data-state") != "completed":
            assert time.monotonic() < deadline, page.locator("#state").inner_text()
            time.sleep(0.5)
            page.goto(status_url)
        assert page.get_by_text(zh("privacy.status.completed")).is_visible()
        timeline = page.locator("#timeline").inner_text()
        for action in ("submit", "verify", "start_cooling_off", "execute", "complete"):
            assert zh(f"requests.action.{action}") in timeline

        # The certificate downloads, and the public checker confirms it.
        with page.expect_download() as download:
            page.get_by_role("link", name=zh("privacy.status.certificate")).click()
        saved = tmp_path / "certificate.jws"
        download.value.save_as(saved)
        assert saved.read_text().count(".") == 2  # a compact JWS
        page.get_by_role("link", name=zh("privacy.status.checker")).click()
        page.wait_for_url("**/certificates/verify")
        page.locator('input[type="file"]').set_input_files(str(saved))
        page.get_by_role("button", name=zh("cert.submit")).click()
        page.locator("section.notice h2").wait_for()
        assert page.locator("section.notice h2").inner_text() == zh("cert.result.valid")
        assert zh("cert.ledger.found") in page.content()

        # The same phone signs up again and gets a new, empty account.
        shop_sign_in(page, base, phone)
        page.wait_for_url("**/shop/account?welcome=1")
        assert page.get_by_text(zh("shop.account.welcome")).is_visible()
        rows = page.locator("#privacy tr")
        held = {
            rows.nth(i).locator("th").inner_text(): rows.nth(i).locator("td").inner_text()
            for i in range(rows.count())
        }
        assert held.pop(zh("shop.data.logins")) == "1"  # this very sign-in, nothing older
        assert held and set(held.values()) == {"0"}, held
