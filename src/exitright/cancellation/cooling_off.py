"""The cooling-off period of a cancellation, and the start-up check that it fits the deadline.

A cancellation waits ``days`` calendar days after verification before anything is erased, so a
user who changes their mind (or whose account was used by someone else) can revoke it. It counts
inside the regime's deadline (RUBRIC CN-UX-cooling-off): cooling-off plus processing must end
before the due date, or the platform breaks the law by design. :func:`validate_timing` refuses such
a configuration when the deployment starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from exitright.cancellation.deadlines import DeadlinePolicy, Regime
from exitright.cancellation.errors import TimingConfigError
from exitright.clock import as_utc

__all__ = [
    "DEFAULT_COOLING_OFF_DAYS",
    "DEFAULT_PROCESSING_DAYS",
    "CoolingOffPolicy",
    "TimingBudget",
    "validate_timing",
]

DEFAULT_COOLING_OFF_DAYS: Final = 7
DEFAULT_PROCESSING_DAYS: Final = 3
# The shortest one-month GDPR period: Jan 31 → Feb 28, or Feb 1 → Mar 1 in a common year.
_GDPR_SHORTEST_MONTH_DAYS: Final = 28
_CCPA_DAYS: Final = 45


@dataclass(frozen=True)
class CoolingOffPolicy:
    """How long a verified cancellation waits, revocable, before it executes (0 = no wait)."""

    days: int = DEFAULT_COOLING_OFF_DAYS

    def __post_init__(self) -> None:
        if self.days < 0:
            raise TimingConfigError(
                f"cooling_off_days must be 0 or more, not {self.days}",
                setting="cooling_off_days",
                value=self.days,
            )

    @property
    def duration(self) -> timedelta:
        """The cooling-off as a duration."""
        return timedelta(days=self.days)

    def ends_at(self, start: datetime, not_after: datetime | None = None) -> datetime:
        """When a cooling-off that began at ``start`` is over.

        ``not_after`` (from :func:`~exitright.cancellation.deadlines.latest_processing_start`)
        cuts it short so the deadline holds when the user verified late; it never ends before
        it starts.
        """
        start = as_utc(start)
        end = start + self.duration
        if not_after is not None:
            end = max(start, min(end, as_utc(not_after)))
        return end


@dataclass(frozen=True)
class TimingBudget:
    """The worst-case timing of a cancellation, for the start-up log."""

    regime: Regime
    unit: str  # "working days" or "calendar days"
    available: int
    cooling_off: int
    processing: int

    @property
    def slack(self) -> int:
        """Days left over in the worst case (never negative for a valid configuration)."""
        return self.available - self.cooling_off - self.processing

    def describe(self) -> str:
        """One line for the start-up log."""
        return (
            f"{self.regime.value}: cooling-off {self.cooling_off} + processing {self.processing}"
            f" ≤ {self.available} {self.unit} (slack {self.slack})"
        )


def validate_timing(
    deadlines: DeadlinePolicy,
    cooling_off: CoolingOffPolicy,
    processing_days: int = DEFAULT_PROCESSING_DAYS,
) -> TimingBudget:
    """Refuse a configuration whose cooling-off and processing cannot meet the deadline.

    ``processing_days`` is what the deployment allows for erasure after cooling-off, in the
    regime's unit: working days for cn, calendar days for gdpr and ccpa. The check is worst-case:
    every cooling-off day is assumed to use up a counted day (a week with a make-up Saturday has
    six working days), gdpr gets its shortest month (28 days) and no extension, since extensions
    are for complex requests, not for a configured delay.
    """
    if processing_days < 1:
        raise TimingConfigError(
            f"processing_days must be at least 1, not {processing_days}",
            setting="processing_days",
            value=processing_days,
        )
    if deadlines.regime is Regime.CN:
        available, unit = deadlines.working_days, "working days"
    elif deadlines.regime is Regime.GDPR:
        available, unit = _GDPR_SHORTEST_MONTH_DAYS, "calendar days"
    else:
        available, unit = _CCPA_DAYS, "calendar days"
    budget = TimingBudget(
        regime=deadlines.regime,
        unit=unit,
        available=available,
        cooling_off=cooling_off.days,
        processing=processing_days,
    )
    if budget.slack < 0:
        raise TimingConfigError(
            f"cooling-off of {cooling_off.days} days plus {processing_days} days of processing "
            f"needs {cooling_off.days + processing_days} {unit}, but the {deadlines.regime.value} "
            f"deadline allows {available}; shorten cooling_off_days or processing_days",
            regime=deadlines.regime.value,
            cooling_off_days=cooling_off.days,
            processing_days=processing_days,
            available=available,
        )
    return budget
