"""The identity catalog: both languages, the same keys, a text for every key the code uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from exitright.identity.recycled import Verdict
from exitright.identity.service import CheckStatus

SRC = Path(__file__).parents[3] / "src" / "exitright"
LOCALES = SRC / "locales"


def _messages(lang: str) -> dict[str, str]:
    """The identity catalog of ``lang``."""
    with (LOCALES / lang / "LC_MESSAGES" / "identity.po").open("rb") as fh:
        return {str(m.id): str(m.string) for m in read_po(fh) if m.id}


def _all_keys(lang: str) -> set[str]:
    """Every key of every catalog of ``lang`` (identity.otp.* live in requests.po)."""
    keys: set[str] = set()
    for po in (LOCALES / lang / "LC_MESSAGES").glob("*.po"):
        with po.open("rb") as fh:
            keys |= {str(m.id) for m in read_po(fh) if m.id}
    return keys


def _used_keys() -> set[str]:
    """Keys named in the identity code, the CLI and the route."""
    files = [*(SRC / "identity").glob("*.py"), SRC / "cli" / "identity.py"]
    found: set[str] = set()
    for path in files:
        found |= set(re.findall(r'"(identity\.[a-z_.]+[a-z])"', path.read_text(encoding="utf-8")))
    found |= {f"identity.recycled.{v.value}" for v in Verdict}
    found |= {f"identity.otp.{s.value}" for s in CheckStatus if s is not CheckStatus.CHANGED_HANDS}
    found |= {"identity.error.invalid_phone", "identity.error.invalid_email"}
    # Ledger event names (identity.account_frozen, …) are not messages.
    messages = ("identity.error.", "identity.code.", "identity.recycled.", "identity.otp.")
    return {k for k in found if k.startswith(messages)}


def test_both_languages_have_the_same_keys() -> None:
    """A key missing in one language would show its raw id."""
    assert set(_messages("en")) == set(_messages("zh_CN"))


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_every_key_the_identity_code_uses_has_a_text(lang: str) -> None:
    """Errors, code messages and recycled-number texts all exist."""
    missing = _used_keys() - _all_keys(lang)
    assert missing == set()


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_placeholders_match_across_languages(lang: str) -> None:
    """{code} and {minutes} in English are {code} and {minutes} in Chinese too."""
    en, other = _messages("en"), _messages(lang)
    for key, text in en.items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", other[key])), key
