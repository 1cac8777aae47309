"""Message catalogs: complete in both languages, and the visitor's language is picked sensibly."""

from __future__ import annotations

import pytest

from exitright.i18n import catalog, gettext, normalize_language, pick_language


def test_both_catalogs_have_exactly_the_same_keys() -> None:
    """A key present in one language only would render as a raw key in the other."""
    zh, en = set(catalog("zh-CN")), set(catalog("en"))
    assert zh - en == set()
    assert en - zh == set()


def test_placeholders_are_filled_and_missing_keys_render_as_the_key() -> None:
    """gettext formats {params} and never raises on an unknown key."""
    assert "0.1.0" in gettext("en", "footer.text", version="0.1.0")
    assert gettext("en", "no.such.key") == "no.such.key"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("fr-FR,en;q=0.5", "en"),
        ("de", "zh-CN"),
        ("", "zh-CN"),
        ("en;q=0.1,zh;q=0.9", "zh-CN"),
        ("en;q=bad", "en"),
    ],
)
def test_accept_language_picks_the_best_supported_language(header: str, expected: str) -> None:
    """Unsupported languages fall through to the next choice, then to the default."""
    assert pick_language(header) == expected


def test_language_tags_are_normalized() -> None:
    """zh, zh_CN, zh-Hans all mean zh-CN."""
    assert normalize_language("zh_CN") == "zh-CN"
    assert normalize_language("zh-Hans") == "zh-CN"
    assert normalize_language("EN-gb") == "en"
    assert normalize_language(None, default="en") == "en"
