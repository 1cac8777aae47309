"""The request workflow's pure core: lifecycle, deadlines, cooling-off, pre-checks.

Standard library and other core modules only; see README.md in this folder for the rule.
"""

from exitright.cancellation.calendar_data import (
    load_arrangements,
    packaged_arrangements,
    parse_arrangement,
)
from exitright.cancellation.cooling_off import CoolingOffPolicy, TimingBudget, validate_timing
from exitright.cancellation.deadlines import (
    Deadline,
    DeadlinePolicy,
    Regime,
    compute_deadline,
    deadline_policy,
    extend_deadline,
    is_overdue,
    is_receipt_confirmation_overdue,
    latest_processing_start,
    refresh_deadline,
)
from exitright.cancellation.errors import (
    ActorNotAllowedError,
    CalendarDataError,
    ConfigurationError,
    CoolingOffNotOverError,
    DomainError,
    ExtensionNotAllowedError,
    IllegalTransitionError,
    PreCheckConfigError,
    TimingConfigError,
)
from exitright.cancellation.model import (
    TERMINAL_STATES,
    TRANSITIONS,
    Action,
    Actor,
    ActorKind,
    Request,
    RequestKind,
    State,
    TransitionRecord,
)
from exitright.cancellation.outcomes import APPEAL_ROUTES, RejectionReason, appeal_route
from exitright.cancellation.prechecks import (
    DEFAULT_PRE_CHECKS,
    PreCheck,
    ResolutionKind,
    parse_pre_checks,
)
from exitright.cancellation.workdays import ChinaWorkdays, UsBusinessDays, count_working_days

__all__ = [
    "APPEAL_ROUTES",
    "DEFAULT_PRE_CHECKS",
    "TERMINAL_STATES",
    "TRANSITIONS",
    "Action",
    "Actor",
    "ActorKind",
    "ActorNotAllowedError",
    "CalendarDataError",
    "ChinaWorkdays",
    "ConfigurationError",
    "CoolingOffNotOverError",
    "CoolingOffPolicy",
    "Deadline",
    "DeadlinePolicy",
    "DomainError",
    "ExtensionNotAllowedError",
    "IllegalTransitionError",
    "PreCheck",
    "PreCheckConfigError",
    "Regime",
    "RejectionReason",
    "Request",
    "RequestKind",
    "ResolutionKind",
    "State",
    "TimingBudget",
    "TimingConfigError",
    "TransitionRecord",
    "UsBusinessDays",
    "appeal_route",
    "compute_deadline",
    "count_working_days",
    "deadline_policy",
    "extend_deadline",
    "is_overdue",
    "is_receipt_confirmation_overdue",
    "latest_processing_start",
    "load_arrangements",
    "packaged_arrangements",
    "parse_arrangement",
    "parse_pre_checks",
    "refresh_deadline",
    "validate_timing",
]
