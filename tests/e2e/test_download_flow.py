"""A shop customer downloads their data in a real browser: two clicks, a code, a zip."""

from __future__ import annotations

import json
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from exitright.config import Settings
from tests.e2e.test_cancel_flow import privacy_code, privacy_codes, shop_sign_in, zh
from tests.integration.privacy.conftest import customer_phone, privacy_server

REDIS_DB = 14  # the demo map's Redis store for this test; other suites use 3-13


@pytest.mark.browser
@pytest.mark.slow
def test_a_customer_downloads_their_data_from_the_shop(
    settings: Settings, browser_page: Any, tmp_path: Path
) -> None:
    """Shop home → Account & privacy → Download my data → code → status → the zip."""
    page = browser_page
    with privacy_server(settings, cooling_off_days=7, redis_db=REDIS_DB) as live:
        base = live.url
        phone = customer_phone(live.settings)
        shop_sign_in(page, base, phone)
        page.wait_for_url("**/shop/")

        page.get_by_role("link", name=zh("shop.nav.account")).first.click()  # 1
        page.get_by_role("link", name=zh("requests.kind.access")).click()  # 2
        page.wait_for_url("**/privacy/access")
        assert page.get_by_role("heading", name=zh("kinds.access.contents.title")).is_visible()
        assert page.locator("#no-payment").is_visible()

        before = len(privacy_codes(page, base))
        page.get_by_label(zh("privacy.cancel.form.contact")).fill(phone)
        page.get_by_role("button", name=zh("privacy.cancel.form.submit")).click()
        assert page.get_by_text(zh("identity.otp.sent")).is_visible()
        page.get_by_label(zh("privacy.verify.code")).fill(privacy_code(page, base, before))
        page.get_by_label(zh("kinds.verify.confirm.access")).check()
        page.get_by_role("button", name=zh("kinds.verify.submit.access")).click()
        page.wait_for_url(re.compile(r".*/privacy/requests/req_[a-z2-7]+$"))
        status_url = page.url

        # No cooling-off for a download: the in-process worker prepares it at once.
        deadline = time.monotonic() + 60
        while page.locator("#state").get_attribute("data-state") != "completed":
            assert time.monotonic() < deadline, page.locator("#state").inner_text()
            time.sleep(0.5)
            page.goto(status_url)
        assert page.get_by_text(zh("kinds.access.ready", days=7)).is_visible()

        with page.expect_download() as download:
            page.get_by_role("link", name=zh("kinds.access.download")).click()
        saved = tmp_path / "my-data.zip"
        download.value.save_as(saved)
        assert download.value.suggested_filename.endswith(".zip")
        with zipfile.ZipFile(saved) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            users = json.loads(zf.read("platform/users.json"))
        assert users["rows"][0]["phone"] == phone
        assert "password_hash" not in users["rows"][0]
        assert any(t["file"] == "platform/orders" and t["rows"] > 0 for t in manifest["tables"])
