"""Filling a key or path pattern's ``{placeholders}`` with a subject's identifiers, safely.

Values are escaped for the glob syntax they are put into, so a value can never widen the match;
values that could leave a directory (``/``, ``..``) are refused. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Final

PLACEHOLDER: Final = re.compile(r"\{([a-z_]+)\}")


class UnsafeValueError(ValueError):
    """An identifier value that cannot be put into a pattern safely."""


def redis_escape(value: str) -> str:
    """Escape Redis glob metacharacters (``SCAN MATCH`` / ``KEYS`` syntax)."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", value)


def path_escape(value: str) -> str:
    """Escape :mod:`glob` metacharacters and refuse values that would change directory."""
    if not value or "/" in value or "\\" in value or value in (".", "..") or "\x00" in value:
        raise UnsafeValueError("value cannot be used in a path")
    return re.sub(r"([*?\[])", r"[\1]", value)


def fill(pattern: str, values: Mapping[str, str], escape: Callable[[str], str]) -> str | None:
    """``pattern`` with placeholders replaced by escaped values; None if one is unknown."""
    missing = [m.group(1) for m in PLACEHOLDER.finditer(pattern) if not values.get(m.group(1))]
    if missing:
        return None
    return PLACEHOLDER.sub(lambda m: escape(values[m.group(1)]), pattern)


def has_glob(filled: str) -> bool:
    """Whether a filled Redis pattern still contains unescaped glob characters."""
    return bool(re.search(r"(?<!\\)[*?\[]", filled))


def unescape_redis(filled: str) -> str:
    """The literal key of a filled pattern without glob characters."""
    return re.sub(r"\\(.)", r"\1", filled)
