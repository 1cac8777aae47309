"""``exitright demo seed`` as a user runs it: a summary, demo phones, one-line errors."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``exitright demo ARGS`` in ``tmp_path`` with only the given EXITRIGHT_* variables."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("EXITRIGHT_")}
    return subprocess.run(
        [sys.executable, "-m", "exitright.cli", "demo", *args],
        capture_output=True,
        text=True,
        env={**base, "COLUMNS": "120", **env},
        cwd=tmp_path,
        check=False,
        timeout=300,
    )


def test_seed_prints_rows_per_table_and_demo_phones(tmp_path: Path) -> None:
    """The default data dir gets the database and uploads; the summary names every table."""
    result = run(tmp_path, "seed", "--users", "40", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "var" / "demo-platform.db").is_file()
    assert any((tmp_path / "var" / "uploads").iterdir())
    for table in ("users", "orders", "invitations", "merchant_customer_notes", "total"):
        assert table in result.stdout
    phones = result.stdout.split("Demo phone numbers to sign in with: ")[1].split()
    assert len(phones) == 3 and all(len(p.rstrip(",")) == 11 for p in phones)


def test_seeding_again_needs_reset(tmp_path: Path) -> None:
    """A second seed says how to replace the platform; --reset does replace it."""
    assert run(tmp_path, "seed", "--users", "10").returncode == 0
    again = run(tmp_path, "seed", "--users", "10")
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0
    assert "--reset" in again.stderr
    reset = run(tmp_path, "seed", "--users", "12", "--reset")
    assert reset.returncode == 0, reset.stderr
    assert re.search(r"users\s+│\s+12\s", reset.stdout)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("seed",), "--users is required"),
        (("seed", "--users", "many"), "--users must be a whole number"),
        (("seed", "--users", "0"), "--users must be between"),
        (("seed", "--users", "5", "--seed", "-1"), "--seed must be between"),
    ],
)
def test_bad_input_gets_one_line_and_a_nonzero_exit(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    """Each mistake is named on one line, and nothing is created."""
    result = run(tmp_path, *args)
    assert result.returncode != 0
    assert message in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert not (tmp_path / "var" / "demo-platform.db").exists()


def test_an_unreachable_redis_is_reported_before_anything_is_written(tmp_path: Path) -> None:
    """A configured Redis that does not answer stops the seed with one line naming it."""
    result = run(tmp_path, "seed", "--users", "5", EXITRIGHT_REDIS_URL="redis://127.0.0.1:1/13")
    assert result.returncode != 0
    assert "cannot reach Redis at redis://127.0.0.1:1/13" in result.stderr
    assert not (tmp_path / "var" / "demo-platform.db").exists()


def test_phones_prints_the_demo_numbers_or_says_how_to_seed(tmp_path: Path) -> None:
    """One number per line once seeded; before that, one line naming the seed command."""
    empty = run(tmp_path, "phones")
    assert empty.returncode == 1
    assert "exitright demo seed --users" in empty.stderr
    assert run(tmp_path, "seed", "--users", "30").returncode == 0
    listed = run(tmp_path, "phones")
    assert listed.returncode == 0, listed.stderr
    numbers = listed.stdout.split()
    assert len(numbers) == 3 and all(re.fullmatch(r"1\d{10}", n) for n in numbers)
