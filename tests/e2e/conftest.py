"""A real browser: Debian's chromium driven by Playwright (no browser download needed)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("EXITRIGHT_TEST_CHROMIUM", "/usr/bin/chromium")
# Flags for a sandboxed, offline machine: no first-run UI, no background calls to Google.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[object]:
    """A fresh page in headless chromium with a phone-sized viewport."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is not installed; scripts/browser installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = context.new_page()
        try:
            yield page
        finally:
            context.close()
            browser.close()
