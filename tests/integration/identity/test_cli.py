"""``exitright identity`` as an operator runs it: mark, import a carrier file, status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``exitright ARGS`` in ``tmp_path`` with a clean EXITRIGHT_* environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXITRIGHT_")}
    env["EXITRIGHT_DATA_DIR"] = str(tmp_path / "var")
    return subprocess.run(
        [sys.executable, "-m", "exitright.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
        timeout=120,
    )


def test_mark_then_status_shows_the_change_of_hands(tmp_path: Path) -> None:
    """mark-recycled --on, then status --since before and after that day; number masked."""
    marked = run(tmp_path, "identity", "mark-recycled", "+86 138 1234 5678", "--on", "2026-03-01")
    assert marked.returncode == 0, marked.stderr
    assert "138****5678" in marked.stdout and "13812345678" not in marked.stdout
    before = run(tmp_path, "identity", "status", "13812345678", "--since", "2025-11-01")
    assert before.returncode == 0, before.stderr
    assert "changed hands (on 2026-03-01" in before.stdout
    after = run(tmp_path, "identity", "status", "13812345678", "--since", "2026-03-01")
    assert "not known to have changed hands" in after.stdout


def test_a_carrier_file_with_bad_rows_fails_with_their_line_numbers(tmp_path: Path) -> None:
    """All or nothing by default (exit ≠ 0, lines named); --skip-bad-rows imports the rest."""
    carrier = tmp_path / "carrier.csv"
    carrier.write_text(
        "number,recycled_on\n13812345678,2026-03-01\n12345,2026-03-01\n13900000000,2026/03/01\n",
        encoding="utf-8",
    )
    refused = run(tmp_path, "identity", "import-carrier", str(carrier))
    assert refused.returncode != 0
    assert "3 (phone)" in refused.stderr and "4 (date)" in refused.stderr
    assert "Traceback" not in refused.stderr and "13900000000" not in refused.stderr
    status = run(tmp_path, "identity", "status", "13812345678")
    assert "no recycled marks" in status.stdout
    skipped = run(tmp_path, "identity", "import-carrier", str(carrier), "--skip-bad-rows")
    assert skipped.returncode == 0, skipped.stderr
    assert "imported 1 numbers" in skipped.stdout
    assert "line 3: bad phone" in skipped.stdout and "line 4: bad date" in skipped.stdout


def test_bad_arguments_are_one_line_errors(tmp_path: Path) -> None:
    """A bad date, a bad number, a missing file: exit ≠ 0 and one line saying what to fix."""
    for args in (
        ("mark-recycled", "13812345678", "--on", "1 March"),
        ("mark-recycled", "12345", "--on", "2026-03-01"),
        ("import-carrier", str(tmp_path / "missing.csv")),
    ):
        result = run(tmp_path, "identity", *args)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, result.stderr
