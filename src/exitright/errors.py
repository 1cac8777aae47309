"""The one error model: every failure a user can see has a stable code.

Codes are part of the public contract (docs/errors.md lists them); their messages live in the
message catalogs (``locales/*/LC_MESSAGES/errors.po``) under the msgid ``error.<code>``, so every
error can be shown in zh-CN and en. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar


class ErrorCode(StrEnum):
    """Stable error codes; the value is what clients see in ``error.code``."""

    INVALID_REQUEST = "invalid_request"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate_limited"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    INTERNAL_ERROR = "internal_error"
    SERVICE_UNAVAILABLE = "service_unavailable"
    INVALID_CONFIG = "invalid_config"
    INVALID_FILE = "invalid_file"
    STORE_UNREACHABLE = "store_unreachable"


HTTP_STATUS: Mapping[ErrorCode, int] = {
    ErrorCode.INVALID_REQUEST: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.CONFLICT: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.INVALID_CONFIG: 422,
    ErrorCode.INVALID_FILE: 422,
    ErrorCode.STORE_UNREACHABLE: 503,
}


@dataclass
class ExitRightError(Exception):
    """A failure to report to the user: a stable code, an optional catalog message, and details.

    ``message_id`` defaults to ``error.<code>``; ``params`` fill its ``{placeholders}``.
    ``details`` is machine-readable context and must never carry personal data.
    """

    code: ErrorCode
    details: dict[str, Any] = field(default_factory=dict)
    message_id: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    status: int | None = None

    def __post_init__(self) -> None:
        super().__init__(self.code.value)

    @property
    def msgid(self) -> str:
        """The catalog message id for this error."""
        return self.message_id or f"error.{self.code.value}"

    @property
    def http_status(self) -> int:
        """The HTTP status this error is reported with."""
        return self.status or HTTP_STATUS[self.code]

    def __str__(self) -> str:
        return f"{self.code.value}: {self.msgid}"


class DomainError(Exception):
    """Base of the pure core's errors: a stable code, a catalog message and safe parameters.

    The core raises subclasses; the edges turn them into :class:`ExitRightError` in one place
    with :meth:`to_exitright_error`. ``params`` fill the message and never carry personal data.
    """

    code: ClassVar[ErrorCode] = ErrorCode.CONFLICT
    message_id: ClassVar[str] = "error.conflict"

    def __init__(self, detail: str, **params: Any) -> None:
        # ``detail`` is the English one-liner for logs and the CLI; users see the catalog message.
        super().__init__(detail)
        self.detail = detail
        self.params: dict[str, Any] = params

    def to_exitright_error(self) -> ExitRightError:
        """The same failure in the project's error model (code, catalog message, details)."""
        return ExitRightError(
            self.code,
            details={k: _plain(v) for k, v in self.params.items()},
            message_id=self.message_id,
            params=dict(self.params),
        )


def _plain(value: Any) -> Any:
    # details go out as JSON: enums and other objects become their string form.
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)
