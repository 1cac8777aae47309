"""The exitright command as a user runs it: help, config show, clear one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``exitright ARGS`` in a subprocess with a clean EXITRIGHT_* environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("EXITRIGHT_")}
    return subprocess.run(
        [sys.executable, "-m", "exitright.cli", *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        cwd=cwd,
        check=False,
        timeout=120,
    )


def test_help_lists_every_command_group_with_one_line_each() -> None:
    """exitright --help names config, db and serve."""
    out = run("--help").stdout
    for command in ("config", "db", "serve"):
        assert command in out


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    """A configured key never appears in the output."""
    r = run("config", "show", "--json", env={"EXITRIGHT_SECRET_KEY": "s3cr3t-value"}, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "s3cr3t-value" not in r.stdout
    assert "********" in r.stdout


def test_invalid_setting_is_one_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    """Bad configuration says which setting is wrong, without a traceback."""
    r = run("config", "show", env={"EXITRIGHT_REGIME": "mars"}, cwd=tmp_path)
    assert r.returncode != 0
    assert "regime" in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_db_upgrade_then_current_reports_head(tmp_path: Path) -> None:
    """db upgrade creates var/exitright.db and db current agrees it is at head."""
    assert run("db", "upgrade", cwd=tmp_path).returncode == 0
    assert (tmp_path / "var" / "exitright.db").exists()
    r = run("db", "current", cwd=tmp_path)
    assert r.returncode == 0
    current, head = r.stdout.split("head:")
    assert current.split("current:")[1].strip() == head.strip()
