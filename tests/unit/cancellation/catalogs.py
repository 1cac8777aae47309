"""The requests catalogs as the tests read them (directly, independent of other domains' files)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES = Path(__file__).parents[3] / "src" / "exitright" / "locales"


@cache
def messages(lang: str) -> dict[str, str]:
    """The requests.po messages of one language directory (en, zh_CN)."""
    with (LOCALES / lang / "LC_MESSAGES" / "requests.po").open("rb") as fh:
        return {str(m.id): str(m.string) for m in read_po(fh) if m.id}


def catalog_keys(lang: str) -> frozenset[str]:
    """Every key of the requests catalog in ``lang``."""
    return frozenset(messages(lang))
