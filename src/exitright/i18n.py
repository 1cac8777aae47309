"""Message catalogs for zh-CN and en.

Catalogs are gettext ``.po`` files under ``locales/<lang>/LC_MESSAGES/<domain>.po`` whose msgids
are stable keys (``nav.home``, ``error.not_found``). They are read with Babel at first use, so no
compile step is needed. Every key must exist in every language (a test checks it); a missing key
renders as the key itself rather than crashing a page.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Final

from babel.messages.pofile import read_po

LANGUAGES: Final = ("zh-CN", "en")
DEFAULT_LANGUAGE: Final = "zh-CN"
_DIRS: Final = {"zh-CN": "zh_CN", "en": "en"}


def normalize_language(value: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Map ``zh``, ``zh-cn``, ``zh_CN``, ``en-US`` … onto a supported language."""
    if not value:
        return default
    v = value.strip().replace("_", "-").lower()
    if v.startswith("zh"):
        return "zh-CN"
    if v.startswith("en"):
        return "en"
    return default


def pick_language(accept_language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Choose a language from an HTTP Accept-Language header."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        if tag and tag != "*":
            ranked.append((-weight, i, tag))
    for _, _, tag in sorted(ranked):
        lang = normalize_language(tag, default="")
        if lang:
            return lang
    return default


@cache
def catalog(lang: str) -> dict[str, str]:
    """All messages of one language, merged over every catalog domain."""
    messages: dict[str, str] = {}
    base = (
        resources.files("exitright") / "locales" / _DIRS[normalize_language(lang)] / "LC_MESSAGES"
    )
    for entry in sorted(base.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".po"):
            continue
        with entry.open("rb") as fh:
            for message in read_po(fh):
                if message.id and isinstance(message.id, str) and message.string:
                    messages[message.id] = str(message.string)
    return messages


def gettext(lang: str, key: str, **params: object) -> str:
    """The message ``key`` in ``lang``, with ``{name}`` placeholders filled from ``params``."""
    text = catalog(normalize_language(lang)).get(key, key)
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def both(key: str, **params: object) -> dict[str, str]:
    """The message in every supported language, as used by the API error model."""
    return {lang: gettext(lang, key, **params) for lang in LANGUAGES}


def keys(lang: str) -> Iterable[str]:
    """Every message key of one language (for the catalog consistency test)."""
    return catalog(lang).keys()
