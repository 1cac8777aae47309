"""Checks of the rules read in the E-commerce Law (with NDSMR and PIPL where the rubric joins them).

Each check takes a profile and returns a verdict with one sentence of evidence in en and zh-CN.
The discipline: *pass* needs every observation the rule asks for; *fail* needs one decisive
negative observation; *partial* a known but not decisive shortfall; anything else is *not assessed*.

Pure core: standard library and the profile model only.
"""

from __future__ import annotations

from exitright.audit.profile import (
    Channel,
    PreconditionKind,
    Profile,
    Result,
)
from exitright.audit.verdict import (
    NO_EVIDENCE_EN,
    NO_EVIDENCE_ZH,
    Assessment,
    Verdict,
    judged,
    not_assessed,
)

V = Verdict  # short name: the checks below spell out many verdicts

UNREASONABLE = frozenset(
    {
        PreconditionKind.ACCOUNT_AGE,
        PreconditionKind.ACTIVITY,
        PreconditionKind.COMPLETE_PROFILE,
        PreconditionKind.FEE,
        PreconditionKind.TRANSFER,
        PreconditionKind.DOCUMENTS,
        PreconditionKind.BIOMETRICS,
        PreconditionKind.EXACT_HISTORY,
        PreconditionKind.MULTI_PRODUCT,
        PreconditionKind.RESIDENCY_OR_PROOF,
    }
)
FIXABLE = frozenset(
    {
        PreconditionKind.OPEN_ORDERS,
        PreconditionKind.DISPUTE,
        PreconditionKind.POSITIVE_BALANCE,
        PreconditionKind.OUTSTANDING_DEBT,
        PreconditionKind.SECURITY_LOCK,
    }
)
# Channels that, used alone, are themselves an unreasonable condition (PC-only; phone, e-mail or
# letter only). Plain "customer service" is not listed: its channel was not stated.
CONDITION_CHANNELS = frozenset({Channel.PC_ONLY, Channel.PHONE, Channel.EMAIL, Channel.OFFLINE})
MANUAL_LIMIT_WORKING_DAYS = 15


def _names(values: object) -> str:
    if not isinstance(values, (list, set, tuple)):
        return ""
    return ", ".join(str(v).replace("_", " ") for v in values)


def check_disclose(p: Profile) -> Assessment:
    """CN-ECL-24-disclose — ECL Art. 24¶1; NDSMR Art. 21(4): disclose how to cancel, query, correct
    and delete: entry path, steps, preconditions, timeline, retained data, matching the product."""
    d = p.disclosure
    if d is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    if d.way is False or d.procedure is False:
        return judged(
            V.FAIL,
            "The rules do not state the way or the procedure to cancel.",
            "规则未明示注销的方式或程序。",
            disclosure=d,
        )
    if d.matches_product is False:
        return judged(
            V.FAIL,
            "The stated cancellation path does not match the product.",
            "规则所述注销路径与产品实际不符。",
            disclosure=d,
        )
    items = {
        "preconditions": d.preconditions,
        "timeline": d.timeline,
        "retained data": d.retained_data,
    }
    missing = [k for k, v in items.items() if v is False]
    if missing:
        return judged(
            V.PARTIAL,
            f"Way and procedure are stated, but not: {', '.join(missing)}.",
            f"已说明方式和程序，但未说明：{'、'.join(missing)}。",
            disclosure=d,
        )
    if d.way and d.procedure and all(v is True for v in items.values()):
        if d.matches_product is True:
            return judged(
                V.PASS,
                "The rules state way, procedure, preconditions, timeline and retained data, "
                "and they match the product.",
                "规则说明了方式、程序、前提条件、时限和保留的数据，且与产品一致。",
                disclosure=d,
            )
        return judged(
            V.PARTIAL,
            "The rules state everything required, but were not compared with the product.",
            "规则说明完整，但未与产品实际核对。",
            disclosure=d,
        )
    return not_assessed(
        "Only part of the disclosure was observed, and none of it is lacking.",
        "仅观察到部分披露内容，未发现缺失。",
        disclosure=d,
    )


def check_conditions(p: Profile) -> Assessment:
    """CN-ECL-24-conditions — ECL Art. 24¶1; NDSMR Art. 23 [V]; 认定方法 §6 [S]; GB/T 35273
    §8.5 [S]: no unreasonable or unnecessary conditions on cancellation."""
    c, pre, ver = p.cancellation, p.preconditions, p.verification
    bad: list[str] = []
    if c is not None and c.channels and set(c.channels) <= CONDITION_CHANNELS:
        bad.append(f"only via {_names(c.channels)}")
    if pre is not None:
        bad += [i.kind.value for i in pre.items if i.kind in UNREASONABLE]
        bad += [
            f"{i.kind.value} without a self-service fix"
            for i in pre.items
            if i.kind in FIXABLE and i.self_service_fix is False
        ]
    if ver is not None:
        heavy = {"id_photo", "face", "id_number"} & set(ver.beyond_collected or ())
        if heavy:
            bad.append(f"documents or biometrics not collected before ({', '.join(sorted(heavy))})")
    if bad:
        return judged(
            V.FAIL,
            f"Unreasonable conditions: {'; '.join(bad)}.",
            f"设置了不合理条件：{'；'.join(bad)}。",
            cancellation=c,
            preconditions=pre,
            verification=ver,
        )
    if pre is None:
        return not_assessed(
            "Preconditions were not observed.", "未观察前提条件。", cancellation=c, verification=ver
        )
    undisclosed = [i.kind.value for i in pre.items if i.kind in FIXABLE and i.disclosed is False]
    if undisclosed:
        return judged(
            V.PARTIAL,
            f"Fixable conditions are not disclosed beforehand: {', '.join(undisclosed)}.",
            f"可自行解决的条件未事先披露：{'、'.join(undisclosed)}。",
            preconditions=pre,
        )
    unknown = [
        i.kind.value
        for i in pre.items
        if i.kind is PreconditionKind.OTHER or i.self_service_fix is None or i.disclosed is None
    ]
    if unknown:
        return not_assessed(
            f"Conditions found whose fix or disclosure was not observed: {', '.join(unknown)}.",
            f"发现条件，但未观察其解决途径或披露情况：{'、'.join(unknown)}。",
            preconditions=pre,
        )
    if not pre.items:
        return judged(
            V.PASS, "No precondition was found.", "未发现任何前提条件。", preconditions=pre
        )
    return judged(
        V.PASS,
        "Every condition is of an allowed kind, disclosed, with a self-service fix.",
        "所有条件均属允许类型，已披露且可自行解决。",
        preconditions=pre,
    )


def check_query_correct(p: Profile) -> Assessment:
    """CN-ECL-24-query-correct — ECL Art. 24¶2; PIPL Arts. 45–46: query and correct promptly
    after verifying identity (self-service, or a manual answer within ≤ 15 working days)."""
    r = p.rights
    if r is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    manual_ok = (
        None
        if r.manual_response_working_days is None
        else r.manual_response_working_days <= MANUAL_LIMIT_WORKING_DAYS
    )
    if manual_ok is False:
        return judged(
            V.FAIL,
            f"A manual request took {r.manual_response_working_days} working days (limit 15).",
            f"人工申请耗时{r.manual_response_working_days}个工作日（上限15个）。",
            rights=r,
        )
    if r.access_self_service is False and manual_ok is None and r.correction_self_service is False:
        return judged(
            V.FAIL,
            "Neither self-service access nor correction was found.",
            "未发现自助查询或更正功能。",
            rights=r,
        )
    if (
        r.access_self_service is True
        and r.correction_self_service is True
        and r.correction_visible_at_once is True
    ):
        return judged(
            V.PASS,
            "Self-service access and correction work; edits are visible at once.",
            "可自助查询和更正，更正即时生效。",
            rights=r,
        )
    if r.correction_visible_at_once is False:
        return judged(
            V.PARTIAL,
            "Corrections are not visible at once.",
            "更正未即时生效。",
            rights=r,
        )
    if manual_ok is True and False in (r.access_self_service, r.correction_self_service):
        return judged(
            V.PARTIAL,
            "Only a manual route, answered within 15 working days.",
            "仅有人工途径，在15个工作日内答复。",
            rights=r,
        )
    return not_assessed(
        "Access and correction were only partly observed.", "仅部分观察了查询和更正。", rights=r
    )


def check_delete(p: Profile) -> Assessment:
    """CN-ECL-24-delete — ECL Art. 24¶2; NDSMR Art. 24: delete or anonymize on cancellation,
    except what law requires to be kept (old login fails, same phone opens an empty account,
    each retained category listed with its basis)."""
    o = p.outcome
    if o is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    if o.result in (Result.PHONE_UNBOUND_ONLY, Result.FROZEN, Result.NOTHING):
        return judged(
            V.FAIL,
            f"Cancellation ended in '{o.result.value}', not deletion or anonymization.",
            f"注销结果为“{o.result.value}”，并未删除或匿名化。",
            outcome=o,
        )
    if o.old_login_fails is False or o.same_phone_empty_account is False:
        return judged(
            V.FAIL,
            "After completion the old account's data is still reachable.",
            "注销完成后仍可访问原账号数据。",
            outcome=o,
        )
    done = o.result in (Result.DELETED, Result.ANONYMIZED)
    if done and o.old_login_fails and o.same_phone_empty_account:
        if o.retained_listed_with_basis is True:
            return judged(
                V.PASS,
                "Data deleted; old login fails; the same phone registers an empty account; "
                "retained categories are listed with their legal basis.",
                "数据已删除；原登录失效；同一手机号注册为空账号；保留类别均列明法律依据。",
                outcome=o,
            )
        if o.retained_listed_with_basis is False:
            return judged(
                V.PARTIAL,
                "Data deleted, but retained categories are not listed with a legal basis.",
                "数据已删除，但保留类别未列明法律依据。",
                outcome=o,
            )
    return not_assessed(
        "The outcome was only partly observed.", "仅部分观察了注销结果。", outcome=o
    )


def check_retain(p: Profile) -> Assessment:
    """CN-ECL-31-retain — ECL Art. 31: a platform keeps goods/service and transaction records
    ≥ 3 years from completion of the transaction — and nothing more "because of Art. 31"."""
    r = p.retention
    if r is None:
        return not_assessed(NO_EVIDENCE_EN, NO_EVIDENCE_ZH)
    years = r.transaction_records_years
    if years is not None and years < 3:
        return judged(
            V.FAIL,
            f"Transaction records are kept {years:g} years (at least 3 required).",
            f"交易记录仅保存{years:g}年（应不少于3年）。",
            retention=r,
        )
    if r.non_transaction_under_art31 is True:
        return judged(
            V.FAIL,
            "Browsing, device or marketing data is kept citing Art. 31.",
            "以第三十一条为由保留了浏览、设备或营销数据。",
            retention=r,
        )
    if years is not None and r.non_transaction_under_art31 is False:
        return judged(
            V.PASS,
            f"Transaction records kept {years:g} years; nothing else is kept under Art. 31.",
            f"交易记录保存{years:g}年；未以第三十一条为由保留其他数据。",
            retention=r,
        )
    return not_assessed(
        "The retention schedule was only partly observed.", "仅部分观察了保存期限表。", retention=r
    )
