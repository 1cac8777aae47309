"""The registry of legal bases a data map may cite for ``retain``.

Each basis names its citation and how long it keeps data, counted from a column of the retained
row (``from:`` in the map) or, where the law counts from the end of the relationship, from the
erasure itself. Pure data; add a basis here with its citation before a map may use it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class LegalBasis:
    """A rule of law that requires keeping a record for a period."""

    id: str
    citation: str
    title_en: str
    title_zh: str
    months: int
    counted_from_column: bool


LEGAL_BASES: Final[dict[str, LegalBasis]] = {
    b.id: b
    for b in (
        LegalBasis(
            id="cn-ecl-31",
            citation="中华人民共和国电子商务法 第三十一条",
            title_en="E-commerce Law Art. 31: goods, service and transaction records, "
            "three years from completion of the transaction",
            title_zh="电子商务法第三十一条：商品和服务信息、交易信息保存时间自交易完成之日起不少于三年",
            months=36,
            counted_from_column=True,
        ),
        LegalBasis(
            id="cn-invoice-29",
            citation="中华人民共和国发票管理办法 第二十九条",
            title_en="Invoice Administration Measures Art. 29: issued invoice stubs, five years",
            title_zh="发票管理办法第二十九条：已经开具的发票存根联，应当保存5年",
            months=60,
            counted_from_column=True,
        ),
        LegalBasis(
            id="cn-csl-21",
            citation="中华人民共和国网络安全法 第二十一条第（三）项",
            title_en="Cybersecurity Law Art. 21(3): network logs, not less than six months",
            title_zh="网络安全法第二十一条第（三）项：留存相关的网络日志不少于六个月",
            months=6,
            counted_from_column=True,
        ),
        LegalBasis(
            id="cn-aml-19",
            citation="中华人民共和国反洗钱法（2006）第十九条",
            title_en="Anti-Money Laundering Law (2006) Art. 19: customer identity and transaction "
            "records, five years after the business relationship ends",
            title_zh="反洗钱法第十九条：客户身份资料在业务关系结束后、客户交易信息在交易结束后，应当至少保存五年",
            months=60,
            counted_from_column=False,
        ),
    )
}


def known_bases() -> list[str]:
    """The ids a map may cite, sorted."""
    return sorted(LEGAL_BASES)
