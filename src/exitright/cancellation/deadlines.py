"""Deadlines by regime: when a request must be answered, and whether it is overdue.

``cn``
    15 working days (认定方法 §6; a deployment may promise fewer), counted with the official PRC
    calendar including make-up working days. The day of submission is never counted: counting
    starts with the first working day after it (Civil Code Art. 201: the day a period begins is
    not counted). So a request submitted at 23:00 on a Friday, on a Sunday or during Spring
    Festival is counted from the next working day — the same rule at every hour, with no office
    hours to configure, and the one a Chinese court applies to periods. Days are China Standard
    Time; the period ends at 24:00 of the last day (Civil Code Art. 203¶2). No extension exists.
``gdpr``
    One month (Art. 12(3)): the period ends at the end of the day in the next month with the same
    number as the day of receipt, or the month's last day if it has none (Jan 31 → Feb 28/29;
    Regulation 1182/71 Art. 3(2)(c)). We do not move an end on a weekend to the next working day
    (which 1182/71 would allow): without each member state's holidays, the earlier date is the one
    that is always lawful. Extension by up to two further months, only with a reason recorded
    within the first month (Art. 12(3)).
``ccpa``
    45 calendar days from receipt (regs §7021(b)); counted from the day after receipt (Cal. Civ.
    Code §10). Receipt confirmed within 10 business days (§7021(a); business days per §7001 are
    Monday to Friday except federal holidays). One extension of up to 45 days with notice and
    reasons given within the first 45 days.

All instants are aware UTC datetimes; calendar days are counted in the policy's time zone.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from enum import StrEnum
from typing import Any, Final, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from exitright.cancellation.errors import ConfigurationError, ExtensionNotAllowedError
from exitright.cancellation.workdays import (
    ChinaWorkdays,
    UsBusinessDays,
    WorkdayCalendar,
    YearArrangement,
    add_working_days,
)
from exitright.clock import as_utc

__all__ = [
    "CHINA_STANDARD_TIME",
    "CN_MAX_WORKING_DAYS",
    "Deadline",
    "DeadlinePolicy",
    "Extension",
    "Regime",
    "add_months",
    "compute_deadline",
    "deadline_policy",
    "extend_deadline",
    "is_overdue",
    "is_receipt_confirmation_overdue",
    "latest_processing_start",
    "refresh_deadline",
]


class Regime(StrEnum):
    """The legal regime whose deadline rules a deployment follows."""

    CN = "cn"
    GDPR = "gdpr"
    CCPA = "ccpa"


# China has had one time zone without daylight saving since 1991; a fixed offset needs no tzdata.
CHINA_STANDARD_TIME: Final = timezone(timedelta(hours=8), "CST")
CN_MAX_WORKING_DAYS: Final = 15
GDPR_MAX_EXTENSION_MONTHS: Final = 2
CCPA_RESPONSE_DAYS: Final = 45
CCPA_MAX_EXTENSION_DAYS: Final = 45
CCPA_CONFIRM_BUSINESS_DAYS: Final = 10


@dataclass(frozen=True)
class DeadlinePolicy:
    """A deployment's deadline rules: regime, promise, time zone and the calendar to count with."""

    regime: Regime
    calendar: WorkdayCalendar
    timezone: tzinfo
    working_days: int = CN_MAX_WORKING_DAYS

    def __post_init__(self) -> None:
        if self.regime is Regime.CN and not 1 <= self.working_days <= CN_MAX_WORKING_DAYS:
            raise ConfigurationError(
                f"the cn deadline must be 1 to {CN_MAX_WORKING_DAYS} working days, "
                f"not {self.working_days} (认定方法 §6 caps the promise at 15)",
                setting="promised_working_days",
                value=self.working_days,
            )


def deadline_policy(
    regime: str,
    *,
    arrangements: tuple[YearArrangement, ...] = (),
    promised_working_days: int | None = None,
    timezone_name: str | None = None,
) -> DeadlinePolicy:
    """Build the policy from deployment settings; raise :class:`ConfigurationError` if invalid.

    ``arrangements`` are the holiday files loaded at start-up (cn only). ``timezone_name`` is an
    IANA zone for counting calendar days; defaults: China Standard Time for cn, UTC otherwise
    (UTC days end no later than any US zone's, so the default errs early for ccpa).
    """
    try:
        reg = Regime(regime)
    except ValueError:
        raise ConfigurationError(
            f"unknown regime {regime!r}: use one of cn, gdpr, ccpa", setting="regime", value=regime
        ) from None
    zone: tzinfo = CHINA_STANDARD_TIME if reg is Regime.CN else UTC
    if timezone_name:
        try:
            zone = ZoneInfo(timezone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(
                f"unknown time zone {timezone_name!r}: use an IANA name such as Europe/Berlin",
                setting="timezone",
                value=timezone_name,
            ) from None
    if promised_working_days is not None and reg is not Regime.CN:
        raise ConfigurationError(
            "promised_working_days applies to the cn regime only",
            setting="promised_working_days",
            value=promised_working_days,
        )
    calendar: WorkdayCalendar = (
        ChinaWorkdays(arrangements) if reg is Regime.CN else UsBusinessDays()
    )
    return DeadlinePolicy(
        regime=reg,
        calendar=calendar,
        timezone=zone,
        working_days=promised_working_days or CN_MAX_WORKING_DAYS,
    )


@dataclass(frozen=True)
class Extension:
    """A recorded extension: the new end, the reason given, and when it was recorded."""

    until: datetime
    last_day: date
    amount: int  # months (gdpr) or days (ccpa)
    reason: str
    recorded_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "until": self.until.isoformat(),
            "last_day": self.last_day.isoformat(),
            "amount": self.amount,
            "reason": self.reason,
            "recorded_at": self.recorded_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Extension:
        """The inverse of :meth:`to_dict`."""
        return cls(
            until=datetime.fromisoformat(data["until"]),
            last_day=date.fromisoformat(data["last_day"]),
            amount=int(data["amount"]),
            reason=str(data["reason"]),
            recorded_at=datetime.fromisoformat(data["recorded_at"]),
        )


@dataclass(frozen=True)
class Deadline:
    """When a request must be answered.

    ``due_at`` is the first instant after the period (24:00 of ``last_day`` in the policy's zone),
    in UTC; ``provisional`` says some day was counted without official calendar data, in which
    case the date is early, never late. Extensions are kept separately so the original period —
    within which an extension must be recorded — stays visible.
    """

    regime: Regime
    received_at: datetime
    last_day: date
    due_at: datetime
    provisional: bool = False
    confirm_receipt_by: datetime | None = None
    extensions: tuple[Extension, ...] = field(default=())

    @property
    def final_due_at(self) -> datetime:
        """The due instant after any extension."""
        return self.extensions[-1].until if self.extensions else self.due_at

    @property
    def final_last_day(self) -> date:
        """The last day after any extension."""
        return self.extensions[-1].last_day if self.extensions else self.last_day

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (the repository stores it)."""
        return {
            "regime": self.regime.value,
            "received_at": self.received_at.isoformat(),
            "last_day": self.last_day.isoformat(),
            "due_at": self.due_at.isoformat(),
            "provisional": self.provisional,
            "confirm_receipt_by": (
                self.confirm_receipt_by.isoformat() if self.confirm_receipt_by else None
            ),
            "extensions": [e.to_dict() for e in self.extensions],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deadline:
        """The inverse of :meth:`to_dict`."""
        confirm = data.get("confirm_receipt_by")
        return cls(
            regime=Regime(data["regime"]),
            received_at=datetime.fromisoformat(data["received_at"]),
            last_day=date.fromisoformat(data["last_day"]),
            due_at=datetime.fromisoformat(data["due_at"]),
            provisional=bool(data["provisional"]),
            confirm_receipt_by=datetime.fromisoformat(confirm) if confirm else None,
            extensions=tuple(Extension.from_dict(e) for e in data.get("extensions", [])),
        )


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or that month's last day (Jan 31 + 1 → Feb 28/29).

    Past the end of the representable range it returns ``date.max`` rather than raising.
    """
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    if year > date.max.year:
        return date.max
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def _add_days(day: date, days: int) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return date.max if days > 0 else date.min


def _end_of(day: date, zone: tzinfo) -> datetime:
    # The instant the day is over: midnight starting the next day, in UTC.
    if day >= date.max - timedelta(days=1):
        return datetime.max.replace(tzinfo=UTC)
    return datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)


def _local_day(policy: DeadlinePolicy, instant: datetime) -> date:
    return as_utc(instant).astimezone(policy.timezone).date()


def compute_deadline(policy: DeadlinePolicy, received_at: datetime) -> Deadline:
    """The deadline of a request received at ``received_at`` (an aware datetime)."""
    received = as_utc(received_at)
    day = _local_day(policy, received)
    provisional = False
    confirm_by: datetime | None = None
    if policy.regime is Regime.CN:
        counted = add_working_days(policy.calendar, day, policy.working_days)
        last_day, provisional = counted.last_day, counted.provisional
    elif policy.regime is Regime.GDPR:
        last_day = add_months(day, 1)
    else:
        last_day = _add_days(day, CCPA_RESPONSE_DAYS)
        confirm = add_working_days(policy.calendar, day, CCPA_CONFIRM_BUSINESS_DAYS)
        confirm_by = _end_of(confirm.last_day, policy.timezone)
    return Deadline(
        regime=policy.regime,
        received_at=received,
        last_day=last_day,
        due_at=_end_of(last_day, policy.timezone),
        provisional=provisional,
        confirm_receipt_by=confirm_by,
    )


def latest_processing_start(
    policy: DeadlinePolicy, deadline: Deadline, processing_days: int
) -> datetime:
    """The last instant processing can start and still take ``processing_days`` before the end.

    In the regime's unit: the last ``processing_days`` working days (cn) or calendar days
    (gdpr, ccpa) of the period are kept free. A cooling-off that would run past this instant
    is cut short (see :meth:`CoolingOffPolicy.ends_at`), so a user who verifies late does not
    push the platform past its deadline. On a provisional deadline this instant is early too:
    both the end and the start of the reserved window are counted with every unknown day as a
    working day, which can only move them earlier.
    """
    last_day = deadline.final_last_day
    if processing_days <= 0:
        return deadline.final_due_at
    if deadline.regime is Regime.CN:
        day, counted = last_day, 0
        while True:
            if policy.calendar.is_workday(day) is not False:
                counted += 1
            if counted >= processing_days or day == date.min:
                break
            day -= timedelta(days=1)
        first_day = day
    else:
        first_day = _add_days(last_day, -(processing_days - 1))
    if first_day <= date.min + timedelta(days=1):
        return datetime.min.replace(tzinfo=UTC)
    return _end_of(first_day - timedelta(days=1), policy.timezone)


def refresh_deadline(policy: DeadlinePolicy, deadline: Deadline) -> Deadline:
    """Recompute a deadline with the policy's current calendar, keeping its extensions.

    Call it for open requests after new arrangement data was loaded: a provisional date moves
    to its true value (never earlier than before, since provisional dates err early).
    """
    fresh = compute_deadline(policy, deadline.received_at)
    return replace(fresh, extensions=deadline.extensions)


def extend_deadline(
    policy: DeadlinePolicy,
    deadline: Deadline,
    *,
    reason: str,
    now: datetime,
    months: int = 0,
    days: int = 0,
) -> Deadline:
    """Extend a deadline as the regime allows, or raise :class:`ExtensionNotAllowedError`.

    gdpr takes ``months`` (total at most 2), ccpa takes ``days`` (total at most 45); cn has no
    extension. The extension must be recorded before the original period ends, with a reason
    the requester will be told.
    """
    now = as_utc(now)
    reason = reason.strip()
    regime = deadline.regime.value
    if deadline.regime is Regime.CN:
        raise ExtensionNotAllowedError("the cn regime has no extension", regime=regime)
    if not reason:
        raise ExtensionNotAllowedError(
            "an extension needs a reason for the requester", regime=regime
        )
    if now >= deadline.due_at:
        raise ExtensionNotAllowedError(
            "an extension must be recorded within the original period", regime=regime
        )
    day = _local_day(policy, deadline.received_at)
    done = sum(e.amount for e in deadline.extensions)
    if deadline.regime is Regime.GDPR:
        if days or months < 1 or done + months > GDPR_MAX_EXTENSION_MONTHS:
            raise ExtensionNotAllowedError(
                f"gdpr allows extending by whole months, {GDPR_MAX_EXTENSION_MONTHS} in total",
                regime=regime,
                requested=months,
            )
        # From the day of receipt, not chained from a clamped end: Jan 31 + 3 months is Apr 30.
        last_day = add_months(day, 1 + done + months)
        amount = months
    else:
        if months or days < 1 or done + days > CCPA_MAX_EXTENSION_DAYS:
            raise ExtensionNotAllowedError(
                f"ccpa allows extending by up to {CCPA_MAX_EXTENSION_DAYS} days in total",
                regime=regime,
                requested=days,
            )
        last_day = _add_days(day, CCPA_RESPONSE_DAYS + done + days)
        amount = days
    extension = Extension(
        until=_end_of(last_day, policy.timezone),
        last_day=last_day,
        amount=amount,
        reason=reason,
        recorded_at=now,
    )
    return replace(deadline, extensions=(*deadline.extensions, extension))


class _Tracked(Protocol):
    # The shape is_overdue needs; model.Request has it (kept structural to avoid an import cycle).
    @property
    def deadline(self) -> Deadline: ...

    @property
    def is_open(self) -> bool: ...

    @property
    def receipt_confirmed_at(self) -> datetime | None: ...


def is_overdue(request: _Tracked, now: datetime) -> bool:
    """Whether an open request has passed its (possibly extended) due instant.

    Closed requests are never overdue; whether they closed late is history, not a flag.
    """
    return request.is_open and as_utc(now) >= request.deadline.final_due_at


def is_receipt_confirmation_overdue(request: _Tracked, now: datetime) -> bool:
    """Whether a ccpa request still lacks the receipt confirmation it was due to get."""
    due = request.deadline.confirm_receipt_by
    return (
        due is not None
        and request.receipt_confirmed_at is None
        and request.is_open
        and as_utc(now) >= due
    )
