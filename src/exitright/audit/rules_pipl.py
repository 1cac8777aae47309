"""Checks of the rules read in PIPL, NDSMR and the Cybersecurity Law.

Same discipline as :mod:`exitright.audit.rules_ecl`. Pure core: standard library and the profile
model only.
"""

from __future__ import annotations

from exitright.audit.profile import Channel, Profile
from exitright.audit.verdict import (
    NO_EVIDENCE_EN,
    NO_EVIDENCE_ZH,
    Assessment,
    Verdict,
    judged,
    not_assessed,
)

V = Verdict  # short name: the checks below spell out many verdicts


def check_storage_only(p: Profile) -> Assessment:
    """CN-PIPL-47-storage-only — PIPL Art. 47¶2; NDSMR Art. 24: retained data is only stored and
    secured (segregated, encrypted, access-logged, out of other processing, purged at expiry)."""
    r = p.retention
    if r is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    if r.excluded_from_processing is False or r.purged_at_expiry is False:
        return judged(
            V.FAIL,
            "Retained data is still processed, or not purged at expiry.",
            "保留的数据仍被处理，或到期未清除。",
            retention=r,
        )
    security = {"segregated": r.segregated, "encrypted": r.encrypted, "logged": r.access_logged}
    weak = [k for k, v in security.items() if v is False]
    if weak:
        return judged(
            V.PARTIAL,
            f"Retained data is not {', '.join(weak)}.",
            f"保留的数据未做到：{'、'.join(weak)}。",
            retention=r,
        )
    if (
        all(v is True for v in security.values())
        and r.excluded_from_processing
        and r.purged_at_expiry
    ):
        return judged(
            V.PASS,
            "Retained data is segregated, encrypted, access-logged, unused and purged at expiry.",
            "保留数据隔离、加密、访问留痕、不再使用，并在到期时清除。",
            retention=r,
        )
    return not_assessed(
        "Storage measures were only partly observed.", "仅部分观察了存储措施。", retention=r
    )


def check_stop_use(p: Profile) -> Assessment:
    """CN-PIPL-47-stop-use — PIPL Art. 47¶1 [V]; MIIT Order 24 Art. 9¶4 [S]: stop using the
    identifiers after cancellation (no marketing 30 and 90 days after completion)."""
    c = p.contact_after
    if c is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    if c.marketing_after_30_days or c.marketing_after_90_days:
        return judged(
            V.FAIL,
            "Marketing reached the former identifiers after cancellation.",
            "注销后原联系方式仍收到营销信息。",
            contact_after=c,
        )
    if c.marketing_after_30_days is False and c.marketing_after_90_days is False:
        return judged(
            V.PASS,
            "No marketing reached the former identifiers at 30 and 90 days.",
            "注销后30天和90天均未向原联系方式发送营销信息。",
            contact_after=c,
        )
    return not_assessed(
        "Only one of the 30- and 90-day checks was observed.",
        "30天与90天两次检查只观察了一次。",
        contact_after=c,
    )


def check_withdraw(p: Profile) -> Assessment:
    """CN-PIPL-15-withdraw — PIPL Arts. 15–16: withdrawing consent is convenient (a switch per
    consent, no more steps than granting) and not punished (basic function still works)."""
    c = p.consent
    if c is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    harder = (
        c.withdraw_steps is not None
        and c.grant_steps is not None
        and c.withdraw_steps > c.grant_steps
    )
    if c.per_consent_switch is False or c.basic_function_after_withdrawal is False or harder:
        return judged(
            V.FAIL,
            "Withdrawal has no per-consent switch, takes more steps than granting, "
            "or stops the basic function.",
            "撤回同意没有逐项开关、步骤多于授予，或导致基本功能不可用。",
            consent=c,
        )
    if (
        c.per_consent_switch
        and c.basic_function_after_withdrawal
        and c.withdraw_steps is not None
        and c.grant_steps is not None
    ):
        return judged(
            V.PASS,
            f"A switch per consent; withdrawing takes {c.withdraw_steps} steps, "
            f"granting {c.grant_steps}; the basic function still works.",
            f"每项同意均有开关；撤回需{c.withdraw_steps}步，授予需{c.grant_steps}步；"
            "基本功能仍可用。",
            consent=c,
        )
    return not_assessed("Withdrawal was only partly observed.", "仅部分观察了撤回同意。", consent=c)


def check_intake(p: Profile) -> Assessment:
    """CN-PIPL-50-intake — PIPL Art. 50¶1: a convenient mechanism to accept requests (in the
    product, at any hour, acknowledged with a reference)."""
    c = p.cancellation
    if c is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    channels = set(c.channels or ())
    no_product_channel = (
        c.channels is not None
        and not channels & {Channel.IN_APP_PAGE, Channel.WEB_PAGE, Channel.PC_ONLY}
        and not channels & {Channel.CUSTOMER_SERVICE_CHAT, Channel.CUSTOMER_SERVICE}
    )
    if c.cancellable is False or no_product_channel:
        return judged(
            V.FAIL,
            "A request cannot be made in the product.",
            "无法在产品内提出申请。",
            cancellation=c,
        )
    in_product = c.has_page is True or (
        c.channels is not None and Channel.CUSTOMER_SERVICE_CHAT in c.channels
    )
    if in_product and c.any_hour is True and c.acknowledged_with_reference is True:
        return judged(
            V.PASS,
            "Requests are taken in the product at any hour and acknowledged with a reference.",
            "可随时在产品内提出申请，并获得带编号的受理回执。",
            cancellation=c,
        )
    if in_product and (c.any_hour is False or c.acknowledged_with_reference is False):
        return judged(
            V.PARTIAL,
            "Requests are taken in the product, but not at any hour or without a reference.",
            "可在产品内提出申请，但非全天受理或无受理编号。",
            cancellation=c,
        )
    return not_assessed(
        "Hours and acknowledgement of the intake were not observed.",
        "未观察受理时间和受理回执。",
        cancellation=c,
    )


def check_reasons(p: Profile) -> Assessment:
    """CN-PIPL-50-reasons — PIPL Art. 50: every refusal gives a specific reason and what to do
    (and the individual may sue); a generic error fails."""
    r = p.refusals
    if r is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    if r.generic_error is True or r.reason_specific is False:
        return judged(
            V.FAIL,
            "A block or refusal came without a specific reason.",
            "拒绝或阻断时未给出具体理由。",
            refusals=r,
        )
    if r.reason_specific and r.what_to_do is True:
        return judged(
            V.PASS,
            "Refusals give a specific reason and say what to do.",
            "拒绝时给出具体理由并说明解决办法。",
            refusals=r,
        )
    if r.reason_specific and r.what_to_do is False:
        return judged(
            V.PARTIAL,
            "Refusals give a reason but not what to do.",
            "拒绝时给出理由，但未说明解决办法。",
            refusals=r,
        )
    return not_assessed("Refusals were only partly observed.", "仅部分观察了拒绝情形。", refusals=r)


def check_delete_correct(p: Profile) -> Assessment:
    """CN-CSL-43-delete-correct — Cybersecurity Law Art. 43 (2016) / Art. 45 (2026): delete
    unlawfully collected data (the export holds no unlisted field) and correct errors."""
    r = p.rights
    if r is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    if r.export_unlisted_fields is True or r.correction_succeeds is False:
        return judged(
            V.FAIL,
            "The export holds fields the rules do not list, or a correction failed.",
            "导出数据含规则未列明的字段，或更正失败。",
            rights=r,
        )
    if r.export_unlisted_fields is False and r.correction_succeeds is True:
        return judged(
            V.PASS,
            "The export holds only listed fields, and a correction succeeded.",
            "导出数据仅含已列明的字段，更正成功。",
            rights=r,
        )
    return not_assessed(
        "Export contents or a correction were not observed.", "未观察导出内容或更正。", rights=r
    )


def check_no_onward(p: Profile) -> Assessment:
    """CN-CSL-42-no-onward — Cybersecurity Law Art. 42 (2016) / Art. 44 (2026): no onward
    provision; third parties are told to delete and nothing tied to the old account flows."""
    t = p.third_parties
    if t is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    if t.flows_after is True or t.told_to_delete is False:
        return judged(
            V.FAIL,
            "Third parties were not told to delete, or data still flows to them.",
            "未通知第三方删除，或数据仍流向第三方。",
            third_parties=t,
        )
    if t.told_to_delete and t.flows_after is False:
        return judged(
            V.PASS,
            "Third parties were told to delete; nothing flows to them afterwards.",
            "已通知第三方删除，此后无数据流向第三方。",
            third_parties=t,
        )
    return not_assessed(
        "Third-party deletion was only partly observed.",
        "仅部分观察了第三方删除。",
        third_parties=t,
    )
