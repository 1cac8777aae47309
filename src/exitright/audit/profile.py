"""The audit profile: what one evaluation observed about one platform's cancellation practice.

A profile is a YAML file per platform per evaluation (``exitright audit schema`` publishes its JSON
Schema). It is organised in *findings* — ``cancellation``, ``verification``, ``timing`` … — and each
finding carries the evidence it rests on (URLs, screenshot paths, notes, quotes, third-party
labels).

The rule of this module: **anything not observed is absent**. Every observation is optional and
defaults to ``None``; no field defaults to a value that would make a rule pass. An empty list means
"looked, found none"; a missing list means "not observed". A finding without evidence is refused.

The vocabulary (enums) lives in :mod:`exitright.audit.vocabulary` and is re-exported here.
Pure core: standard library and Pydantic only, no I/O.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from exitright.audit.vocabulary import (
    ASSISTED_CHANNELS,
    PAGE_CHANNELS,
    VERIFICATION_NEEDS,
    Channel,
    DataKind,
    Identification,
    PreconditionKind,
    RecycledBehaviour,
    Regime,
    Result,
    VerificationKind,
)

SCHEMA_VERSION: Literal[1] = 1

Count = Annotated[int, Field(ge=0, le=10_000)]
Days = Annotated[int, Field(ge=0, le=100_000)]
ShortText = Annotated[str, Field(min_length=1, max_length=10_000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Evidence(_Strict):
    """One piece of evidence: a URL, a screenshot path, a note, a quote or a third-party label."""

    kind: Literal["url", "screenshot", "note", "quote", "label"]
    ref: ShortText | None = Field(None, description="URL, file path or dataset reference")
    text: ShortText | None = Field(None, description="the quote, note or label itself")
    source: ShortText | None = Field(None, description="who says so (article, dataset, tester)")
    third_party: bool = Field(
        False,
        description="a label from someone else's directory, weak evidence (e.g. JustDeleteMe)",
    )

    @model_validator(mode="after")
    def _has_content(self) -> Evidence:
        if self.ref is None and self.text is None:
            raise ValueError("evidence needs a ref or a text")
        return self


class Finding(_Strict):
    """Base of every finding: the observations it holds rest on at least one piece of evidence."""

    evidence: list[Evidence] = Field(min_length=1, max_length=1_000)

    @property
    def third_party_only(self) -> bool:
        """Whether every piece of evidence is a third-party label."""
        return all(e.third_party for e in self.evidence)


class Platform(_Strict):
    """Which platform was evaluated."""

    name: ShortText
    name_zh: ShortText | None = None
    url: ShortText | None = None
    identification: Identification | None = None
    identification_note: ShortText | None = None
    source_names: list[ShortText] | None = Field(
        None, description="the names the source used (e.g. a machine translation's garbling)"
    )


class Evaluation(_Strict):
    """Who evaluated, when, how, and against which regimes."""

    date: dt.date | None = None
    evaluator: ShortText | None = None
    method: Literal["desk", "probe", "inside", "third_party_label"] | None = None
    source: ShortText | None = None
    scope: list[Regime] = Field(
        default_factory=lambda: [Regime.CN],
        description="regimes measured against; rules of other regimes are not assessed",
    )
    labels: dict[ShortText, ShortText] | None = Field(
        None, description="third-party classifications kept for grouping (e.g. jdm.difficulty)"
    )


class Cancellation(Finding):
    """How the evaluator could (or could not) start and finish a cancellation."""

    available: bool | None = Field(None, description="the account can be cancelled by some channel")
    channels: list[Channel] | None = Field(
        None, description="every channel found; a channel not listed was looked for and not found"
    )
    page: bool | None = Field(None, description="a self-service page (in the app or on the web)")
    in_app_page: bool | None = Field(
        None, description="a self-service page inside the app (false: looked there, none found)"
    )
    label: ShortText | None = Field(None, description="the entry's label, e.g. 注销账号")
    help_only: bool | None = Field(None, description="the entry exists only inside help articles")
    taps: Count | None = Field(None, description="taps from the main screen up to the entry")
    steps: Count | None = Field(
        None, description="steps from the main screen to a submitted request"
    )
    same_client: bool | None = Field(None, description="started and finished in the same client")
    web_logged_out: bool | None = Field(
        None, description="a web page accepts the request without the app and logged out"
    )
    asks_payment: bool | None = Field(
        None, description="some step asks for a payment, transfer, loan or payment code"
    )
    official_channels_stated: bool | None = None
    consequences_disclosed: bool | None = Field(
        None, description="the confirmation lists what is lost and what is kept, with periods"
    )
    any_hour: bool | None = Field(None, description="the request can be made at any hour")
    acknowledged_with_reference: bool | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Cancellation:
        if self.page is False and self.channels and PAGE_CHANNELS & set(self.channels):
            raise ValueError("page is false but a page channel is listed")
        if self.available is False and (self.page or self.channels):
            raise ValueError("available is false but a channel or page is listed")
        if self.in_app_page is False and self.channels and Channel.IN_APP_PAGE in self.channels:
            raise ValueError("in_app_page is false but the in_app_page channel is listed")
        if self.in_app_page and self.page is False:
            raise ValueError("in_app_page is true but page is false")
        return self

    @property
    def has_page(self) -> bool | None:
        """A self-service page exists (in app, on the web or PC-only): True, False or unknown."""
        if self.in_app_page or (self.channels is not None and PAGE_CHANNELS & set(self.channels)):
            return True
        if self.page is not None:
            return self.page
        if self.available is False:
            return False
        return None

    @property
    def in_app(self) -> bool | None:
        """Self-service cancellation inside the app: True, False or unknown."""
        if self.in_app_page or (self.channels and Channel.IN_APP_PAGE in self.channels):
            return True
        if self.in_app_page is False or self.has_page is False:
            return False
        return None

    @property
    def cancellable(self) -> bool | None:
        """The account can be cancelled at all: True, False or unknown."""
        if self.available is not None:
            return self.available
        if self.has_page or self.channels:
            return True
        return None


class Verification(Finding):
    """What was asked to verify the cancellation, against what registration and use collected."""

    asked: list[VerificationKind] | None = None
    registration_collected: list[DataKind] | None = None
    in_use_collected: list[DataKind] | None = None

    @property
    def beyond_collected(self) -> list[str] | None:
        """Data the verification needs that registration and use did not collect (sorted).

        None when either side was not observed. Data collected "in use" counts only when observed.
        """
        if self.asked is None or self.registration_collected is None:
            return None
        collected = set(self.registration_collected) | set(self.in_use_collected or ())
        needed = {need for kind in self.asked for need in VERIFICATION_NEEDS[kind]}
        return sorted(need.value for need in needed - collected)


class Precondition(_Strict):
    """One condition put in front of cancellation."""

    kind: PreconditionKind
    text: ShortText | None = None
    self_service_fix: bool | None = None
    disclosed: bool | None = None


class Preconditions(Finding):
    """Every precondition found (an empty list: looked, found none)."""

    items: list[Precondition] = Field(max_length=1_000)


class CoolingOff(Finding):
    """A waiting period between the request and its execution."""

    working_days: Days | None = None
    revocable_in_product: bool | None = None
    new_conditions: bool | None = Field(None, description="new conditions added during it")


class Timing(Finding):
    """Promised and observed completion times."""

    manual: bool | None = Field(None, description="a human handles the request")
    promise_stated: bool | None = None
    promised_working_days: Days | None = None
    submitted_on: dt.date | None = None
    completed_on: dt.date | None = None
    observed_working_days: Days | None = None
    working_days_provisional: bool | None = Field(
        None, description="counted without an official holiday calendar for some year"
    )
    observed_calendar_days: Days | None = None
    confirmation_business_days: Days | None = Field(None, description="receipt confirmed after")
    extension_notice_with_reasons: bool | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Timing:
        if self.submitted_on and self.completed_on and self.completed_on < self.submitted_on:
            raise ValueError("completed_on is before submitted_on")
        return self

    @property
    def calendar_days(self) -> int | None:
        """Observed calendar days, from the field or from the two dates."""
        if self.observed_calendar_days is not None:
            return self.observed_calendar_days
        if self.submitted_on and self.completed_on:
            return (self.completed_on - self.submitted_on).days
        return None


class Outcome(Finding):
    """What the cancellation did."""

    result: Result | None = None
    old_login_fails: bool | None = None
    same_phone_empty_account: bool | None = None
    retained_listed_with_basis: bool | None = None
    third_party_login_reaches_old: bool | None = None
    access_after_returns_only_retained: bool | None = None
    basis_named: bool | None = None


class Disclosure(Finding):
    """What the platform's rules disclose about cancellation."""

    way: bool | None = None
    procedure: bool | None = None
    preconditions: bool | None = None
    timeline: bool | None = None
    retained_data: bool | None = None
    matches_product: bool | None = Field(None, description="the stated path matches the product")


class Retention(Finding):
    """What is kept after cancellation and how."""

    transaction_records_years: Annotated[float, Field(ge=0, le=1_000)] | None = None
    non_transaction_under_art31: bool | None = Field(
        None, description="browsing, device IDs or marketing profiles kept citing ECL Art. 31"
    )
    segregated: bool | None = None
    encrypted: bool | None = None
    access_logged: bool | None = None
    excluded_from_processing: bool | None = None
    purged_at_expiry: bool | None = None


class Rights(Finding):
    """Access, correction and item deletion."""

    access_self_service: bool | None = None
    correction_self_service: bool | None = None
    correction_visible_at_once: bool | None = None
    correction_succeeds: bool | None = None
    item_deletion: bool | None = None
    manual_response_working_days: Days | None = None
    response_days: Days | None = Field(None, description="calendar days to answer a request")
    charged: bool | None = None
    export_unlisted_fields: bool | None = Field(
        None, description="the export holds a field the rules do not list"
    )


class Consent(Finding):
    """Withdrawing consent."""

    per_consent_switch: bool | None = None
    grant_steps: Count | None = None
    withdraw_steps: Count | None = None
    basic_function_after_withdrawal: bool | None = None


class Refusals(Finding):
    """How blocks and refusals are explained."""

    reason_specific: bool | None = None
    what_to_do: bool | None = None
    route_to_court: bool | None = None
    generic_error: bool | None = None
    names_authority: bool | None = None


class ThirdParties(Finding):
    """Deletion by third parties (merchants, couriers, payment providers)."""

    told_to_delete: bool | None = None
    flows_after: bool | None = Field(None, description="data tied to the old account still flows")
    recipient_list_available: bool | None = None
    notices_logged_with_ack: bool | None = None
    impossible_explained: bool | None = None


class RecycledNumber(Finding):
    """Behaviour of the old phone number once the carrier reassigns it."""

    behaviour: RecycledBehaviour | None = None


class ContactAfter(Finding):
    """Marketing to former identifiers after cancellation."""

    marketing_after_30_days: bool | None = None
    marketing_after_90_days: bool | None = None


class Profile(_Strict):
    """One platform, one evaluation. Unobserved findings are absent; rules then say not assessed."""

    schema_version: Literal[1] = SCHEMA_VERSION
    platform: Platform
    sector: ShortText | None = None
    evaluation: Evaluation = Field(default_factory=Evaluation)
    cancellation: Cancellation | None = None
    verification: Verification | None = None
    preconditions: Preconditions | None = None
    cooling_off: CoolingOff | None = None
    timing: Timing | None = None
    outcome: Outcome | None = None
    disclosure: Disclosure | None = None
    retention: Retention | None = None
    rights: Rights | None = None
    consent: Consent | None = None
    refusals: Refusals | None = None
    third_parties: ThirdParties | None = None
    recycled_number: RecycledNumber | None = None
    contact_after: ContactAfter | None = None
    notes: list[Evidence] | None = Field(None, description="context no rule reads")

    def finding(self, name: str) -> Finding | None:
        """The finding called ``name`` (e.g. ``"timing"``), or None when not observed."""
        value = getattr(self, name, None)
        return value if isinstance(value, Finding) else None


FINDINGS: tuple[str, ...] = tuple(
    name
    for name in Profile.model_fields
    if name not in {"schema_version", "platform", "sector", "evaluation", "notes"}
)


def json_schema() -> dict[str, object]:
    """The published JSON Schema of a profile."""
    schema = Profile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://exitright.dev/schemas/audit-profile-v1.json"
    return schema


__all__ = [
    "ASSISTED_CHANNELS",
    "FINDINGS",
    "PAGE_CHANNELS",
    "SCHEMA_VERSION",
    "VERIFICATION_NEEDS",
    "Cancellation",
    "Channel",
    "Consent",
    "ContactAfter",
    "CoolingOff",
    "DataKind",
    "Disclosure",
    "Evaluation",
    "Evidence",
    "Finding",
    "Identification",
    "Outcome",
    "Platform",
    "Precondition",
    "PreconditionKind",
    "Preconditions",
    "Profile",
    "RecycledBehaviour",
    "RecycledNumber",
    "Refusals",
    "Regime",
    "Result",
    "Retention",
    "Rights",
    "ThirdParties",
    "Timing",
    "Verification",
    "VerificationKind",
    "json_schema",
]
