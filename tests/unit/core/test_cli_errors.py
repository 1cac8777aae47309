"""The CLI's one-line error path: the core's DomainError is reported like ExitRightError."""

from __future__ import annotations

from typing import ClassVar

import pytest
import typer

from exitright.cli._common import user_errors
from exitright.errors import DomainError, ErrorCode


class _RefusedError(DomainError):
    code: ClassVar[ErrorCode] = ErrorCode.INVALID_CONFIG
    message_id: ClassVar[str] = "error.invalid_config"


def test_a_domain_error_becomes_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """No traceback: the catalog message on one stderr line, exit code 2."""
    with pytest.raises(typer.Exit) as exit_info, user_errors():
        raise _RefusedError("refused", setting="cooling_off_days")
    assert exit_info.value.exit_code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:")
    assert "Traceback" not in err
    assert "setting=cooling_off_days" in err


def test_other_exceptions_still_propagate() -> None:
    """Genuine bugs keep their traceback."""
    with pytest.raises(ZeroDivisionError), user_errors():
        _ = 1 / 0
