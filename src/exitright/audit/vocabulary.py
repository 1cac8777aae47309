"""The vocabulary of audit profiles: regimes, channels, kinds of verification and data,
preconditions, outcomes. Pure: standard library only.
"""

from __future__ import annotations

from enum import StrEnum


class Regime(StrEnum):
    """A body of rules an evaluation measures against; rules of other regimes are not assessed."""

    CN = "cn"
    GDPR = "gdpr"
    CCPA = "ccpa"
    APPLE = "apple"
    GOOGLE_PLAY = "google_play"


class Channel(StrEnum):
    """A way to ask for cancellation."""

    IN_APP_PAGE = "in_app_page"
    WEB_PAGE = "web_page"
    PC_ONLY = "pc_only"  # a self-service page, but only on the desktop website or client
    CUSTOMER_SERVICE = "customer_service"  # customer service, channel not stated
    CUSTOMER_SERVICE_CHAT = "customer_service_chat"
    PHONE = "phone"
    EMAIL = "email"
    OFFLINE = "offline"  # letter, counter, in person


PAGE_CHANNELS = frozenset({Channel.IN_APP_PAGE, Channel.WEB_PAGE, Channel.PC_ONLY})
ASSISTED_CHANNELS = frozenset(
    {
        Channel.CUSTOMER_SERVICE,
        Channel.CUSTOMER_SERVICE_CHAT,
        Channel.PHONE,
        Channel.EMAIL,
        Channel.OFFLINE,
    }
)


class VerificationKind(StrEnum):
    """What a platform asks for before it cancels."""

    SMS_CODE = "sms_code"
    EMAIL_CODE = "email_code"
    PASSWORD = "password"  # noqa: S105 -- names a kind of data, not a secret
    PAYMENT_PASSWORD = "payment_password"  # noqa: S105 -- names a kind of data
    REAL_NAME = "real_name"
    ID_NUMBER = "id_number"
    ID_PHOTO = "id_photo"
    HANDHELD_ID_PHOTO = "handheld_id_photo"
    FACE_SCAN = "face_scan"
    BANK_CARD = "bank_card"
    ORDER_HISTORY = "order_history"
    SECURITY_QUESTIONS = "security_questions"


class DataKind(StrEnum):
    """What a platform collected at registration or in use."""

    PHONE = "phone"
    EMAIL = "email"
    PASSWORD = "password"  # noqa: S105 -- names a kind of data, not a secret
    PAYMENT_PASSWORD = "payment_password"  # noqa: S105 -- names a kind of data
    REAL_NAME = "real_name"
    ID_NUMBER = "id_number"
    ID_PHOTO = "id_photo"
    FACE = "face"
    BANK_CARD = "bank_card"
    ORDER_HISTORY = "order_history"
    SECURITY_QUESTIONS = "security_questions"
    ADDRESS = "address"


# What each kind of verification needs the platform to hold already.
VERIFICATION_NEEDS: dict[VerificationKind, frozenset[DataKind]] = {
    VerificationKind.SMS_CODE: frozenset({DataKind.PHONE}),
    VerificationKind.EMAIL_CODE: frozenset({DataKind.EMAIL}),
    VerificationKind.PASSWORD: frozenset({DataKind.PASSWORD}),
    VerificationKind.PAYMENT_PASSWORD: frozenset({DataKind.PAYMENT_PASSWORD}),
    VerificationKind.REAL_NAME: frozenset({DataKind.REAL_NAME}),
    VerificationKind.ID_NUMBER: frozenset({DataKind.ID_NUMBER}),
    VerificationKind.ID_PHOTO: frozenset({DataKind.ID_PHOTO}),
    VerificationKind.HANDHELD_ID_PHOTO: frozenset({DataKind.ID_PHOTO, DataKind.FACE}),
    VerificationKind.FACE_SCAN: frozenset({DataKind.FACE}),
    VerificationKind.BANK_CARD: frozenset({DataKind.BANK_CARD}),
    VerificationKind.ORDER_HISTORY: frozenset({DataKind.ORDER_HISTORY}),
    VerificationKind.SECURITY_QUESTIONS: frozenset({DataKind.SECURITY_QUESTIONS}),
}


class PreconditionKind(StrEnum):
    """A condition put in front of cancellation (see the rule CN-ECL-24-conditions)."""

    # Allowed only with a self-service fix and disclosure.
    OPEN_ORDERS = "open_orders"
    DISPUTE = "dispute"
    POSITIVE_BALANCE = "positive_balance"
    OUTSTANDING_DEBT = "outstanding_debt"
    SECURITY_LOCK = "security_lock"
    # Unreasonable or unnecessary.
    ACCOUNT_AGE = "account_age"
    ACTIVITY = "activity"
    COMPLETE_PROFILE = "complete_profile"
    FEE = "fee"
    TRANSFER = "transfer"
    DOCUMENTS = "documents"
    BIOMETRICS = "biometrics"
    EXACT_HISTORY = "exact_history"
    MULTI_PRODUCT = "multi_product"
    RESIDENCY_OR_PROOF = "residency_or_proof"
    # Needs a human to classify.
    OTHER = "other"


class Result(StrEnum):
    """What cancellation actually did."""

    DELETED = "deleted"
    ANONYMIZED = "anonymized"
    PHONE_UNBOUND_ONLY = "phone_unbound_only"
    FROZEN = "frozen"
    NOTHING = "nothing"


class RecycledBehaviour(StrEnum):
    """What a code sent to a reassigned phone number opens."""

    FRESH_ACCOUNT = "fresh_account"
    OLD_ACCOUNT = "old_account"
    OLD_ORDERS_VISIBLE = "old_orders_visible"


class Identification(StrEnum):
    """How sure the evaluator is about which real platform the profile describes."""

    CERTAIN = "certain"
    PROBABLE = "probable"
    UNCERTAIN = "uncertain"
    UNIDENTIFIED = "unidentified"
