"""Pre-checks in settings: an unlawful or unrunnable declaration stops start-up in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from exitright.clock import FixedClock
from exitright.config import Settings
from exitright.errors import ErrorCode, ExitRightError
from exitright.precheck_wiring import build_prechecks


def test_settings_refuse_a_pre_check_that_demands_a_payment() -> None:
    """The rule it breaks is named (CN-UX-no-payment)."""
    with pytest.raises(ValidationError) as caught:
        Settings(pre_checks=[{"id": "unpaid_fee", "resolution": "payment"}])
    assert "CN-UX-no-payment" in str(caught.value)


@pytest.mark.parametrize(
    "declaration",
    [
        {"id": "open_orders", "resolution": "wait", "requires": ["document"]},
        {"id": "open_orders", "resolution": "wait", "requires": ["minimum_account_age"]},
        {"id": "open_orders", "resolution": "phone_call"},
        {"id": "open_orders", "resolution": "transfer"},
        {"id": "mystery_check", "resolution": "wait"},  # no zh-CN / en texts
    ],
)
def test_settings_refuse_forbidden_demands_and_checks_without_texts(
    declaration: dict[str, object],
) -> None:
    """Documents, account age, phone calls, transfers, and silent checks never load."""
    with pytest.raises(ValidationError):
        Settings(pre_checks=[declaration])


def test_the_worker_refuses_to_start_with_one_line_naming_the_problem(tmp_path: Path) -> None:
    """exitright worker exits 2 with one line on stderr, no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXITRIGHT_")}
    env["EXITRIGHT_DATA_DIR"] = str(tmp_path / "var")
    env["EXITRIGHT_PRE_CHECKS"] = '[{"id": "open_orders", "resolution": "payment"}]'
    done = subprocess.run(
        [str(Path(sys.executable).with_name("exitright")), "worker", "--once"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "pre_checks" in lines[0] and "CN-UX-no-payment" in lines[0]
    assert "Traceback" not in done.stderr + done.stdout


def test_a_declaration_without_a_way_to_run_is_refused_at_wiring(tmp_path: Path) -> None:
    """A check with no count query (and no adapter) cannot be run, so it is not accepted."""
    settings = Settings(
        data_dir=tmp_path, pre_checks=[{"id": "open_orders", "resolution": "link", "link": "/o"}]
    )
    with pytest.raises(ExitRightError) as caught:
        build_prechecks(settings, None, None, FixedClock(datetime(2026, 3, 2, tzinfo=UTC)))
    assert caught.value.code is ErrorCode.INVALID_CONFIG
    assert "cannot run" in caught.value.params["problem"]


def test_an_empty_list_turns_the_demo_pre_checks_off(tmp_path: Path) -> None:
    """pre_checks = [] is an explicit choice: no runner."""
    settings = Settings(data_dir=tmp_path, pre_checks=[])
    runner, made = build_prechecks(
        settings, None, None, FixedClock(datetime(2026, 3, 2, tzinfo=UTC))
    )
    assert runner is None and made == []
