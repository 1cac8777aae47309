"""A visitor signs up on the demo shop in a real browser and reaches Account & privacy."""

from __future__ import annotations

from typing import Any

import pytest

from exitright.config import Settings
from tests.integration.demo.shop_server import shop_server


@pytest.mark.browser
def test_signing_up_on_the_demo_shop_reaches_account_and_privacy(
    settings: Settings, browser_page: Any
) -> None:
    """Phone number, code from the developer page, then the Account & privacy page."""
    page = browser_page
    with shop_server(settings) as live:
        page.goto(f"{live.url}/shop/")
        page.get_by_role("link", name="登录 / 注册").first.click()
        page.get_by_label("手机号").fill("199 0000 0009")
        page.get_by_role("button", name="获取验证码").click()
        page.wait_for_url("**/shop/signin/code")
        page.get_by_role("link", name="查看验证码（开发者页面）").click()
        code = page.locator("code.otp").first.inner_text()
        page.get_by_role("link", name="返回输入验证码").click()
        page.get_by_label("6 位验证码").fill(code)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url("**/shop/account?welcome=1")
        assert page.get_by_role("heading", name="账号与隐私", level=1).is_visible()
        assert "199****0009" in page.content()
        page.get_by_role("link", name="账号与隐私").first.click()
        assert page.get_by_role("heading", name="平台保存的我的信息").is_visible()
