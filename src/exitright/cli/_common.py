"""What every command shares: loading settings, and turning errors into one line and exit ≠ 0."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console

from exitright.config import Settings
from exitright.errors import DomainError, ExitRightError
from exitright.i18n import gettext

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line to stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """Settings from the environment and exitright.toml, or one line saying what is wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        fail(f"invalid setting {where}: {first['msg']} (check EXITRIGHT_* and exitright.toml)")


@contextmanager
def user_errors(lang: str = "en") -> Iterator[None]:
    """Report ExitRightError (and the core's DomainError) as one line; keep tracebacks for bugs."""
    try:
        try:
            yield
        except DomainError as exc:
            raise exc.to_exitright_error() from exc
    except ExitRightError as exc:
        detail = "; ".join(f"{k}={v}" for k, v in exc.details.items())
        fail(gettext(lang, exc.msgid, **exc.params) + (f" ({detail})" if detail else ""))


def is_tty() -> bool:
    """Whether stdout is a terminal (progress bars only then)."""
    return sys.stdout.isatty()
