"""The error model: every code has a status, a message in both languages, and documentation."""

from __future__ import annotations

from pathlib import Path

import pytest

from exitright.errors import HTTP_STATUS, ErrorCode, ExitRightError
from exitright.i18n import LANGUAGES, catalog

DOCS = Path(__file__).resolve().parents[3] / "docs" / "errors.md"


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_code_has_a_status_and_messages_in_every_language(code: ErrorCode) -> None:
    """A code without a translated message would show a raw key to users."""
    assert 400 <= HTTP_STATUS[code] <= 599
    for lang in LANGUAGES:
        assert f"error.{code.value}" in catalog(lang), (lang, code)


def test_every_code_is_documented() -> None:
    """docs/errors.md is the published list of stable codes."""
    text = DOCS.read_text(encoding="utf-8")
    missing = [c.value for c in ErrorCode if f"`{c.value}`" not in text]
    assert not missing


def test_error_carries_status_and_message_id() -> None:
    """An explicit status and message id override the defaults of the code."""
    err = ExitRightError(ErrorCode.FORBIDDEN, message_id="error.csrf", status=403)
    assert err.http_status == 403
    assert err.msgid == "error.csrf"
    assert ExitRightError(ErrorCode.NOT_FOUND).msgid == "error.not_found"
