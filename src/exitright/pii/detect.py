"""Detectors for personal data in text, and the search variants of a subject's identifiers.

Pure functions (standard library only): used by ``datamap check`` to find uncovered columns,
by the ``redact`` anonymize method, by the residual check and, later, by the ledger and log scans.
A detector returns the kinds it found and where, never a copy of the value outside the caller's
own string.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

from exitright.pii.idcard import is_valid_id_number
from exitright.pii.phone import MOBILE_PATTERN, normalize_mobile

Kind = Literal["phone", "id_number", "email", "bank_card", "address", "name"]

_ID: Final = re.compile(r"(?<![0-9A-Za-z])([0-9]{17}[0-9Xx])(?![0-9A-Za-z])")
_EMAIL: Final = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_CARD: Final = re.compile(r"(?<![0-9])((?:[0-9][ -]?){15,18}[0-9])(?![0-9])")
_ADDRESS: Final = re.compile(
    r"[\u4e00-\u9fff]{2,}(?:省|自治区|市)[\u4e00-\u9fff0-9]{0,12}(?:市|区|县|旗)"
    r"[\u4e00-\u9fff0-9]{1,20}(?:路|街|道|巷|村|镇|大厦|小区)[\u4e00-\u9fff0-9\-]{0,12}(?:号|室|栋|单元)?"
)
# The most common Chinese family names (covering the large majority of the population); a
# two-to-three character CJK value starting with one is a probable personal name.
_SURNAMES: Final = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
)
_NAME: Final = re.compile(r"^[\u4e00-\u9fff]{2,3}$")


@dataclass(frozen=True)
class Finding:
    """One detected span: its kind and its offsets in the scanned text."""

    kind: Kind
    start: int
    end: int


def id_number_valid(value: str) -> bool:
    """Whether ``value`` is an 18-character resident ID number (region, birth date, checksum)."""
    return is_valid_id_number(value)


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn check used by bank cards."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def normalize_phone(value: str) -> str | None:
    """The 11-digit form of a Chinese mobile number given with or without +86, spaces, dashes."""
    return normalize_mobile(value)


def phone_variants(phone: str) -> list[str]:
    """Exact spellings under which a platform may have stored ``phone`` (for equality look-ups)."""
    p = normalize_phone(phone) or phone
    groups = f"{p[:3]} {p[3:7]} {p[7:]}"
    dashed = f"{p[:3]}-{p[3:7]}-{p[7:]}"
    return [
        p,
        f"+86{p}",
        f"+86 {p}",
        f"86{p}",
        f"0086{p}",
        groups,
        f"+86 {groups}",
        dashed,
        f"+86-{dashed}",
    ]


def phone_needles(phone: str) -> list[str]:
    """Substrings whose presence anywhere means ``phone`` is there (covers every prefix form)."""
    p = normalize_phone(phone) or phone
    return [p, f"{p[:3]} {p[3:7]} {p[7:]}", f"{p[:3]}-{p[3:7]}-{p[7:]}"]


def email_variants(email: str) -> list[str]:
    """Exact spellings of an e-mail address to look up: as given and lower-cased."""
    return sorted({email, email.strip().lower()})


def id_number_variants(value: str) -> list[str]:
    """An ID number with its check character in both cases."""
    return sorted({value, value.upper(), value.lower()})


def _name_like(text: str) -> bool:
    return bool(_NAME.match(text)) and text[0] in _SURNAMES


def find(text: str) -> Iterator[Finding]:
    """Every personal-data span in ``text`` (phone, ID number, e-mail, bank card, address)."""
    id_spans: list[tuple[int, int]] = []
    for m in _ID.finditer(text):
        if id_number_valid(m.group(1)):
            id_spans.append(m.span())
            yield Finding("id_number", *m.span())
    for m in MOBILE_PATTERN.finditer(text):
        if normalize_mobile(m.group(0)) and not any(s <= m.start() < e for s, e in id_spans):
            yield Finding("phone", *m.span())
    for m in _EMAIL.finditer(text):
        yield Finding("email", *m.span())
    for m in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", m.group(1))
        inside_id = any(s <= m.start() < e for s, e in id_spans)
        if 16 <= len(digits) <= 19 and luhn_valid(digits) and not inside_id:
            yield Finding("bank_card", *m.span())
    for m in _ADDRESS.finditer(text):
        yield Finding("address", *m.span())
    if _name_like(text.strip()):
        yield Finding("name", 0, len(text))


def kinds(text: str) -> set[Kind]:
    """The kinds of personal data detected in ``text``."""
    return {f.kind for f in find(text)}


_LABELS: Final[dict[Kind, str]] = {
    "phone": "[phone]",
    "id_number": "[id]",
    "email": "[email]",
    "bank_card": "[card]",
    "address": "[address]",
    "name": "[name]",
}


def redact(text: str) -> str:
    """``text`` with every detected phone, ID number, e-mail and bank card replaced by a label.

    Addresses and names are left alone inside free text (too many false positives); the
    replacement is idempotent: redacting twice gives the same text.
    """
    spans = sorted(
        (f for f in find(text) if f.kind in ("phone", "id_number", "email", "bank_card")),
        key=lambda f: (f.start, -f.end),
    )
    out: list[str] = []
    pos = 0
    for f in spans:
        if f.start < pos:
            continue
        out.append(text[pos : f.start])
        out.append(_LABELS[f.kind])
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


_COLUMN_HINTS: Final[tuple[tuple[Kind, re.Pattern[str]], ...]] = (
    ("phone", re.compile(r"phone|mobile|tel(?![a-z])|手机|电话", re.I)),
    ("email", re.compile(r"e_?mail|邮箱", re.I)),
    ("id_number", re.compile(r"id_?(number|card|no)|identity|身份证", re.I)),
    ("bank_card", re.compile(r"card_?(no|number)|bank_?(account|card)|iban", re.I)),
    ("address", re.compile(r"address|addr(?![a-z])|street|地址", re.I)),
    (
        "name",
        re.compile(r"(real_?|full_?|receiver_?|contact_?|nick_?|user_?|sender_?)name$|姓名", re.I),
    ),
)


def column_hint(column: str) -> Kind | None:
    """The kind of personal data a column's name suggests, if any."""
    for kind, pattern in _COLUMN_HINTS:
        if pattern.search(column):
            return kind
    return None
