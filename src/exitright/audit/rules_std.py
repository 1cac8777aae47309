"""Checks of the rules from standards, enforcement methods, and rules derived from the seed study.

Sources: 《App违法违规收集使用个人信息行为认定方法》(2019), GB/T 35273-2020, and analogies (D).
Same discipline as :mod:`exitright.audit.rules_ecl`. Pure core: standard library and the profile
model only.
"""

from __future__ import annotations

from exitright.audit.profile import (
    ASSISTED_CHANNELS,
    Channel,
    PreconditionKind,
    Profile,
    RecycledBehaviour,
    Result,
)
from exitright.audit.rules_ecl import MANUAL_LIMIT_WORKING_DAYS
from exitright.audit.verdict import (
    NO_EVIDENCE_EN,
    NO_EVIDENCE_ZH,
    Assessment,
    Verdict,
    judged,
    not_assessed,
)

V = Verdict  # short name: the checks below spell out many verdicts

TAPS_FULL = 4
TAPS_PARTIAL = 6
ENTRY_WORDS = ("注销", "delete", "close", "cancel", "remove", "deactivate", "terminate")
RESPONSE_LIMIT_DAYS = 30


def check_effective(p: Profile) -> Assessment:
    """CN-RD-6-effective — 认定方法 §6 [S]: cancellation must be effective; one that only unbinds
    the phone or freezes the account fails, as does none at all."""
    c, o = p.cancellation, p.outcome
    if c is not None and c.cancellable is False:
        return judged(
            V.FAIL,
            "No way to cancel the account was found.",
            "未发现注销账号的途径。",
            cancellation=c,
        )
    if o is None:
        return not_assessed(
            "What cancellation does was not observed.", "未观察注销的实际效果。", cancellation=c
        )
    if o.result in (Result.PHONE_UNBOUND_ONLY, Result.FROZEN, Result.NOTHING):
        return judged(
            V.FAIL,
            f"'Cancellation' only results in '{o.result.value}'.",
            f"所谓“注销”仅导致“{o.result.value}”。",
            outcome=o,
        )
    if o.third_party_login_reaches_old is True:
        return judged(
            V.FAIL,
            "A third-party login still reaches the old account.",
            "第三方登录仍可进入原账号。",
            outcome=o,
        )
    if o.result in (Result.DELETED, Result.ANONYMIZED) and o.old_login_fails is True:
        tested = o.third_party_login_reaches_old is False
        return judged(
            V.PASS,
            f"The account is {o.result.value}; the old login fails"
            + ("; third-party logins no longer reach it." if tested else "."),
            f"账号已{'删除' if o.result is Result.DELETED else '匿名化'}，原登录失效"
            + ("，第三方登录亦无法进入。" if tested else "。"),
            outcome=o,
        )
    return not_assessed(
        "The outcome was only partly observed.", "仅部分观察了注销结果。", outcome=o
    )


def check_deadline(p: Profile) -> Assessment:
    """CN-RD-6-deadline — 认定方法 §6 [S]; GB/T 35273 §8.5 [S]: handled within the promise, which
    may not exceed 15 working days (no promise: 15 working days apply)."""
    t = p.timing
    if t is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    promised = t.promised_working_days if t.promise_stated is not False else None
    if promised is not None and promised > MANUAL_LIMIT_WORKING_DAYS:
        return judged(
            V.FAIL,
            f"The promise is {promised} working days, over the 15 allowed.",
            f"承诺时限为{promised}个工作日，超过15个工作日。",
            timing=t,
        )
    observed = t.observed_working_days
    if observed is None:
        return not_assessed(
            "The time to completion was not observed.", "未观察到完成所需时间。", timing=t
        )
    limit = promised if promised is not None else MANUAL_LIMIT_WORKING_DAYS
    note_en = "" if promised is not None else " No promise was stated; measured against 15."
    note_zh = "" if promised is not None else "未作承诺，按15个工作日衡量。"
    if t.working_days_provisional:
        note_en += " Count is provisional (no official calendar)."
        note_zh += "计数为临时值（缺官方日历）。"
    if observed <= limit:
        return judged(
            V.PASS,
            f"Completed in {observed} working days (limit {limit}).{note_en}",
            f"{observed}个工作日内完成（时限{limit}）。{note_zh}",
            timing=t,
        )
    return judged(
        V.FAIL,
        f"Completed in {observed} working days, over the limit of {limit}.{note_en}",
        f"耗时{observed}个工作日，超过时限{limit}。{note_zh}",
        timing=t,
    )


def check_simple(p: Profile) -> Assessment:
    """CN-35273-8.5-simple — GB/T 35273-2020 §8.5, §8.7 [S]: a simple method in the product —
    start and finish in the same client; not PC-only, hotline-only or e-mail-only."""
    c = p.cancellation
    if c is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    channels = set(c.channels or ())
    in_product = channels & {Channel.IN_APP_PAGE, Channel.WEB_PAGE}
    if in_product and c.same_client is False:
        return judged(
            V.PARTIAL,
            "It starts in the product but has to be finished elsewhere.",
            "注销可在产品内发起，但须在别处完成。",
            cancellation=c,
        )
    if in_product:
        where = "in the app" if Channel.IN_APP_PAGE in in_product else "on the web page"
        where_zh = "App内" if Channel.IN_APP_PAGE in in_product else "网页上"
        return judged(
            V.PASS,
            f"A self-service cancellation page exists {where}.",
            f"{where_zh}提供自助注销页面。",
            cancellation=c,
        )
    if c.cancellable is False:
        return judged(V.FAIL, "No cancellation at all.", "完全无法注销。", cancellation=c)
    if Channel.PC_ONLY in channels:
        return judged(
            V.FAIL,
            "Cancellation only on the PC (desktop) side.",
            "仅能在电脑端注销。",
            cancellation=c,
        )
    if channels and channels <= ASSISTED_CHANNELS:
        names = sorted(ch.value.replace("_", " ") for ch in channels)
        return judged(
            V.FAIL,
            f"Cancellation only through {', '.join(names)}.",
            f"只能通过{'、'.join(names)}注销。",
            cancellation=c,
        )
    if c.has_page is False:
        return judged(
            V.FAIL,
            "No self-service cancellation page in the product.",
            "产品内没有自助注销页面。",
            cancellation=c,
        )
    return not_assessed(
        "The cancellation channel was not observed.", "未观察注销渠道。", cancellation=c
    )


def check_verify(p: Profile) -> Assessment:
    """CN-35273-8.5-verify — GB/T 35273 §8.5 [S]; 必要个人信息范围规定 [S]: verification asks
    for nothing beyond what registration and use collected."""
    v = p.verification
    if v is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    extra = v.beyond_collected
    if extra is None:
        return not_assessed(
            "What was asked, or what registration collected, was not observed.",
            "未观察验证要求或注册时收集的信息。",
            verification=v,
        )
    if extra:
        return judged(
            V.FAIL,
            f"Verification needs data never collected: {', '.join(extra)}.",
            f"验证需要注册及使用中从未收集的信息：{'、'.join(extra)}。",
            verification=v,
        )
    return judged(
        V.PASS,
        "Verification asks nothing beyond what was collected.",
        "验证所需信息未超出已收集范围。",
        verification=v,
    )


def check_consequences(p: Profile) -> Assessment:
    """CN-35273-8.5-consequences — GB/T 35273 §8.5 [S]: the confirmation lists what is lost and
    what is kept, with periods, before the user confirms."""
    c = p.cancellation
    if c is None or c.consequences_disclosed is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH, cancellation=c)
    if c.consequences_disclosed:
        return judged(
            V.PASS,
            "The confirmation lists what is lost and what is kept.",
            "确认页列明了将失去和将保留的内容。",
            cancellation=c,
        )
    return judged(
        V.FAIL,
        "Consequences are not disclosed before confirming.",
        "确认前未告知注销后果。",
        cancellation=c,
    )


def check_30days(p: Profile) -> Assessment:
    """CN-35273-8.7-30days — GB/T 35273 §8.7 [S]: answer access and deletion requests within
    30 days, free of charge."""
    r, t, c = p.rights, p.timing, p.cancellation
    candidates = (r.response_days if r else None, t.calendar_days if t else None)
    days = [d for d in candidates if d is not None]
    charged = (r is not None and r.charged is True) or (c is not None and c.asks_payment is True)
    if charged:
        return judged(
            V.FAIL,
            "The request was charged for.",
            "处理申请时收取了费用。",
            rights=r,
            cancellation=c,
        )
    if days and max(days) > RESPONSE_LIMIT_DAYS:
        return judged(
            V.FAIL,
            f"A response took {max(days)} days (limit 30).",
            f"答复耗时{max(days)}天（上限30天）。",
            rights=r,
            timing=t,
        )
    free = (r is not None and r.charged is False) or (c is not None and c.asks_payment is False)
    if days and free:
        return judged(
            V.PASS,
            f"Answered within {max(days)} days, free of charge.",
            f"{max(days)}天内免费答复。",
            rights=r,
            timing=t,
            cancellation=c,
        )
    return not_assessed(
        "Response time or charges were not observed.",
        "未观察答复时间或收费情况。",
        rights=r,
        timing=t,
    )


def check_entry_taps(p: Profile) -> Assessment:
    """CN-UX-entry-taps — 认定方法 §1.3 by analogy [D]: taps from the main screen to the entry:
    ≤ 4 full marks, 5–6 partial, ≥ 7 or absent fail; labelled 注销 / delete; not only in help."""
    c = p.cancellation
    if c is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    if c.has_page is False or c.help_only is True:
        return judged(
            V.FAIL,
            "No cancellation entry in the product's own screens.",
            "产品界面中没有注销入口。",
            cancellation=c,
        )
    if c.taps is None:
        return not_assessed(
            "The taps to the entry were not counted.", "未统计到达入口的点击次数。", cancellation=c
        )
    unclear = c.label is not None and not any(w in c.label.lower() for w in ENTRY_WORDS)
    if c.taps >= TAPS_PARTIAL + 1:
        v = V.FAIL
    elif c.taps > TAPS_FULL or unclear:
        v = V.PARTIAL
    else:
        v = V.PASS
    label_en = f"; the label '{c.label}' does not say cancel/delete" if unclear else ""
    label_zh = f"；入口名称“{c.label}”未表明注销" if unclear else ""
    return judged(
        v,
        f"{c.taps} taps from the main screen to the entry{label_en}.",
        f"从主界面到入口需点击{c.taps}次{label_zh}。",
        cancellation=c,
    )


def check_cooling_off(p: Profile) -> Assessment:
    """CN-UX-cooling-off — ECL Art. 24 "immediately" and the 15-working-day rule [D]: cooling-off
    plus processing ≤ 15 working days; revocable in the product; no new conditions during it."""
    k, t = p.cooling_off, p.timing
    if k is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    if k.new_conditions is True:
        return judged(
            V.FAIL,
            "New conditions were added during the cooling-off.",
            "冷静期内增设了新条件。",
            cooling_off=k,
        )
    if k.working_days is None:
        return not_assessed(
            "The cooling-off length was not observed.", "未观察冷静期长度。", cooling_off=k
        )
    processing = None
    if t is not None:
        processing = (
            t.observed_working_days
            if t.observed_working_days is not None
            else t.promised_working_days
        )
    total = k.working_days + (processing or 0)
    if total > MANUAL_LIMIT_WORKING_DAYS:
        return judged(
            V.FAIL,
            f"Cooling-off and processing take {total} working days (limit 15).",
            f"冷静期加处理共{total}个工作日（上限15个）。",
            cooling_off=k,
            timing=t,
        )
    if processing is None and k.working_days > 0:
        return not_assessed(
            "The processing time after the cooling-off was not observed.",
            "未观察冷静期后的处理时间。",
            cooling_off=k,
        )
    if k.working_days > 0 and k.revocable_in_product is not True:
        if k.revocable_in_product is False:
            return judged(
                V.PARTIAL,
                "The cooling-off cannot be revoked in the product.",
                "冷静期内无法在产品中撤销申请。",
                cooling_off=k,
            )
        return not_assessed(
            "Whether the cooling-off is revocable was not observed.",
            "未观察冷静期内能否撤销。",
            cooling_off=k,
        )
    return judged(
        V.PASS,
        f"Cooling-off and processing take {total} working days in all.",
        f"冷静期加处理共{total}个工作日。",
        cooling_off=k,
        timing=t,
    )


def check_no_payment(p: Profile) -> Assessment:
    """CN-UX-no-payment — derived from the seed study (fraud by fake "customer service") [D]:
    no step asks for a payment, transfer, loan or payment code; official channels are stated."""
    c, pre = p.cancellation, p.preconditions
    money = {PreconditionKind.FEE, PreconditionKind.TRANSFER}
    if (c is not None and c.asks_payment is True) or (
        pre is not None and any(i.kind in money for i in pre.items)
    ):
        return judged(
            V.FAIL,
            "A step asks for a payment, transfer, loan or payment code.",
            "注销流程中要求付款、转账、借贷或提供付款码。",
            cancellation=c,
            preconditions=pre,
        )
    if c is None or c.asks_payment is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH, cancellation=c)
    if c.official_channels_stated is True:
        return judged(
            V.PASS,
            "No step involves money; the official channels are stated.",
            "流程不涉及资金，且公布了官方渠道。",
            cancellation=c,
        )
    if c.official_channels_stated is False:
        return judged(
            V.PARTIAL,
            "No step involves money, but the official channels are not stated.",
            "流程不涉及资金，但未公布官方渠道。",
            cancellation=c,
        )
    return not_assessed(
        "Whether official channels are stated was not observed.",
        "未观察是否公布官方渠道。",
        cancellation=c,
    )


def check_recycled(p: Profile) -> Assessment:
    """CN-ID-recycled — derived from the seed study (recycled numbers expose old orders) [D]:
    a code sent to a reassigned number reaches a fresh account, not the old one."""
    r = p.recycled_number
    if r is None or r.behaviour is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH, recycled_number=r)
    if r.behaviour is RecycledBehaviour.FRESH_ACCOUNT:
        return judged(
            V.PASS,
            "The reassigned number opens a fresh account.",
            "重新分配的号码只能进入全新账号。",
            recycled_number=r,
        )
    return judged(
        V.FAIL,
        f"The reassigned number reaches the old account ({r.behaviour.value}).",
        f"重新分配的号码可进入原账号（{r.behaviour.value}）。",
        recycled_number=r,
    )
