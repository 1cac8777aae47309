"""The rubric as code: every rule of shared/law/RUBRIC.md in one visible registry.

Each row: id, source and article, tag (V primary / S secondary / V/S / D derived), severity,
check mode, the requirement and what is checked in en and zh-CN, and the check function (its
docstring carries the citation). :func:`assess` applies a rule to a profile; a rule of a regime
the evaluation did not declare is *not assessed*, like a rule with no evidence.

Pure core: standard library and the profile model only — no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from exitright.audit import rules_ecl as ecl
from exitright.audit import rules_intl as intl
from exitright.audit import rules_pipl as pipl
from exitright.audit import rules_std as std
from exitright.audit.profile import Profile, Regime
from exitright.audit.verdict import Assessment, Rule, Severity, Tag, Text, not_assessed

M, S, MS = Severity.MUST, Severity.SHOULD, Severity.MUST_STORE
CN = Regime.CN

# The registry reads as a table, one rule per block; the formatter would spread every field out.
# fmt: off
RULES: tuple[Rule, ...] = (
    Rule(
        "CN-ECL-24-disclose", "ECL Art. 24¶1; NDSMR Art. 21(4)", Tag.PRIMARY, M, "desk+probe", CN,
        Text("Disclose how to cancel, query, correct and delete",
             "明示注销及查询、更正、删除的方式和程序"),
        Text("The rules state entry path, steps, preconditions, timeline and what is retained; "
             "the stated path matches the product",
             "规则写明入口路径、步骤、前提条件、时限和保留内容，且与产品实际一致"),
        ecl.check_disclose,
    ),
    Rule(
        "CN-ECL-24-conditions",
        "ECL Art. 24¶1; NDSMR Art. 23 [V]; 认定方法 §6 [S]; GB/T 35273 §8.5 [S]",
        Tag.PRIMARY, M, "desk+probe", CN,
        Text("No unreasonable or unnecessary conditions", "不得设置不合理或不必要的条件"),
        Text("No documents or biometrics not collected before, account age, 'complete your "
             "profile', fees, PC-only, phone/e-mail/letter only, several products at once; open "
             "orders, balance or a security lock only with a disclosed self-service fix",
             "不得要求未收集过的证件或生物特征、账号年限、完善资料、付费、仅限电脑端、仅限电话/邮件/"
             "信件、一并注销多个产品；未完结订单、余额、安全锁定须可自助解决并事先披露"),
        ecl.check_conditions,
    ),
    Rule(
        "CN-ECL-24-query-correct", "ECL Art. 24¶2; PIPL Arts. 45–46", Tag.PRIMARY, M, "probe", CN,
        Text("Query and correct promptly after verifying identity", "核实身份后及时提供查询、更正"),
        Text("Self-service view/export and edit, visible at once; manual answers ≤ 15 working "
             "days", "可自助查看/导出和编辑并即时生效；人工答复不超过15个工作日"),
        ecl.check_query_correct,
    ),
    Rule(
        "CN-ECL-24-delete", "ECL Art. 24¶2; NDSMR Art. 24", Tag.PRIMARY, M, "probe+inside", CN,
        Text("Delete or anonymize on cancellation except legal retention",
             "注销后立即删除或匿名化，依法保存的除外"),
        Text("The old login fails; the same phone registers an empty account; retained "
             "categories are listed with basis and period",
             "原登录失效；同一手机号注册为空账号；保留类别列明依据和期限"),
        ecl.check_delete,
    ),
    Rule(
        "CN-ECL-31-retain", "ECL Art. 31", Tag.PRIMARY, M, "desk+inside", CN,
        Text("Keep transaction records ≥ 3 years — and nothing more because of Art. 31",
             "交易记录保存不少于三年，且不以第三十一条为由保存其他数据"),
        Text("Retention covers goods/service and transaction records; browsing, device IDs and "
             "marketing profiles are not retained under it",
             "保存范围为商品、服务和交易信息；浏览记录、设备标识、营销画像不在其列"),
        ecl.check_retain,
    ),
    Rule(
        "CN-PIPL-47-storage-only", "PIPL Art. 47¶2; NDSMR Art. 24", Tag.PRIMARY, M, "inside", CN,
        Text("Retained data: storage and security only", "保留的数据仅作存储和安全保护"),
        Text("Segregated, encrypted, access-logged; no marketing, recommendation, scoring or "
             "sharing; purged at expiry",
             "隔离、加密、访问留痕；不用于营销、推荐、信用评分或共享；到期清除"),
        pipl.check_storage_only,
    ),
    Rule(
        "CN-PIPL-47-stop-use", "PIPL Art. 47¶1 [V]; MIIT Order 24 Art. 9¶4 [S]", Tag.MIXED, M,
        "probe", CN,
        Text("Stop using the identifiers after cancellation", "注销后停止使用原标识"),
        Text("No marketing SMS/e-mail/push to former identifiers 30 and 90 days after completion",
             "完成后30天和90天均无营销短信、邮件或推送"),
        pipl.check_stop_use,
    ),
    Rule(
        "CN-PIPL-15-withdraw", "PIPL Arts. 15–16", Tag.PRIMARY, M, "probe", CN,
        Text("Withdrawing consent is convenient and not punished", "便捷撤回同意且不因此受罚"),
        Text("A switch per consent; withdrawing takes no more steps than granting; basic "
             "function still works", "逐项开关；撤回步骤不多于授予；基本功能仍可用"),
        pipl.check_withdraw,
    ),
    Rule(
        "CN-PIPL-50-intake", "PIPL Art. 50¶1", Tag.PRIMARY, M, "probe", CN,
        Text("Convenient intake of requests", "便捷的申请受理机制"),
        Text("A request can be made in the product at any hour and is acknowledged with a "
             "reference", "可随时在产品内提出申请，并获得带编号的回执"),
        pipl.check_intake,
    ),
    Rule(
        "CN-PIPL-50-reasons", "PIPL Art. 50", Tag.PRIMARY, M, "probe", CN,
        Text("Refusals give reasons and the route to court", "拒绝须说明理由，可依法起诉"),
        Text("Every block or refusal shows a specific reason and what to do; a generic error "
             "fails", "每次阻断或拒绝都给出具体理由和解决办法；笼统报错不合格"),
        pipl.check_reasons,
    ),
    Rule(
        "CN-CSL-43-delete-correct", "CSL Art. 43 (2016) / Art. 45 (2026)", Tag.PRIMARY, M,
        "probe", CN,
        Text("Delete unlawfully collected data; correct errors", "删除违法收集的信息，更正错误"),
        Text("The export holds no field the rules do not list; a correction succeeds",
             "导出数据不含规则未列明的字段；更正成功"),
        pipl.check_delete_correct,
    ),
    Rule(
        "CN-CSL-42-no-onward", "CSL Art. 42 (2016) / Art. 44 (2026)", Tag.PRIMARY, M,
        "probe+inside", CN,
        Text("No onward provision; secure retained data", "不得向他人提供；确保保留数据安全"),
        Text("Third parties are told to delete; nothing flows to them tied to the old account",
             "通知第三方删除；此后无与原账号关联的数据流向第三方"),
        pipl.check_no_onward,
    ),
    Rule(
        "CN-RD-6-effective", "认定方法 §6", Tag.SECONDARY, M, "probe", CN,
        Text("Cancellation must be effective", "注销功能必须有效"),
        Text("'Cancel' that only unbinds the phone or freezes the account fails; third-party "
             "logins no longer reach the old account",
             "仅解绑手机号或冻结账号不合格；第三方登录不得再进入原账号"),
        std.check_effective,
    ),
    Rule(
        "CN-RD-6-deadline", "认定方法 §6; GB/T 35273 §8.5", Tag.SECONDARY, M, "probe", CN,
        Text("Manual handling within the promise, ≤ 15 working days",
             "人工处理在承诺时限内完成，且不超过15个工作日"),
        Text("Submission → completion in PRC working days; no promise → 15 applies",
             "自提交至完成按工作日计算；未承诺的按15个工作日"),
        std.check_deadline,
    ),
    Rule(
        "CN-35273-8.5-simple", "GB/T 35273-2020 §8.5, §8.7", Tag.SECONDARY, M, "probe", CN,
        Text("A simple method, in the product", "在产品内提供简便的注销方法"),
        Text("Start and finish in the same client; not PC-only, hotline-only or e-mail-only",
             "在同一客户端发起并完成；不得仅限电脑端、客服电话或邮件"),
        std.check_simple,
    ),
    Rule(
        "CN-35273-8.5-verify", "GB/T 35273 §8.5; 必要个人信息范围规定", Tag.SECONDARY, M,
        "desk+probe", CN,
        Text("Verification asks nothing beyond what was collected",
             "身份验证不得超出注册和使用中收集的信息"),
        Text("{asked at cancellation} − {collected at registration and in use} is empty",
             "注销时要求的信息 − 注册及使用中收集的信息 = 空集"),
        std.check_verify,
    ),
    Rule(
        "CN-35273-8.5-consequences", "GB/T 35273 §8.5", Tag.SECONDARY, S, "probe", CN,
        Text("Consequences disclosed before confirming", "确认前告知注销后果"),
        Text("The confirmation lists what is lost and what is kept, with periods",
             "确认页列明将失去和将保留的内容及期限"),
        std.check_consequences,
    ),
    Rule(
        "CN-35273-8.7-30days", "GB/T 35273 §8.7", Tag.SECONDARY, S, "probe", CN,
        Text("Answer rights requests within 30 days, free", "30天内免费答复权利请求"),
        Text("Access/deletion response ≤ 30 days; no charge", "查询/删除答复不超过30天；不收费"),
        std.check_30days,
    ),
    Rule(
        "CN-UX-entry-taps", "认定方法 §1.3 by analogy", Tag.DERIVED, S, "probe", CN,
        Text("The entry is easy to find", "注销入口易于找到"),
        Text("Taps from the main screen: ≤ 4 full, 5–6 partial, ≥ 7 or absent fail; labelled "
             "注销 / delete; not only in help articles",
             "从主界面点击次数：≤4合格，5–6部分合格，≥7或无入口不合格；名称为“注销”；"
             "不只在帮助文章中"),
        std.check_entry_taps,
    ),
    Rule(
        "CN-UX-cooling-off", "ECL Art. 24 'immediately' + the 15-day rule", Tag.DERIVED, S,
        "probe", CN,
        Text("Cooling-off must not defeat the deadline", "冷静期不得架空处理时限"),
        Text("Cooling-off + processing ≤ 15 working days; revocable in the product; no new "
             "conditions during it",
             "冷静期加处理不超过15个工作日；可在产品内撤销；期间不得增设条件"),
        std.check_cooling_off,
    ),
    Rule(
        "CN-UX-no-payment", "Seed study 2019 (fraud by fake customer service)", Tag.DERIVED, M,
        "desk+probe", CN,
        Text("Cancellation never involves paying, transferring or borrowing",
             "注销绝不涉及付款、转账或借贷"),
        Text("No step asks for a payment, transfer, loan or payment code; official channels are "
             "stated", "任何步骤都不要求付款、转账、借贷或付款码；公布官方渠道"),
        std.check_no_payment,
    ),
    Rule(
        "CN-ID-recycled", "Seed study 2019 (recycled numbers expose old orders)", Tag.DERIVED, M,
        "probe+inside", CN,
        Text("A recycled phone number does not open the old account", "二次放号不得进入原账号"),
        Text("After reassignment, a code sent to the number reaches a fresh account",
             "号码重新分配后，验证码只能进入全新账号"),
        std.check_recycled,
    ),
    # RUBRIC.md gives the rules below no tag; EXCERPTS.md lists only secondary sources for them.
    Rule(
        "GDPR-12-deadline", "GDPR Art. 12(3)–(4)", Tag.SECONDARY, M, "probe", Regime.GDPR,
        Text("One month, +2 with reasons", "一个月内答复，说明理由可延长两个月"),
        Text("Request → outcome ≤ one calendar month, or a timely extension with reasons; "
             "refusals name the authority and courts",
             "申请至结果不超过一个月，或及时告知延期理由；拒绝须告知监管机构和法院"),
        intl.check_gdpr_deadline,
    ),
    Rule(
        "GDPR-17-erase", "GDPR Art. 17", Tag.SECONDARY, M, "probe+inside", Regime.GDPR,
        Text("Erase without undue delay", "无不当延迟地删除"),
        Text("After deletion, access returns only data kept under 17(3)(b)/(e), basis named",
             "删除后查询仅返回依第17(3)(b)/(e)条保留的数据并说明依据"),
        intl.check_gdpr_erase,
    ),
    Rule(
        "GDPR-19-recipients", "GDPR Art. 19", Tag.SECONDARY, M, "desk+inside", Regime.GDPR,
        Text("Tell every recipient; list them on request", "通知每个接收方；应请求提供清单"),
        Text("Recipient list available; notices logged with acknowledgements",
             "提供接收方清单；通知及回执有记录"),
        intl.check_gdpr_recipients,
    ),
    Rule(
        "US-CCPA-7021", "CCPA regulations §7021", Tag.SECONDARY, M, "probe", Regime.CCPA,
        Text("Confirm ≤ 10 business days; respond ≤ 45 (+45) days",
             "10个工作日内确认；45天（可延45天）内答复"),
        Text("Timestamps of confirmation and response", "确认和答复的时间戳"),
        intl.check_ccpa_timing,
    ),
    Rule(
        "US-CCPA-7022", "Cal. Civ. Code §1798.105; CCPA regulations §7022", Tag.SECONDARY, M,
        "desk+inside", Regime.CCPA,
        Text("Delete or deidentify; notify downstream", "删除或去标识化；通知下游"),
        Text("Downstream notices sent; 'impossible' comes with an explanation",
             "已通知下游；无法做到时给出解释"),
        intl.check_ccpa_delete,
    ),
    Rule(
        "STORE-APPLE-5.1.1v", "Apple App Review Guideline 5.1.1(v)", Tag.SECONDARY, MS, "probe",
        Regime.APPLE,
        Text("Deletion starts in the app; not deactivation", "在App内发起删除；停用不等于删除"),
        Text("In-app entry; the account is removed, not disabled", "App内入口；账号被删除而非停用"),
        intl.check_apple,
    ),
    Rule(
        "STORE-GPLAY-web", "Google Play account deletion policy", Tag.SECONDARY, MS, "desk+probe",
        Regime.GOOGLE_PLAY,
        Text("In-app path plus a web page that works logged out", "App内途径加免登录网页"),
        Text("The web page accepts a request without the app", "无需App即可通过网页提出申请"),
        intl.check_google_play,
    ),
)
# fmt: on

BY_ID: Mapping[str, Rule] = MappingProxyType({r.id: r for r in RULES})


def assess(rule: Rule, profile: Profile) -> Assessment:
    """Apply ``rule`` to ``profile``; rules of undeclared regimes are not assessed."""
    if rule.regime not in profile.evaluation.scope:
        return not_assessed(
            f"Out of scope: the evaluation does not measure against '{rule.regime.value}'.",
            f"不在评估范围内：本次评估未适用“{rule.regime.value}”。",
        )
    return rule.check(profile)
