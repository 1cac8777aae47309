"""Structured JSON logs: one object per line, with the request id and pseudonym where known.

:func:`configure` installs one handler on the root logger, once per process, at
``settings.log_level``. Its filter is the last line of defence of DESIGN.md's "no plaintext
personal data in logs": whatever the PI detectors of :mod:`exitright.pii.detect` find in a
message, its arguments or a traceback is replaced by a label (``[phone]``, ``[email]`` …) before
anything is written. Code should still never log identifiers; the filter only catches mistakes.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final, TextIO

from exitright.pii.detect import Kind, find

__all__ = [
    "JsonFormatter",
    "RedactingFilter",
    "bind",
    "configure",
    "current_context",
    "make_handler",
    "redact_all",
    "reset",
    "set_field",
]

# Fields every record gets from the context it was emitted in (set by the HTTP middleware for a
# request id, by workers and services for the subject's pseudonym).
_CONTEXT: Final[contextvars.ContextVar[Mapping[str, str]]] = contextvars.ContextVar(
    "exitright_log_context", default=MappingProxyType({})
)
_LABELS: Final[dict[Kind, str]] = {
    "phone": "[phone]",
    "id_number": "[id]",
    "email": "[email]",
    "bank_card": "[card]",
    "address": "[address]",
    "name": "[name]",
}
# Loggers that configure their own handlers (uvicorn's dictConfig): they are routed through ours.
# Not uvicorn.access: uvicorn turns its access log off by leaving that logger without handlers,
# and `exitright serve` keeps it off (paths and query strings can hold identifiers).
_ADOPTED: Final = ("uvicorn", "uvicorn.error")
_HANDLER_NAME: Final = "exitright-json"
# SQLAlchemy logs each statement's parameters at INFO and each result row at DEBUG: that is the
# subjects' data itself (phones, names, addresses in free text), more than a detector can be
# trusted to mask. It stays at WARNING whatever the level of the rest.
_PINNED: Final = {"sqlalchemy.engine": logging.WARNING}


def current_context() -> Mapping[str, str]:
    """The log fields bound in the current context (request id, pseudonym)."""
    return _CONTEXT.get()


@contextmanager
def bind(**fields: str | None) -> Iterator[None]:
    """Add ``fields`` (e.g. ``request_id``, ``pseudonym``) to every record logged inside."""
    token = _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def set_field(name: str, value: str) -> contextvars.Token[Mapping[str, str]]:
    """Bind one field until the returned token is reset (for middleware that cannot nest)."""
    return _CONTEXT.set({**_CONTEXT.get(), name: value})


def reset(token: contextvars.Token[Mapping[str, str]]) -> None:
    """Undo :func:`set_field`."""
    _CONTEXT.reset(token)


def redact_all(text: str) -> str:
    """``text`` with every span any PI detector finds replaced by its label."""
    spans = sorted(find(text), key=lambda f: (f.start, -f.end))
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for f in spans:
        if f.start < pos:
            continue
        out.append(text[pos : f.start])
        out.append(_LABELS[f.kind])
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


_REDACTED: Final = "exitright_redacted"


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # a malformed call must still be logged, not raise in the logger
        return f"{record.msg!s} {record.args!r}"


def _exception(record: logging.LogRecord) -> str | None:
    if record.exc_info:
        return logging.Formatter().formatException(record.exc_info)
    return record.exc_text or None


class RedactingFilter(logging.Filter):
    """Redacts what the detectors find in a record's message, arguments, traceback and stack.

    The record itself is left as it was (other handlers, a test runner's capture, see the
    original): the redacted text is attached to it, and :class:`JsonFormatter` made with
    ``redacted=True`` writes that text instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record; attaches the redacted message, exception and stack."""
        exc = _exception(record)
        setattr(
            record,
            _REDACTED,
            (
                redact_all(_message(record)),
                redact_all(exc) if exc else None,
                redact_all(record.stack_info) if record.stack_info else None,
            ),
        )
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context fields, exception."""

    def __init__(self, *, redacted: bool = False) -> None:
        super().__init__()
        self.redacted = redacted

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON (its redacted text if so made and filtered)."""
        message, exc, stack = _message(record), _exception(record), record.stack_info
        if self.redacted:
            message, exc, stack = getattr(record, _REDACTED, None) or (
                redact_all(message),
                redact_all(exc) if exc else None,
                redact_all(stack) if stack else None,
            )
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        body.update(_CONTEXT.get())
        if exc:
            body["exception"] = exc
        if stack:
            body["stack"] = stack
        return json.dumps(body, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]  # generic in typeshed only
    """Writes to whatever ``sys.stderr`` is when a record comes, unless a stream was set."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)
        self._stream: TextIO | None = None

    @property
    def stream(self) -> TextIO:
        """The stream set with ``setStream``, else the current ``sys.stderr``."""
        return self._stream if self._stream is not None else sys.stderr

    @stream.setter
    def stream(self, value: TextIO | None) -> None:
        self._stream = None if value is sys.stderr else value


def make_handler(stream: TextIO | None = None) -> logging.Handler:
    """A stream handler with the JSON formatter and the redacting filter (stderr by default)."""
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter(redacted=True))
    handler.addFilter(RedactingFilter())
    return handler


def configure(level: str = "INFO", *, stream: TextIO | None = None) -> None:
    """Send every log record of the process through one JSON handler at ``level``.

    Idempotent: a second call only changes the level. uvicorn's own handlers are removed so its
    records go through the same handler (and the same redaction); ``sqlalchemy.engine`` never
    goes below WARNING (its INFO and DEBUG records are statement parameters and result rows).
    """
    root = logging.getLogger()
    ours = [h for h in root.handlers if h.get_name() == _HANDLER_NAME]
    if not ours:
        # Other handlers (a test runner's capture) stay: removing them is not ours to decide.
        root.addHandler(make_handler(stream))
    root.setLevel(level)
    for name, floor in _PINNED.items():
        logging.getLogger(name).setLevel(max(floor, logging.getLevelName(level)))
    for name in _ADOPTED:
        adopted = logging.getLogger(name)
        for handler in list(adopted.handlers):
            adopted.removeHandler(handler)
        adopted.propagate = True
        adopted.setLevel(logging.NOTSET)
