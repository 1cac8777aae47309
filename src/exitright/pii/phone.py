"""Mainland China mobile numbers: validation, normalization, and the pattern to find them in text.

A mobile number has 11 digits: ``1``, a network prefix allocated by the MIIT to China Mobile,
China Unicom, China Telecom, China Broadnet or virtual operators, then 8 subscriber digits. People
write it with ``+86`` / ``0086`` / ``86`` in front and with spaces or dashes inside
(``+86 138-1234-5678``); :func:`normalize_mobile` reduces all of those to the bare 11 digits so
that one subject's number is recognised however it was typed.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "MOBILE_PATTERN",
    "MOBILE_PREFIXES",
    "is_valid_mobile",
    "normalize_mobile",
]

# Allocated three-digit prefixes (public numbering plan, including data-only 14x and virtual
# operators' 16x/17x). 140–144, 154, 174, 179 and 194 are not allocated to mobile subscribers.
MOBILE_PREFIXES: Final = frozenset(
    [f"13{d}" for d in range(10)]
    + ["145", "146", "147", "148", "149"]
    + [f"15{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)]
    + ["162", "165", "166", "167"]
    + ["170", "171", "172", "173", "175", "176", "177", "178"]
    + [f"18{d}" for d in range(10)]
    + [f"19{d}" for d in (0, 1, 2, 3, 5, 6, 7, 8, 9)]
)

_BARE: Final = re.compile(r"1\d{10}")
_PREFIX: Final = re.compile(r"^(?:\+86|0086|86)")
_SEPARATORS: Final = re.compile(r"[\s\-\u00a0()]")

# A mobile number in free text: optional country code, the 3-4-4 groups optionally separated by
# one space or dash, and no digit glued on either side (so it does not fire inside longer numbers
# such as ID or order numbers). Candidates still need :func:`is_valid_mobile` on the normalized
# value to check the prefix.
MOBILE_PATTERN: Final = re.compile(
    r"(?<![\d+])(?:(?:\+|00)?86[\s-]?)?(1\d{2})[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)"
)


def normalize_mobile(value: str) -> str | None:
    """The bare 11-digit form of a mobile number written in any common way, or None."""
    compact = _SEPARATORS.sub("", value.strip())
    if len(compact) > 11:
        compact = _PREFIX.sub("", compact)
    if not _BARE.fullmatch(compact) or compact[:3] not in MOBILE_PREFIXES:
        return None
    return compact


def is_valid_mobile(value: str) -> bool:
    """Whether ``value`` is a bare 11-digit mainland mobile number with an allocated prefix."""
    return len(value) == 11 and bool(_BARE.fullmatch(value)) and value[:3] in MOBILE_PREFIXES
