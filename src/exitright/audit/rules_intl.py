"""Checks of the GDPR, CCPA and app-store rules; assessed only when the evaluation's scope names
the regime. Same discipline as :mod:`exitright.audit.rules_ecl`. Pure core: standard library and
the profile model only.
"""

from __future__ import annotations

import calendar
import datetime as dt

from exitright.audit.profile import Profile, Result
from exitright.audit.verdict import (
    NO_EVIDENCE_EN,
    NO_EVIDENCE_ZH,
    Assessment,
    Verdict,
    judged,
    not_assessed,
)

V = Verdict  # short name: the checks below spell out many verdicts

CCPA_CONFIRM_BUSINESS_DAYS = 10
CCPA_RESPOND_DAYS = 45
SURELY_WITHIN_A_MONTH = 28
SURELY_OVER_A_MONTH = 31


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def check_gdpr_deadline(p: Profile) -> Assessment:
    """GDPR-12-deadline — GDPR Art. 12(3)–(4): answer within one month, extendable by two with
    reasons given in the first month; a refusal names the supervisory authority and the courts."""
    t, r = p.timing, p.refusals
    if r is not None and r.names_authority is False:
        return judged(
            V.FAIL,
            "A refusal does not name the supervisory authority and the courts.",
            "拒绝时未告知监管机构和法院救济途径。",
            refusals=r,
        )
    if t is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    months = 3 if t.extension_notice_with_reasons else 1
    within: bool | None = None
    if t.submitted_on and t.completed_on:
        within = t.completed_on <= add_months(t.submitted_on, months)
    elif t.observed_calendar_days is not None:
        days = t.observed_calendar_days
        if days <= SURELY_WITHIN_A_MONTH * months:
            within = True
        elif days > SURELY_OVER_A_MONTH * months:
            within = False
    if within is None:
        return not_assessed(
            "The response time was not observed precisely enough (give the dates).",
            "未能精确观察答复时间（请提供日期）。",
            timing=t,
        )
    span = "one month" if months == 1 else "three months, with a timely extension notice"
    span_zh = "一个月" if months == 1 else "三个月（已及时告知延期理由）"
    if within:
        return judged(V.PASS, f"Answered within {span}.", f"在{span_zh}内答复。", timing=t)
    return judged(V.FAIL, f"Not answered within {span}.", f"未在{span_zh}内答复。", timing=t)


def check_gdpr_erase(p: Profile) -> Assessment:
    """GDPR-17-erase — GDPR Art. 17: erase without undue delay; afterwards an access request
    returns only data kept under Art. 17(3)(b)/(e), with the basis named."""
    o = p.outcome
    if o is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    if o.access_after_returns_only_retained is False or o.basis_named is False:
        return judged(
            V.FAIL,
            "After deletion, access returns more than the retained data, or no basis is named.",
            "删除后查询仍返回保留范围之外的数据，或未说明保留依据。",
            outcome=o,
        )
    if o.access_after_returns_only_retained and o.basis_named:
        return judged(
            V.PASS,
            "After deletion, access returns only retained data, with its basis named.",
            "删除后查询仅返回依法保留的数据，并说明依据。",
            outcome=o,
        )
    return not_assessed(
        "Access after deletion was not observed.", "未观察删除后的查询结果。", outcome=o
    )


def check_gdpr_recipients(p: Profile) -> Assessment:
    """GDPR-19-recipients — GDPR Art. 19: notify every recipient of the erasure and list the
    recipients on request."""
    t = p.third_parties
    if t is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    if t.recipient_list_available is False or t.notices_logged_with_ack is False:
        return judged(
            V.FAIL,
            "No recipient list, or notices to recipients are not logged.",
            "无接收方清单，或未记录对接收方的通知。",
            third_parties=t,
        )
    if t.recipient_list_available and t.notices_logged_with_ack:
        return judged(
            V.PASS,
            "Recipients are listed; notices to them are logged with acknowledgements.",
            "提供接收方清单，通知及回执均有记录。",
            third_parties=t,
        )
    return not_assessed(
        "Recipient handling was only partly observed.", "仅部分观察了接收方处理。", third_parties=t
    )


def check_ccpa_timing(p: Profile) -> Assessment:
    """US-CCPA-7021 — CCPA regulations §7021: confirm receipt within 10 business days; respond
    within 45 calendar days (+45 with notice)."""
    t = p.timing
    if t is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    limit = CCPA_RESPOND_DAYS * (2 if t.extension_notice_with_reasons else 1)
    days, confirm = t.calendar_days, t.confirmation_business_days
    if (confirm is not None and confirm > CCPA_CONFIRM_BUSINESS_DAYS) or (
        days is not None and days > limit
    ):
        return judged(
            V.FAIL,
            f"Confirmation after {confirm} business days / response after {days} days "
            f"(limits 10 and {limit}).",
            f"确认耗时{confirm}个工作日/答复耗时{days}天（上限10和{limit}）。",
            timing=t,
        )
    if confirm is not None and days is not None:
        return judged(
            V.PASS,
            f"Confirmed after {confirm} business days, answered after {days} days.",
            f"{confirm}个工作日内确认，{days}天内答复。",
            timing=t,
        )
    return not_assessed("The timestamps were only partly observed.", "仅部分观察了时间。", timing=t)


def check_ccpa_delete(p: Profile) -> Assessment:
    """US-CCPA-7022 — Cal. Civ. Code §1798.105; CCPA regulations §7022: delete or deidentify,
    notify service providers, contractors and third parties; explain any impossibility."""
    t, o = p.third_parties, p.outcome
    if (t is not None and (t.told_to_delete is False or t.impossible_explained is False)) or (
        o is not None and o.result in (Result.PHONE_UNBOUND_ONLY, Result.FROZEN, Result.NOTHING)
    ):
        return judged(
            V.FAIL,
            "Data was not deleted or deidentified, or downstream parties were not told.",
            "数据未删除或去标识化，或未通知下游方。",
            third_parties=t,
            outcome=o,
        )
    if (
        t is not None
        and t.told_to_delete
        and o is not None
        and o.result in (Result.DELETED, Result.ANONYMIZED)
    ):
        return judged(
            V.PASS,
            "Deleted or deidentified, and downstream parties were told.",
            "已删除或去标识化，并已通知下游方。",
            third_parties=t,
            outcome=o,
        )
    return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH, third_parties=t, outcome=o)


def check_apple(p: Profile) -> Assessment:
    """STORE-APPLE-5.1.1v — Apple App Review Guideline 5.1.1(v) [S]: deletion starts in the app;
    the account is removed, not deactivated."""
    c, o = p.cancellation, p.outcome
    if c is not None and c.in_app is False:
        return judged(
            V.FAIL, "Deletion cannot start in the app.", "无法在App内发起删除。", cancellation=c
        )
    if o is not None and o.result in (Result.FROZEN, Result.PHONE_UNBOUND_ONLY, Result.NOTHING):
        return judged(
            V.FAIL,
            "The account is disabled, not removed.",
            "账号仅被停用而非删除。",
            outcome=o,
        )
    if (
        c is not None
        and c.in_app
        and o is not None
        and o.result in (Result.DELETED, Result.ANONYMIZED)
    ):
        return judged(
            V.PASS,
            "Deletion starts in the app and removes the account.",
            "可在App内发起删除，账号被删除。",
            cancellation=c,
            outcome=o,
        )
    return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH, cancellation=c, outcome=o)


def check_google_play(p: Profile) -> Assessment:
    """STORE-GPLAY-web — Google Play account deletion policy [S]: an in-app path and a web page
    that accepts a request without the app, logged out."""
    c = p.cancellation
    if c is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    if c.in_app is False or c.web_logged_out is False:
        return judged(
            V.FAIL,
            "No in-app path, or no web page that works without the app.",
            "缺少App内途径，或缺少无需App即可使用的网页。",
            cancellation=c,
        )
    if c.in_app and c.web_logged_out:
        return judged(
            V.PASS,
            "An in-app path and a logged-out web page both exist.",
            "App内途径和免登录网页均存在。",
            cancellation=c,
        )
    return not_assessed(
        "The web page was not tried logged out.", "未在未登录状态下测试网页。", cancellation=c
    )
