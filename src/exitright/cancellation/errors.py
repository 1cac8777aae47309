"""Domain errors of the request workflow, each tied to one stable error code.

The core raises these; the web layer and the CLI turn them into the project's error model
(:class:`~exitright.errors.ExitRightError`) in one place, with
:meth:`DomainError.to_exitright_error`. Messages live in the ``requests`` catalog under
``message_id``; ``params`` fill its placeholders and never carry personal data.
"""

from __future__ import annotations

from exitright.errors import DomainError as DomainError  # re-exported: the core's base error
from exitright.errors import ErrorCode

__all__ = [
    "ActorNotAllowedError",
    "CalendarDataError",
    "ConfigurationError",
    "CoolingOffNotOverError",
    "ExtensionNotAllowedError",
    "IllegalTransitionError",
    "PreCheckConfigError",
    "TimingConfigError",
]


class IllegalTransitionError(DomainError):
    """The request's state does not allow this action (e.g. revoking while executing)."""

    code = ErrorCode.CONFLICT
    message_id = "requests.error.illegal_transition"


class ActorNotAllowedError(DomainError):
    """This kind of actor may not take this action (e.g. an operator revoking for the user)."""

    code = ErrorCode.FORBIDDEN
    message_id = "requests.error.actor_not_allowed"


class CoolingOffNotOverError(DomainError):
    """Execution was attempted before the cooling-off period ended."""

    code = ErrorCode.CONFLICT
    message_id = "requests.error.cooling_off_not_over"


class ExtensionNotAllowedError(DomainError):
    """A deadline extension that the regime does not permit (too late, too long, no reason)."""

    code = ErrorCode.CONFLICT
    message_id = "requests.error.extension_not_allowed"


class ConfigurationError(DomainError):
    """A deployment setting the workflow refuses; raised at start-up."""

    code = ErrorCode.INVALID_CONFIG
    message_id = "requests.error.invalid_config"


class TimingConfigError(ConfigurationError):
    """Cooling-off plus processing cannot fit inside the regime's deadline."""

    message_id = "requests.error.timing_config"


class PreCheckConfigError(ConfigurationError):
    """A declared pre-check imposes a condition the law forbids, or is malformed."""

    message_id = "requests.error.precheck_config"


class CalendarDataError(DomainError):
    """A holiday-arrangement data file is malformed or contradicts itself."""

    code = ErrorCode.INVALID_FILE
    message_id = "requests.error.calendar_data"
