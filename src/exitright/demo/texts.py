"""Text builders for the generator: company codes and names, phones as people type them."""

from __future__ import annotations

import random
from typing import Final

from exitright.demo import vocab
from exitright.demo.regions import District

__all__ = ["company_name", "is_valid_uscc", "spoken_phone", "uscc"]

# GB 32100-2015 unified social credit code: 31 characters (no I, O, S, V, Z) and weights 3^i mod 31.
_USCC_CHARS: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11714 organisation code check digit weights.
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)


def _uscc_check(body17: str) -> str:
    total = sum(_USCC_CHARS.index(c) * w for c, w in zip(body17, _USCC_WEIGHTS, strict=True))
    return _USCC_CHARS[(31 - total % 31) % 31]


def uscc(rng: random.Random, region_code: str) -> str:
    """A well-formed unified social credit code of a company registered in ``region_code``.

    ``9`` (registered with the market regulator), ``1`` (enterprise), the region, a nine-character
    organisation code with its own GB 11714 check digit, and the GB 32100 check character.
    """
    org = f"{rng.randrange(10**8):08d}"
    c9 = 11 - sum(int(c) * w for c, w in zip(org, _ORG_WEIGHTS, strict=True)) % 11
    org += "X" if c9 == 10 else "0" if c9 == 11 else str(c9)
    body = f"91{region_code}{org}"
    return body + _uscc_check(body)


def is_valid_uscc(code: str) -> bool:
    """Whether ``code`` is 18 characters of the USCC alphabet with a correct check character."""
    return (
        len(code) == 18
        and all(c in _USCC_CHARS for c in code)
        and _uscc_check(code[:17]) == code[17]
    )


def company_name(rng: random.Random, where: District) -> str:
    """A plausible company name in ``where``'s city, e.g. 杭州云帆网络科技有限公司."""
    city = where.city.removesuffix("市")
    return f"{city}{rng.choice(vocab.COMPANY_WORDS)}{rng.choice(vocab.COMPANY_TRADES)}有限公司"


def spoken_phone(rng: random.Random, phone: str) -> str:
    """``phone`` written the way people type it in a chat: grouped, dashed, with +86 or bare."""
    a, b, c = phone[:3], phone[3:7], phone[7:]
    return rng.choice(
        (
            phone,
            phone,
            f"{a} {b} {c}",
            f"{a}-{b}-{c}",
            f"+86 {phone}",
            f"+86-{a}-{b}-{c}",
            f"86{phone}",
        )
    )
